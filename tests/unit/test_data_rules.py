"""Field rules and subsets of anonymised data: deterministic, join-preserving, never the original."""

from __future__ import annotations

import copy
import json
import tomllib
from datetime import date, datetime
from pathlib import Path

import pytest

from provisioner.data import UnclassifiedField, parse_datasets
from provisioner.data.anonymise import survey
from provisioner.data.keyed import Keyed
from provisioner.data.privacy import finding
from provisioner.data.rules import Transformer, generalise, mask
from provisioner.data.rules_spec import Generalise, Mask
from provisioner.data.run import Run
from provisioner.errors import EXIT_BAD_INPUT

EXAMPLE = Path(__file__).resolve().parents[2] / "modules" / "stack" / "data"
RAW = tomllib.loads((EXAMPLE / "datasets.toml").read_text())["data"]
SECRET = b"unit-test-secret-0123456789"
OUTPUTS = {"table_name": "t", "bucket_name": "b", "name": "db"}


def dataset(fields: dict, *, key: str = "id", export: Path, name: str = "people", **extra) -> dict:
    return {name: {"reason": "r", "kind": "s3", "target": "bucket_name", "source": "anonymised",
                   "export": str(export), "key": key, "fields": fields, **extra}}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def rows_of(data: dict, base: Path, name: str, secret: bytes = SECRET) -> list[dict]:
    datasets = parse_datasets(data, "staging.toml", base)
    run = Run(OUTPUTS, "stack-1", datasets, None, None, Keyed(secret))
    rows, check = run.rows(datasets.get(name))
    return list(rows)


PEOPLE = [{"id": i, "email": f"person{i}@gmail.com", "born": "1980-05-17",
           "joined": "2021-03-04T10:00:00+00:00", "left": "2021-03-09T10:00:00+00:00",
           "amount": 123.4 + i, "card": "4111111111111111"}
          for i in range(1, 41)]


def test_hash_is_deterministic_keyed_and_joins_across_datasets(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "email": "x@gmail.com"},
                                           {"id": 2, "email": "y@gmail.com"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"order": 9, "email": "y@gmail.com"}])
    data = {**dataset({"id": "keep", "email": "hash"}, export=a, name="one"),
            **dataset({"order": "keep", "email": "hash"}, key="order", export=b, name="two")}
    one, two = rows_of(data, tmp_path, "one"), rows_of(data, tmp_path, "two")
    assert one == rows_of(data, tmp_path, "one")                   # deterministic
    assert two[0]["email"] == one[1]["email"]                      # one real value, one token
    assert one[0]["email"] != one[1]["email"]
    assert all("gmail" not in r["email"] for r in one + two)
    other = rows_of(data, tmp_path, "one", secret=b"another-secret-0123456789")
    assert other[1]["email"] != one[1]["email"]                    # keyed: the key decides


def test_fake_is_deterministic_of_the_right_kind_and_the_same_everywhere(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": i, "email": f"p{i % 5}@gmail.com",
                                            "phone": "+44 20 7946 0958", "name": "Walter Hernandez"}
                                           for i in range(20)])
    fields = {"id": "keep", "email": {"rule": "fake", "kind": "email"},
              "phone": {"rule": "fake", "kind": "phone"}, "name": {"rule": "fake", "kind": "name"}}
    rows = rows_of(dataset(fields, export=a), tmp_path, "people")
    by_original: dict[str, set[str]] = {}
    for src, out in zip([json.loads(x) for x in a.read_text().splitlines()], rows, strict=True):
        by_original.setdefault(src["email"], set()).add(out["email"])
        assert out["email"].endswith(("@example.com", "@example.org", "@example.net"))
        assert finding(out["email"]) is None and finding(out["phone"]) is None
        assert out["name"] != "Walter Hernandez"
    assert all(len(fakes) == 1 for fakes in by_original.values())   # one real email, one fake
    assert len({next(iter(f)) for f in by_original.values()}) == 5
    assert rows == rows_of(dataset(fields, export=a), tmp_path, "people")


