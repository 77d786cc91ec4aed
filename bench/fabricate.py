"""Fabricate a production-like export: customers and orders full of (fake) personal data.

The people are invented by Faker; no row describes a real person. The point is to look like a real
export to the anonymiser and the privacy check: emails at ordinary mail domains, phone numbers in
the formats people type, Luhn-valid card numbers, IBANs, social security numbers, notes with a phone
number in them. `modules/stack/data/production-sample/` was made with

    python bench/fabricate.py modules/stack/data/production-sample --customers 400 --orders 2000

and the benchmark makes bigger ones the same way (streamed: one row in memory at a time).
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, timedelta
from pathlib import Path

from faker import Faker

MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "gmx.de", "icloud.com",
                "acme-mail.net", "posteo.de")
STATUSES = {"delivered": 70, "shipped": 12, "processing": 8, "cancelled": 6, "refunded": 4}


def _email(fake: Faker, rng: random.Random, name: str) -> str:
    user = "".join(c for c in name.lower().replace(" ", ".") if c.isascii() and (c.isalnum() or c == "."))
    return f"{user or fake.user_name()}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"


def customers(fake: Faker, rng: random.Random, count: int):
    for i in range(count):
        name = fake.name()
        yield {
            "id": 10001 + i,
            "full_name": name,
            "email": _email(fake, rng, name),
            "phone": fake.phone_number(),
            "address": fake.address().replace("\n", ", "),
            "date_of_birth": fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
            "ssn": fake.ssn(),
            "iban": fake.iban(),
            "created_at": fake.date_time_between("-6y", "-1d", tzinfo=UTC).isoformat(),
            "loyalty_tier": rng.choices(["bronze", "silver", "gold"], [70, 25, 5])[0],
            "marketing_opt_in": rng.random() < 0.4,
        }


def orders(fake: Faker, rng: random.Random, count: int, customer_count: int, emails: list[str] | None):
    for i in range(count):
        c = rng.randrange(customer_count)
        placed = fake.date_time_between("-3y", "-1d", tzinfo=UTC)
        status = rng.choices(list(STATUSES), list(STATUSES.values()))[0]
        shipped = placed + timedelta(hours=rng.randint(4, 96)) if status in ("delivered", "shipped") else None
        note = rng.random()
        yield {
            "order_id": 500001 + i,
            "customer_id": 10001 + c,
            "email": emails[c] if emails else _email(fake, rng, fake.name()),
            "phone": fake.phone_number(),
            "card_number": fake.credit_card_number(card_type=rng.choice(["visa", "mastercard", "amex"])),
            "card_expiry": fake.credit_card_expire(),
            "shipping_address": fake.address().replace("\n", ", "),
            "amount": round(rng.uniform(4, 900), 2),
            "currency": rng.choice(["USD", "EUR", "GBP"]),
            "placed_at": placed.isoformat(),
            "shipped_at": shipped.isoformat() if shipped else None,
            "status": status,
            "notes": (f"Call {fake.phone_number()} before delivery" if note < 0.1 else
                      "Leave at the door" if note < 0.3 else None),
        }


def write(dest: Path, n_customers: int, n_orders: int, seed: int = 20261201) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    emails: list[str] = []
    with (dest / "customers.jsonl").open("w") as out:
        for row in customers(fake, rng, n_customers):
            if n_customers <= 200_000:
                emails.append(row["email"])
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (dest / "orders.jsonl").open("w") as out:
        for row in orders(fake, rng, n_orders, n_customers, emails or None):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()
    write(args.dest, args.customers, args.orders)
