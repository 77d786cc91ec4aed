"""Fake values that stay fake: one generator per kind, shared by synthetic data and the `fake` rule.

The privacy check scans everything before it is loaded, so fakes are made to be recognisably
fictional rather than merely random:
- emails are at the reserved domains of RFC 2606 (example.com, example.org, example.net);
- phone numbers are in the North American 555-0100..555-0199 range, reserved for fiction;
- payment cards, IBANs and national ids are never generated: a dataset that needs such a column
  masks, redacts, hashes or nulls it.
The check allows exactly these shapes and nothing else, so it still catches a real email or phone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from random import Random
from typing import Any

RESERVED_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


def email(fake: Any, rng: Random) -> str:
    user = "".join(c for c in str(fake.user_name()).lower() if c.isascii() and (c.isalnum() or c in "._"))
    return f"{user or 'user'}{rng.randint(1, 9999)}@{rng.choice(RESERVED_EMAIL_DOMAINS)}"


def phone(fake: Any, rng: Random) -> str:
    return f"+1-{rng.randint(201, 989)}-555-01{rng.randint(0, 99):02d}"


def one_line_address(fake: Any, rng: Random) -> str:
    return str(fake.address()).replace("\n", ", ")


def date_of_birth(fake: Any, rng: Random) -> str:
    return (date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 65))).isoformat()


def random_uuid(fake: Any, rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


MAKERS: dict[str, Callable[[Any, Random], Any]] = {
    "name": lambda f, r: f.name(),
    "first_name": lambda f, r: f.first_name(),
    "last_name": lambda f, r: f.last_name(),
    "company": lambda f, r: f.company(),
    "user_name": lambda f, r: f.user_name(),
    "email": email,
    "phone": phone,
    "address": one_line_address,
    "street_address": lambda f, r: f.street_address(),
    "city": lambda f, r: f.city(),
    "postcode": lambda f, r: f.postcode(),
    "country_code": lambda f, r: f.country_code(),
    "text": lambda f, r: f.sentence(),
    "date_of_birth": date_of_birth,
    "uuid": random_uuid,
}


def new_faker(locales: list[str]) -> Any:
    """A Faker for these locales (imported here: Faker costs ~0.2 s to import)."""
    from faker import Faker

    return Faker(locales)


def faker_version() -> str:
    """Part of every synthetic version digest: a Faker upgrade changes the data."""
    from faker import VERSION

    return str(VERSION)