def test_a_fake_never_equals_a_value_of_the_export(tmp_path):
    """Fabricated 'real' data and fakes come from the same Faker pools; a fake that happens to
    equal a real value of the export is skipped for the next candidate."""
    spec_rows = [{"id": 1, "name": "Anyone"}]
    a = write_jsonl(tmp_path / "a.jsonl", spec_rows)
    data = dataset({"id": "keep", "name": {"rule": "fake", "kind": "name"}}, export=a)
    datasets = parse_datasets(data, "staging.toml", tmp_path)
    keyed = Keyed(SECRET)
    first = Transformer(datasets.get("people"), keyed).row(spec_rows[0])["name"]
    avoiding = Transformer(datasets.get("people"), keyed, sensitive={keyed.fingerprint(first)})
    second = avoiding.row(spec_rows[0])["name"]
    assert second != first and isinstance(second, str)


def test_redact_null_mask_generalise_and_keep(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", PEOPLE)
    fields = {"id": "keep", "email": "redact", "born": {"rule": "generalise", "truncate": "year"},
              "joined": {"rule": "generalise", "truncate": "month"}, "left": "null",
              "amount": {"rule": "generalise", "round": 10}, "card": {"rule": "mask", "keep_last": 4}}
    rows = rows_of(dataset(fields, export=a), tmp_path, "people")
    assert [r["id"] for r in rows] == [p["id"] for p in PEOPLE]
    assert {r["email"] for r in rows} == {"[redacted]"}
    assert {r["born"] for r in rows} == {"1980-01-01"} and {r["joined"] for r in rows} == {"2021-03-01"}
    assert {r["left"] for r in rows} == {None}
    assert all(r["amount"] % 10 == 0 and abs(r["amount"] - p["amount"]) <= 5
               for r, p in zip(rows, PEOPLE, strict=True))
    assert {r["card"] for r in rows} == {"************1111"}


def test_mask_never_keeps_more_than_a_third():
    assert mask("1234", Mask(keep_last=4)) == "***4"
    assert mask("", Mask()) == ""
    assert mask("john.smith@acme.com", Mask(keep_first=1, keep_last=0)) == "j" + "*" * 18
    assert generalise(1234, Generalise(round=100)) == 1200
    assert generalise("2024-07-19T10:00:00+00:00", Generalise(truncate="day")) == "2024-07-19"
    assert generalise(0.123456, Generalise(round=0.01)) == 0.12


def test_shift_date_moves_each_record_by_one_nonzero_offset_within_the_bound(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", PEOPLE)
    shift = {"rule": "shift_date", "days": 7}
    fields = {"id": "keep", "email": "null", "born": shift, "joined": shift, "left": shift, "amount": "null",
              "card": "null"}
    rows = rows_of(dataset(fields, export=a), tmp_path, "people")
    offsets = set()
    for r, p in zip(rows, PEOPLE, strict=True):
        born = (date.fromisoformat(r["born"]) - date.fromisoformat(p["born"])).days
        joined = datetime.fromisoformat(r["joined"]) - datetime.fromisoformat(p["joined"])
        left = datetime.fromisoformat(r["left"]) - datetime.fromisoformat(r["joined"])
        assert 1 <= abs(born) <= 7 and joined.days == born and joined.seconds == 0
        assert left.days == 5                                      # the interval survives
        offsets.add(born)
    assert len(offsets) > 3                                        # per record, not one global shift


def test_an_unclassified_field_refuses_the_dataset(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "email": "x@gmail.com"},
                                           {"id": 2, "email": "y@gmail.com", "ssn": "123-45-6789"}])
    datasets = parse_datasets(dataset({"id": "keep", "email": "hash"}, export=a), "s.toml", tmp_path)
    with pytest.raises(UnclassifiedField) as info:
        survey(datasets.get("people"), None, Keyed(SECRET))
    err = info.value
    assert err.exit_code == EXIT_BAD_INPUT
    assert (err.dataset, err.field, err.row) == ("people", "ssn", 2)
    assert "123-45-6789" not in str(err) and "'ssn'" in str(err)


