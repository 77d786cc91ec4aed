"""Loading datasets for real: a moto server over HTTP (DynamoDB, S3) and a PostgreSQL started by
the tool's own launcher. The example stack's datasets go into a table, a bucket and a database
created here the way the stack's Terraform creates them."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import re
import tomllib
import uuid
from pathlib import Path

import psycopg
import pytest
from conftest import aws_client

from provisioner.aws.clients import Aws
from provisioner.data import (
    PrivacyError,
    TagMismatch,
    TargetError,
    drop_database,
    parse_datasets,
    plan,
    reset,
    seed,
    source_changed,
)

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "modules" / "stack" / "data"
RAW = tomllib.loads((EXAMPLE / "datasets.toml").read_text())["data"]
SECRET = b"integration-secret-0123456789"
STACK = "data-test-1a2b3c4"
TAGS = {"managed-by": "staging-provisioner", "staging:stack": STACK}


@pytest.fixture
def stack(moto_url, pg_server):
    """A fresh table (pk/sk strings, as modules/data), bucket and database name per test."""
    name = "d" + uuid.uuid4().hex[:10]
    ddb, s3 = aws_client(moto_url, "dynamodb"), aws_client(moto_url, "s3")
    ddb.create_table(TableName=f"{name}-state", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()])
    s3.create_bucket(Bucket=f"{name}-data")
    s3.put_bucket_tagging(Bucket=f"{name}-data",
                          Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in TAGS.items()]})
    outputs = {"table_name": f"{name}-state", "bucket_name": f"{name}-data", "name": name}
    return outputs, Aws(region="us-east-1", endpoint=moto_url), pg_server.dsn()


def datasets(raw: dict | None = None):
    return parse_datasets(copy.deepcopy(raw or RAW), "datasets.toml", EXAMPLE)


def contents(outputs: dict, moto_url: str, dsn: str) -> dict[str, list]:
    """Everything in the three stores, sorted, as plain values."""
    ddb, s3 = aws_client(moto_url, "dynamodb"), aws_client(moto_url, "s3")
    pages = ddb.get_paginator("scan").paginate(TableName=outputs["table_name"])
    items = [i for p in pages for i in p["Items"]]
    objects = {o["Key"]: s3.get_object(Bucket=outputs["bucket_name"], Key=o["Key"])["Body"].read().decode()
               for p in s3.get_paginator("list_objects_v2").paginate(Bucket=outputs["bucket_name"])
               for o in p.get("Contents", [])}
    tables = {}
    with psycopg.connect(psycopg.conninfo.make_conninfo(dsn, dbname=outputs["name"])) as conn:
        for table in ("accounts", "account_orders"):
            cols = conn.execute(f"SELECT * FROM {table} LIMIT 0").description
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            tables[table] = [[c.name for c in cols]] + [[str(v) for v in r] for r in rows]
    return {"items": sorted(json.dumps(i, sort_keys=True) for i in items), "objects": sorted(objects.items()),
            **tables}


def digest(c: dict) -> str:
    return hashlib.sha256(json.dumps(c, sort_keys=True, default=str).encode()).hexdigest()


def production_values() -> set[str]:
    """Every email, phone and card number of the production sample, and the digits of each."""
    out: set[str] = set()
    for name in ("customers", "orders"):
        for line in (EXAMPLE / "production-sample" / f"{name}.jsonl").open():
            row = json.loads(line)
            for field in ("email", "phone", "card_number"):
                if row.get(field):
                    out.add(row[field])
                    if field != "email":
                        out.add(re.sub(r"\D", "", row[field].split("x")[0]))
            if row.get("notes") and "Call" in row["notes"]:
                out.add(row["notes"].removeprefix("Call ").removesuffix(" before delivery"))
    return out


def test_seed_loads_every_store_without_a_production_value(stack, moto_url):
    outputs, aws, dsn = stack
    d = datasets()
    planned = plan(outputs, STACK, d, aws, dsn, {}, secret=SECRET)
    result = seed(outputs, STACK, d, aws, dsn, {}, secret=SECRET, expected_tags=TAGS)
    assert {v.dataset for v in result.loaded} == set(d.names) and not result.skipped
    want = {p.name: p.rows for p in planned.datasets}
    assert {v.dataset: v.rows for v in result.loaded} == want
    c = contents(outputs, moto_url, dsn)
    assert len(c["items"]) == want["customers"] + want["orders"]
    assert len(c["objects"]) == 6 and all(k.startswith("invoices/part-") for k, _ in c["objects"])
    assert len(c["accounts"]) - 1 == want["accounts"]            # minus the header row
    assert len(c["account_orders"]) - 1 == want["account_orders"]
    blob = json.dumps(c, default=str)
    leaked = [v for v in production_values() if len(v) >= 7 and v in blob]
    assert not leaked, f"{len(leaked)} production values reached staging"
    order = next(json.loads(i) for i in c["items"] if '"ORDER#500' in i)
    assert order["pk"]["S"].startswith("CUSTOMER#") and order["_dataset"]["S"] == "orders"
    customers = {json.loads(i)["pk"]["S"] for i in c["items"] if '"PROFILE"' in i}
    assert all(json.loads(i)["pk"]["S"] in customers for i in c["items"] if '"ORDER#' in i)


def test_seeding_twice_writes_nothing_the_second_time(stack, moto_url):
    outputs, aws, dsn = stack
    d = datasets()
    first = seed(outputs, STACK, d, aws, dsn, {}, secret=SECRET)
    ddb = aws_client(moto_url, "dynamodb")
    ddb.delete_item(TableName=outputs["table_name"], Key={"pk": {"S": "CUSTOMER#1"}, "sk": {"S": "PROFILE"}})
    before = contents(outputs, moto_url, dsn)
    second = seed(outputs, STACK, d, aws, dsn, first.versions, secret=SECRET)
    assert second.loaded == () and set(second.skipped) == set(d.names)
    assert second.versions == first.versions
    after = contents(outputs, moto_url, dsn)
    assert digest(after) == digest(before)             # the hand-deleted customer stays deleted
    # a new version of one dataset replaces only that dataset
    raw = copy.deepcopy(RAW)
    raw["invoices"]["rows"] = 1200
    third = seed(outputs, STACK, datasets(raw), aws, dsn, first.versions, secret=SECRET)
    assert [v.dataset for v in third.loaded] == ["invoices"]
    objects = contents(outputs, moto_url, dsn)["objects"]
    assert len(objects) == 3 and sum(body.count("\n") - 1 for _, body in objects) == 1200


def test_reset_restores_exactly_the_pristine_data(stack, moto_url):
    outputs, aws, dsn = stack
    d = datasets()
    first = seed(outputs, STACK, d, aws, dsn, {}, secret=SECRET)
    pristine = digest(contents(outputs, moto_url, dsn))
    ddb, s3 = aws_client(moto_url, "dynamodb"), aws_client(moto_url, "s3")
    table, bucket = outputs["table_name"], outputs["bucket_name"]
    ddb.delete_item(TableName=table, Key={"pk": {"S": "CUSTOMER#2"}, "sk": {"S": "PROFILE"}})
    ddb.update_item(TableName=table, Key={"pk": {"S": "CUSTOMER#3"}, "sk": {"S": "PROFILE"}},
                    UpdateExpression="SET full_name = :n", ExpressionAttributeValues={":n": {"S": "Changed"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "STRAY"}, "sk": {"S": "x"}})
    s3.delete_object(Bucket=bucket, Key="invoices/part-00000.csv")
    s3.put_object(Bucket=bucket, Key="invoices/part-00001.csv", Body=b"tampered")
    with psycopg.connect(psycopg.conninfo.make_conninfo(dsn, dbname=outputs["name"])) as conn:
        conn.execute("DELETE FROM account_orders WHERE order_id % 3 = 0")
        conn.execute("UPDATE accounts SET loyalty_tier = 'platinum'")
    assert digest(contents(outputs, moto_url, dsn)) != pristine
    result = reset(outputs, STACK, d, aws, dsn, first.versions, secret=SECRET)
    assert digest(contents(outputs, moto_url, dsn)) == pristine
    assert {v.content_digest for v in result.loaded} == {v.content_digest for v in first.loaded}
    assert len(result.emptied) == 4                    # the table, the prefix, two pg tables


def test_reset_of_one_dataset_reloads_its_store_only(stack, moto_url):
    outputs, aws, dsn = stack
    first = seed(outputs, STACK, datasets(), aws, dsn, {}, secret=SECRET)
    result = reset(outputs, STACK, datasets(), aws, dsn, first.versions, secret=SECRET, only=["orders"])
    assert {v.dataset for v in result.loaded} == {"customers", "orders"}    # they share the table
    assert result.emptied == (f"dynamodb:{outputs['table_name']}",)


def test_a_privacy_hit_writes_nothing_anywhere(stack, moto_url):
    outputs, aws, dsn = stack
    raw = copy.deepcopy(RAW)
    raw["account_orders"]["fields"]["card_number"] = "keep"            # the last dataset leaks
    with pytest.raises(PrivacyError) as info:
        seed(outputs, STACK, datasets(raw), aws, dsn, {}, secret=SECRET)
    assert (info.value.dataset, info.value.field) == ("account_orders", "card_number")
    ddb, s3 = aws_client(moto_url, "dynamodb"), aws_client(moto_url, "s3")
    assert ddb.scan(TableName=outputs["table_name"])["Count"] == 0
    assert s3.list_objects_v2(Bucket=outputs["bucket_name"]).get("KeyCount", 0) == 0


def test_a_store_without_the_stacks_tags_is_refused(stack, moto_url):
    outputs, aws, dsn = stack
    with pytest.raises(TagMismatch) as info:
        seed(outputs, STACK, datasets(), aws, dsn, {}, secret=SECRET,
             expected_tags={**TAGS, "staging:stack": "another-stack"})
    assert info.value.exit_code == 3 and "staging:stack" in str(info.value)
    assert aws_client(moto_url, "dynamodb").scan(TableName=outputs["table_name"])["Count"] == 0


def test_an_s3_export_in_dynamodb_json(stack, moto_url):
    """An export read from s3:// with the tool's own credentials, in DynamoDB's export format."""
    outputs, aws, dsn = stack
    s3 = aws_client(moto_url, "s3")
    s3.create_bucket(Bucket=f"{outputs['name']}-exports")

    def attr(v):
        return {"NULL": True} if v is None else {"BOOL": v} if isinstance(v, bool) else \
            {"N": str(v)} if isinstance(v, int | float) else {"S": v}

    lines = [json.dumps({"Item": {k: attr(v) for k, v in json.loads(x).items()}})
             for x in (EXAMPLE / "production-sample" / "customers.jsonl").read_text().splitlines()]
    key = "exports/customers.json.gz"
    s3.put_object(Bucket=f"{outputs['name']}-exports", Key=key, Body=gzip.compress("\n".join(lines).encode()))
    raw = {"accounts": copy.deepcopy(RAW["accounts"])}
    raw["accounts"]["export"] = f"s3://{outputs['name']}-exports/{key}"
    raw["accounts"]["format"] = "dynamodb-json"
    d = datasets(raw)
    result = seed(outputs, STACK, d, aws, dsn, {}, secret=SECRET)
    local = seed(outputs, STACK, datasets({"accounts": RAW["accounts"]}), aws, dsn, {}, secret=SECRET)
    assert result.loaded[0].content_digest == local.loaded[0].content_digest   # same rows, same tokens
    assert not source_changed(d.get("accounts"), result.loaded[0], aws)
    s3.put_object(Bucket=f"{outputs['name']}-exports", Key=key, Body=gzip.compress(lines[0].encode()))
    assert source_changed(d.get("accounts"), result.loaded[0], aws)


def test_key_templates_that_miss_the_tables_key_are_refused_before_writing(stack, moto_url):
    outputs, aws, dsn = stack
    raw = copy.deepcopy(RAW)
    raw["orders"]["keys"] = {"pk": "CUSTOMER#{customer_id}"}                # no sk
    with pytest.raises(TargetError) as info:
        seed(outputs, STACK, datasets(raw), aws, dsn, {}, secret=SECRET)
    assert info.value.exit_code == 2 and "'sk'" in str(info.value) and info.value.dataset == "orders"
    assert aws_client(moto_url, "dynamodb").scan(TableName=outputs["table_name"])["Count"] == 0


def test_teardown_drops_the_stacks_database(stack):
    outputs, aws, dsn = stack
    seed(outputs, STACK, datasets({"accounts": RAW["accounts"]}), aws, dsn, {}, secret=SECRET)
    conn = psycopg.connect(psycopg.conninfo.make_conninfo(dsn, dbname=outputs["name"]))   # left open
    try:
        assert drop_database(dsn, outputs["name"]) is True
        assert drop_database(dsn, outputs["name"]) is False
        with psycopg.connect(dsn) as admin:
            assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                 (outputs["name"],)).fetchone() is None
    finally:
        conn.close()
