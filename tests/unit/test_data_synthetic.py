"""Synthetic data: the same for a stack every time, different per stack, refs to existing keys,
scenario rows appended as written; exports read alike from JSON Lines, CSV and DynamoDB JSON;
version digests move exactly when the data would."""

from __future__ import annotations

import copy
import csv
import gzip
import json
import tomllib
from pathlib import Path

import msgspec
import pytest

from provisioner.data import DataSpecError, parse_datasets, source_changed
from provisioner.data.keyed import Keyed
from provisioner.data.run import Run
from provisioner.data.sources import read_rows
from provisioner.data.synthetic import synthetic_rows
from provisioner.data.versions import DatasetVersion, from_record, to_record

EXAMPLE = Path(__file__).resolve().parents[2] / "modules" / "stack" / "data"
RAW = tomllib.loads((EXAMPLE / "datasets.toml").read_text())["data"]
OUTPUTS = {"table_name": "t", "bucket_name": "b", "name": "db"}
SECRET = b"0123456789abcdef-secret"


def example(raw: dict | None = None, base: Path = EXAMPLE):
    return parse_datasets(copy.deepcopy(raw or RAW), "datasets.toml", base)


def test_a_stack_gets_the_same_rows_every_time_and_another_stack_other_rows():
    d = example()
    first = list(synthetic_rows(d.get("customers"), d, "login-page-3f1c2ab"))
    again = list(synthetic_rows(d.get("customers"), d, "login-page-3f1c2ab"))
    other = list(synthetic_rows(d.get("customers"), d, "checkout-9a8b7c6"))
    assert first == again
    assert [r["full_name"] for r in first[:50]] != [r["full_name"] for r in other[:50]]
    assert len(first) == 1000 + 5 and [r["id"] for r in first[:3]] == [1, 2, 3]


def test_generated_values_follow_the_schema():
    d = example()
    rows = list(synthetic_rows(d.get("customers"), d, "s"))[:1000]
    assert {r["loyalty_tier"] for r in rows} == {"bronze", "silver", "gold"}
    gold = sum(r["loyalty_tier"] == "gold" for r in rows)
    assert 10 < gold < 100                                         # weight 5 of 100
    nulls = sum(r["phone"] is None for r in rows)
    assert 50 < nulls < 160                                        # nulls = 0.1
    assert all(r["email"].rsplit("@", 1)[1] in ("example.com", "example.org", "example.net") for r in rows)
    assert all(r["phone"] is None or "-555-01" in r["phone"] for r in rows)
    assert any(not r["full_name"].isascii() for r in rows)         # several locales: unicode names
    assert all("2020-01-01" <= r["created_at"][:10] <= "2026-11-30" for r in rows)


def test_refs_point_at_existing_keys_and_scenarios_are_appended_as_written():
    d = example()
    customers = {r["id"] for r in synthetic_rows(d.get("customers"), d, "s")}
    invoices = list(synthetic_rows(d.get("invoices"), d, "s"))
    assert len(invoices) == 3000 and {i["customer_id"] for i in invoices} <= customers
    assert len({i["invoice_id"] for i in invoices}) == 3000
    scenario = list(synthetic_rows(d.get("customers"), d, "s"))[-5:]
    lines = [json.loads(x) for x in (EXAMPLE / "customers.scenarios.jsonl").read_text().splitlines()]
    assert scenario == lines                                       # unicode, nulls, quotes, as they are


def test_a_repeated_scenario_row(tmp_path):
    run = Run(OUTPUTS, "s", example(), None, None, Keyed(SECRET))
    orders = list(run.rows(example().get("orders"))[0])
    many = [o for o in orders if o["customer_id"] == 900001]
    assert len(many) == 500 and many[0]["order_id"] == "scenario-1" and many[-1]["order_id"] == "scenario-500"


def test_a_scenario_with_an_unknown_field_is_refused(tmp_path):
    (tmp_path / "s.jsonl").write_text('{"id": 1, "nmae": "x"}\n')
    (tmp_path / "c.toml").write_text('key = "id"\n[fields.id]\ngen = "sequence"\n'
                                     '[fields.name]\ngen = "name"\n')
    data = {"c": {"reason": "r", "kind": "s3", "target": "bucket_name", "source": "synthetic",
                  "schema": "c.toml", "scenarios": "s.jsonl", "rows": 1}}
    d = parse_datasets(data, "x.toml", tmp_path)
    with pytest.raises(DataSpecError) as info:
        list(synthetic_rows(d.get("c"), d, "s"))
    assert "s.jsonl:1" in str(info.value) and "nmae" in str(info.value)