def example():
    return parse_datasets(copy.deepcopy(RAW), "datasets.toml", EXAMPLE)


def production(name: str) -> list[dict]:
    return [json.loads(line) for line in (EXAMPLE / "production-sample" / f"{name}.jsonl").open()]


def test_the_subset_keeps_references_whole():
    datasets = example()
    run = Run(OUTPUTS, "stack-1", datasets, None, None, Keyed(SECRET))
    accounts = list(run.rows(datasets.get("accounts"))[0])
    orders = list(run.rows(datasets.get("account_orders"))[0])
    ids = {a["id"] for a in accounts}
    assert 0.35 < len(accounts) / len(production("customers")) < 0.65     # sample = 0.5
    assert orders and {o["customer_id"] for o in orders} <= ids           # no dangling reference
    kept_customers = {Keyed(SECRET).token(c["id"]) for c in production("customers")} & ids
    expected = [o for o in production("orders") if Keyed(SECRET).token(o["customer_id"]) in kept_customers]
    assert len(orders) == len(expected)                                   # every order of a kept account


def test_a_limit_with_a_reference_chain(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": i} for i in range(100)])
    b = write_jsonl(tmp_path / "b.jsonl", [{"bid": i, "a": i % 100} for i in range(300)])
    c = write_jsonl(tmp_path / "c.jsonl", [{"cid": i, "b": i % 300} for i in range(900)])
    data = {**dataset({"id": "hash"}, export=a, name="a", subset={"limit": 10}),
            **dataset({"bid": "hash", "a": {"rule": "ref", "dataset": "a"}}, key="bid", export=b, name="b"),
            **dataset({"cid": "keep", "b": {"rule": "ref", "dataset": "b"}}, key="cid", export=c, name="c",
                      subset={"sample": 0.5})}
    ra, rb, rc = (rows_of(data, tmp_path, n) for n in "abc")
    assert len(ra) == 10 and len(rb) == 30
    assert {r["a"] for r in rb} <= {r["id"] for r in ra}
    assert rc and {r["b"] for r in rc} <= {r["bid"] for r in rb} and len(rc) < 90


def test_no_original_value_survives_in_a_non_keep_field():
    datasets = example()
    run = Run(OUTPUTS, "stack-1", datasets, None, None, Keyed(SECRET))
    for name, source in (("orders", "orders"), ("accounts", "customers"), ("account_orders", "orders")):
        spec = datasets.get(name)
        originals: dict[str, set] = {}
        for row in production(source):
            for field, value in row.items():
                if value is not None:
                    originals.setdefault(field, set()).add(str(value))
        keep = set(spec.keep_fields()) | {"amount"}                       # rounded amounts may coincide
        for row in run.rows(spec)[0]:
            for field, value in row.items():
                if field not in keep and value is not None and field != "customer_id":
                    assert str(value) not in originals.get(field, ()), (name, field)


def test_references_to_synthetic_customers_point_at_generated_keys():
    datasets = example()
    run = Run(OUTPUTS, "stack-1", datasets, None, None, Keyed(SECRET))
    customers = {r["id"] for r in run.rows(datasets.get("customers"))[0]}
    orders = list(run.rows(datasets.get("orders"))[0])
    assert {o["customer_id"] for o in orders} <= customers
    same_real_customer = {}
    for src in production("orders"):
        same_real_customer.setdefault(src["customer_id"], set()).add(src["order_id"])
    by_order = {o["order_id"]: o["customer_id"] for o in orders}
    for order_ids in same_real_customer.values():
        mapped = {by_order[i] for i in order_ids if i in by_order}
        assert len(mapped) <= 1                                           # one real customer, one synthetic
