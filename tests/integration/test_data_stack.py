"""Staging data end to end: the real CLI on the example stack (real Terraform against the emulator
over HTTP) with the example's datasets, loaded into the stack's DynamoDB table and bucket and into
the real PostgreSQL server the tool starts beside the emulator.

The project lives under /tmp (not pytest's 0700 basetemp): run as root, the tool's PostgreSQL runs
as `postgres`, which must reach the project's state directory.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import aws_client, run_cli, write_project

from provisioner.domain.naming import stack_id

pytestmark = pytest.mark.integration

BRANCH = "feature/seeded-data"
SAMPLE = Path(__file__).resolve().parents[2] / "modules" / "stack" / "data" / "production-sample"
LEAKY = 'email = { rule = "fake", kind = "email" }'


@pytest.fixture(scope="module")
def project(moto_url, provider_mirror):
    root = Path(tempfile.mkdtemp(prefix="provisioner-data-it-"))
    root.chmod(0o711)
    cfg = write_project(root / "proj", moto_url, provider_mirror, data=True)
    (root / "proj").chmod(0o711)
    # the nightly refresh test changes the orders export: a copy of it, not the repository's file
    export = root / "proj" / "orders.jsonl"
    shutil.copy(SAMPLE / "orders.jsonl", export)
    text = cfg.read_text()
    first = text.index(str(SAMPLE / "orders.jsonl"))
    cfg.write_text(text[:first] + str(export) + text[first + len(str(SAMPLE / "orders.jsonl")):])
    yield cfg
    from provisioner.data import pgserver

    pgserver.stop(root / "proj" / ".provisioner")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def seeded(project):
    out = run_cli(project, "spinup", "--branch", BRANCH, "--json")
    return json.loads(out.stdout)


def _outputs(seeded) -> dict:
    return seeded["record"]["outputs"]


def _pg(project):
    import psycopg

    from provisioner.data import pgserver

    server = pgserver.status(project.parent / ".provisioner")
    assert server is not None, "spinup did not leave the local PostgreSQL server running"
    return psycopg, server


def contents(project, moto_url, seeded) -> dict[str, list]:
    """Everything the stack's stores hold, as sorted canonical JSON lines per store."""
    out = _outputs(seeded)
    table, bucket, database = out["table_name"], out["bucket_name"], out["database_name"]
    ddb = aws_client(moto_url, "dynamodb")
    items = [i for page in ddb.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
    s3 = aws_client(moto_url, "s3")
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="invoices/"):
        for o in page.get("Contents", []):
            objects[o["Key"]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
    psycopg, server = _pg(project)
    rows: dict[str, list] = {}
    with psycopg.connect(server.dsn(database)) as conn:
        for name in ("accounts", "account_orders"):
            found = conn.execute(f"SELECT * FROM {name}")
            rows[name] = sorted(json.dumps([str(v) for v in r]) for r in found)
    return {"dynamodb": sorted(json.dumps(i, sort_keys=True) for i in items),
            "s3": sorted(json.dumps([k, v]) for k, v in objects.items()), **rows}


def digest(found: dict[str, list]) -> str:
    return hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()


def test_spinup_seeds_every_store(project, moto_url, seeded):
    data = seeded["record"]["data"]
    assert set(data) == {"customers", "orders", "invoices", "accounts", "account_orders"}
    found = contents(project, moto_url, seeded)
    assert len(found["dynamodb"]) == data["customers"]["rows"] + data["orders"]["rows"] > 1000
    invoices = sum(len(v.splitlines()) - 1 for _, v in map(json.loads, found["s3"]))   # CSV headers
    assert invoices == data["invoices"]["rows"] == 3000
    assert len(found["accounts"]) == data["accounts"]["rows"] > 0
    assert len(found["account_orders"]) == data["account_orders"]["rows"] > 0
    for v in data.values():
        assert len(v["digest"]) == 64 and v["loaded_at"] > 0
    status = run_cli(project, "status", "--branch", BRANCH).stdout
    assert f"data:     customers: {data['customers']['rows']} rows" in status


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_no_email_phone_or_card_of_the_production_sample_is_loaded(project, moto_url, seeded):
    emails, phones, cards = set(), set(), set()
    for name in ("customers.jsonl", "orders.jsonl"):
        for line in (SAMPLE / name).read_text().splitlines():
            row = json.loads(line)
            emails.add(row["email"].lower())
            phones.add(row["phone"])
            cards.update([row["card_number"]] if row.get("card_number") else [])
    assert len(emails) > 300 and len(phones) > 300 and len(cards) > 300
    found = contents(project, moto_url, seeded)
    blob = "\n".join(line for lines in found.values() for line in lines).lower()
    assert not [e for e in emails if e in blob]
    assert not [p for p in phones if p.lower() in blob]
    assert not [c for c in cards if c in blob]
    # the digits alone, too: one loaded value per comparison, so neighbours never join up
    values = set()
    for lines in found.values():
        for line in lines:
            values.update(_digits(v) for v in re.findall(r'"([^"]*)"', line))
    assert not {_digits(p.split("x")[0]) for p in phones} & values
    assert not {_digits(c) for c in cards} & values


def test_seeding_twice_writes_nothing(project, moto_url, seeded):
    before = digest(contents(project, moto_url, seeded))
    again = json.loads(run_cli(project, "data", "seed", "--branch", BRANCH, "--json").stdout)
    assert again["loaded"] == [] and again["rows_written"] == 0
    assert set(again["skipped"]) == set(seeded["record"]["data"])
    assert digest(contents(project, moto_url, seeded)) == before


def test_a_skipped_spinup_seeds_nothing_when_versions_are_unchanged(project, moto_url, seeded):
    before = digest(contents(project, moto_url, seeded))
    out = run_cli(project, "spinup", "--branch", BRANCH)
    assert "no infrastructure changes (inputs unchanged since " in out.stdout   # Terraform skipped
    assert "loaded " not in out.stderr                                          # nothing reloaded
    record = json.loads(run_cli(project, "status", "--branch", BRANCH, "--json").stdout)["record"]
    assert {k: v["loaded_at"] for k, v in record["data"].items()} == \
        {k: v["loaded_at"] for k, v in seeded["record"]["data"].items()}
    assert digest(contents(project, moto_url, seeded)) == before


def test_reset_restores_exactly_the_pristine_data(project, moto_url, seeded):
    out = _outputs(seeded)
    pristine = digest(contents(project, moto_url, seeded))
    ddb = aws_client(moto_url, "dynamodb")
    items = ddb.scan(TableName=out["table_name"], Limit=5)["Items"]
    for item in items[:3]:
        ddb.delete_item(TableName=out["table_name"], Key={"pk": item["pk"], "sk": item["sk"]})
    ddb.put_item(TableName=out["table_name"], Item={**items[3], "hand_edited": {"S": "yes"}})
    ddb.put_item(TableName=out["table_name"], Item={"pk": {"S": "CUSTOMER#by-hand"}, "sk": {"S": "PROFILE"}})
    s3 = aws_client(moto_url, "s3")
    first = s3.list_objects_v2(Bucket=out["bucket_name"], Prefix="invoices/")["Contents"][0]["Key"]
    s3.delete_object(Bucket=out["bucket_name"], Key=first)
    psycopg, server = _pg(project)
    with psycopg.connect(server.dsn(out["database_name"])) as conn:
        conn.execute("DELETE FROM accounts WHERE ctid IN (SELECT ctid FROM accounts LIMIT 7)")
        conn.execute("UPDATE account_orders SET status = 'tampered'")
    tampered = digest(contents(project, moto_url, seeded))
    assert tampered != pristine

    result = json.loads(run_cli(project, "data", "reset", "--branch", BRANCH, "--json").stdout)
    assert {v["dataset"] for v in result["loaded"]} == set(seeded["record"]["data"])
    restored = digest(contents(project, moto_url, seeded))
    print(f"\nreset digests: pristine {pristine}\n               tampered {tampered}\n"
          f"               restored {restored}")
    assert restored == pristine
    for v in result["loaded"]:   # the rows are the ones recorded at the first load, byte for byte
        assert v["content_digest"] == seeded["record"]["data"][v["dataset"]]["content_digest"]


def test_a_leaky_rule_is_refused_naming_dataset_row_and_field(project, moto_url, seeded):
    text = project.read_text()
    leaky = project.with_name("leaky.toml")
    at = text.index(LEAKY)     # the first one is orders' (in the example's order of datasets)
    leaky.write_text(text[:at] + 'email = "keep"' + text[at + len(LEAKY):])
    before = digest(contents(project, moto_url, seeded))
    proc = run_cli(leaky, "data", "seed", "--branch", BRANCH, check=False)
    assert proc.returncode == 2, proc.stderr
    message = proc.stdout + proc.stderr
    print(f"\nrefusal (exit {proc.returncode}): {message.strip()}")
    assert re.search(r"dataset 'orders': row \d+, field 'email': ", message), message
    assert "the value is not shown" in message and "Traceback" not in message
    emails = {json.loads(line)["email"] for line in (SAMPLE / "orders.jsonl").read_text().splitlines()}
    assert not [e for e in emails if e in message]
    assert digest(contents(project, moto_url, seeded)) == before      # nothing was written


def test_cleanup_reseeds_a_nightly_dataset_whose_export_changed(project, moto_url, seeded):
    plan = json.loads(run_cli(project, "cleanup", "--dry-run", "--json").stdout)
    before = json.loads(run_cli(project, "status", "--branch", BRANCH, "--json").stdout)["record"]["data"]
    assert not [s for s in plan["stacks"] if s["action"] == "refresh-data"]
    export = project.parent / "orders.jsonl"
    row = json.loads(export.read_text().splitlines()[0])
    export.write_text(export.read_text() + json.dumps({**row, "order_id": 999999}) + "\n")
    done = json.loads(run_cli(project, "cleanup", "--json").stdout)
    slug = stack_id(BRANCH).slug
    assert [(s["slug"], s["action"], s["result"]) for s in done["stacks"]] == [(slug, "refresh-data", "done")]
    assert "orders" in done["stacks"][0]["reason"]
    record = json.loads(run_cli(project, "status", "--branch", BRANCH, "--json").stdout)["record"]
    assert record["data"]["orders"]["source_digest"] != before["orders"]["source_digest"]
    assert record["data"]["orders"]["loaded_at"] > before["orders"]["loaded_at"]
    assert record["data"]["customers"] == before["customers"]   # not due: untouched


def test_teardown_drops_the_stacks_database(project, seeded):
    run_cli(project, "teardown", "--branch", BRANCH)
    psycopg, server = _pg(project)
    with psycopg.connect(server.dsn()) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    assert _outputs(seeded)["database_name"] not in names