def _export(tmp_path: Path, fmt: str) -> Path:
    lines = (EXAMPLE / "production-sample" / "customers.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines][:50]
    if fmt == "csv":
        path = tmp_path / "c.csv"
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        return path
    path = tmp_path / "c.json.gz"

    def attr(v):
        return {"NULL": True} if v is None else {"BOOL": v} if isinstance(v, bool) else \
            {"N": str(v)} if isinstance(v, int | float) else {"S": v}
    with gzip.open(path, "wt") as f:
        for r in rows:
            f.write(json.dumps({"Item": {k: attr(v) for k, v in r.items()}}) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["csv", "dynamodb-json"])
def test_exports_read_alike(tmp_path, fmt):
    raw = copy.deepcopy(RAW)
    raw["accounts"]["export"] = str(_export(tmp_path, fmt))
    if fmt == "dynamodb-json":
        raw["accounts"]["format"] = "dynamodb-json"
    d = example({"accounts": raw["accounts"]})
    jsonl = example({"accounts": RAW["accounts"]})
    got = list(read_rows(d.get("accounts"), None))
    want = list(read_rows(jsonl.get("accounts"), None))[:50]
    if fmt == "csv":   # CSV has only text: compare as text
        want = [{k: (None if v is None else str(v)) for k, v in r.items()} for r in want]
        got = [{k: ("True" if v == "True" else v) for k, v in r.items()} for r in got]
    assert got == want
    # the same customers get the same tokens whatever the export's format
    tokens = [Keyed(SECRET).token(r["id"]) for r in got]
    assert tokens == [Keyed(SECRET).token(r["id"]) for r in list(read_rows(jsonl.get("accounts"), None))[:50]]


def test_version_digest_moves_with_the_data_and_only_with_it(tmp_path):
    d = example()
    run = Run(OUTPUTS, "stack-a", d, None, None, Keyed(SECRET))
    base = {s.name: run.digest(s) for s in d.specs}
    assert base == {s.name: Run(OUTPUTS, "stack-a", example(), None, None, Keyed(SECRET)).digest(s)
                    for s in d.specs}
    raw = copy.deepcopy(RAW)
    raw["customers"]["reason"] = "Reworded."
    raw["invoices"]["rows"] = 3001
    changed = example(raw)
    run2 = Run(OUTPUTS, "stack-a", changed, None, None, Keyed(SECRET))
    assert run2.digest(changed.get("customers")) == base["customers"]          # reason: not data
    assert run2.digest(changed.get("invoices")) != base["invoices"]
    other_stack = Run(OUTPUTS, "stack-b", d, None, None, Keyed(SECRET))
    assert other_stack.digest(d.get("customers")) != base["customers"]         # another seed
    other_key = Run(OUTPUTS, "stack-a", d, None, None, Keyed(b"another-secret-0123456"))
    assert other_key.digest(d.get("accounts")) != base["accounts"]             # other tokens
    other_table = Run({**OUTPUTS, "table_name": "t2"}, "stack-a", d, None, None, Keyed(SECRET))
    assert other_table.digest(d.get("orders")) != base["orders"]


def test_source_changed_sees_an_edited_export(tmp_path):
    export = tmp_path / "orders.jsonl"
    export.write_bytes((EXAMPLE / "production-sample" / "orders.jsonl").read_bytes())
    raw = copy.deepcopy(RAW)
    raw["orders"]["export"] = str(export)
    raw["orders"]["scenarios"] = str(EXAMPLE / "orders.scenarios.jsonl")
    d = example({"customers": raw["customers"], "orders": raw["orders"]})
    run = Run(OUTPUTS, "s", d, None, None, Keyed(SECRET))
    version = DatasetVersion(dataset="orders", digest=run.digest(d.get("orders")), kind="dynamodb", store="x",
                             rows=1, source_digest=run.source_digest(d.get("orders")), seed="0",
                             content_digest="", loaded_at=0.0, load_seconds=0.0)
    assert not source_changed(d.get("orders"), version, None)
    assert not source_changed(d.get("customers"), version, None)               # synthetic: never
    with export.open("a") as f:
        f.write(export.read_text().splitlines()[0] + "\n")
    assert source_changed(d.get("orders"), version, None)
    assert from_record(json.loads(json.dumps(to_record({"orders": version})))) == {"orders": version}
    assert msgspec.json.decode(msgspec.json.encode(version), type=DatasetVersion) == version


def test_chunks_made_by_worker_processes_equal_the_rows_made_in_one(tmp_path):
    """A dataset bigger than one chunk is generated by spawned workers; the spool holds exactly
    the rows one process makes, in the same order."""
    from provisioner.data.run import Run
    from provisioner.data.synthetic import CHUNK

    raw = copy.deepcopy(RAW)
    raw["customers"]["rows"] = CHUNK + 7
    d = example({"customers": raw["customers"]})
    spooled = Run(OUTPUTS, "s", d, None, None, Keyed(SECRET)).spool(d.get("customers"), tmp_path)
    assert len(spooled.paths) == 3                                     # two chunks and the scenarios
    one_process = list(synthetic_rows(d.get("customers"), d, "s"))
    assert list(spooled.read()) == one_process and spooled.rows == CHUNK + 7 + 5


def test_differences_say_what_staging_holds_instead_with_the_reason():
    from provisioner.data import differences

    diffs = {d.dataset: d for d in differences(example())}
    assert diffs["customers"].staging == "synthetic, 1000 rows"
    assert diffs["customers"].production == "250000 rows"
    assert diffs["orders"].production == "orders.jsonl"
    assert "50% sample" in diffs["orders"].staging and "order_id, currency, status" in diffs["orders"].staging
    assert diffs["accounts"].reason.startswith("Relational copy")


def test_a_script_without_a_main_guard_can_seed_big_datasets(tmp_path):
    """The spool workers are `python -m provisioner.data.worker` children: unlike a spawn pool they
    never re-run the caller's __main__ (a script read from stdin here, with no guard)."""
    import subprocess
    import sys

    script = f"""
import copy, tomllib, tempfile
from pathlib import Path
from provisioner.data import parse_datasets
from provisioner.data.keyed import Keyed
from provisioner.data.run import Run
from provisioner.data.synthetic import CHUNK
raw = tomllib.loads(Path({str(EXAMPLE / "datasets.toml")!r}).read_text())["data"]
raw["customers"]["rows"] = CHUNK + 1
d = parse_datasets({{"customers": raw["customers"]}}, "x", Path({str(EXAMPLE)!r}))
run = Run({{}}, "s", d, None, None, Keyed(b"0123456789abcdef-secret"))
spooled = run.spool(d.get("customers"), Path({str(tmp_path)!r}))
print("rows", spooled.rows, len(spooled.paths))
"""
    proc = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["rows", str(10_000 + 1 + 5), "3"]
