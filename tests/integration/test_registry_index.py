"""The registry's index of live records against the emulator over HTTP: the query of the index and
the whole-table scan it replaces return the same records, every status change keeps the index
right, and a table made before the index is upgraded by bootstrap (or read whole until then)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from conftest import aws_client

from provisioner.aws.clients import Aws
from provisioner.domain.record import Record
from provisioner.state import liveindex
from provisioner.state.backend import ensure_table
from provisioner.state.registry import LIVE, LIVE_ATTRIBUTE, LIVE_INDEX, Registry

pytestmark = pytest.mark.integration

STATUSES = ("creating", "ready", "unhealthy", "failed", "interrupted", "destroying", "destroyed")


def _table(request, suffix: str = "") -> str:
    return f"idx-{request.node.name[:36].replace('[', '-').replace(']', '')}{suffix}"


@pytest.fixture
def indexed(moto_url, request):
    aws = Aws(region="us-east-1", endpoint=moto_url)
    table = _table(request)
    assert ensure_table(
        aws.client("dynamodb"), table, "slug", index=LIVE_INDEX, index_attribute=LIVE_ATTRIBUTE
    )
    return Registry(aws, table)


@pytest.fixture
def old_table(moto_url, request):
    """A registry table as versions before the index made it (no index)."""
    aws = Aws(region="us-east-1", endpoint=moto_url)
    table = _table(request, "-old")
    ensure_table(aws.client("dynamodb"), table, "slug")
    return Registry(aws, table)


def _fill(registry: Registry, n: int = 60) -> list[Record]:
    recs = [
        registry.put(
            Record(
                slug=f"s{i:03d}-0000000",
                branch=f"b/{i}",
                status=STATUSES[i % len(STATUSES)],
                created_at=float(n - i),
                outputs={"url": f"http://{i}"},
            ),
            expected=None,
        )
        for i in range(n)
    ]
    return recs


def _by_scan(registry: Registry, **kw) -> list[Record]:
    return [r for r in registry.all(**kw) if r.live]


def test_the_index_query_returns_exactly_the_live_records_the_scan_does(indexed):
    recs = _fill(indexed)
    live = indexed.live()
    assert live == _by_scan(indexed) and not live.warnings
    assert {r.slug for r in live} == {r.slug for r in recs if r.status != "destroyed"}
    assert [r.created_at for r in live] == sorted(r.created_at for r in live)  # oldest first, as all()
    slim = indexed.live(without=("outputs",))
    assert slim == _by_scan(indexed, without=("outputs",)) and all(r.outputs == {} for r in slim)
    assert indexed.index_status() == "ACTIVE"


def test_every_status_change_moves_the_record_in_or_out_of_the_index(indexed, moto_url):
    rec = indexed.put(Record(slug="t-1234567", branch="t", status="creating"), expected=None)
    ddb = aws_client(moto_url, "dynamodb")
    for status in (*STATUSES[1:], "creating", "ready", "destroyed"):
        rec = indexed.put(replace(rec, status=status), expected=rec)
        item = ddb.get_item(TableName=indexed.table, Key={"slug": {"S": rec.slug}})["Item"]
        assert (LIVE in item) is (status != "destroyed"), status
        assert [r.slug for r in indexed.live()] == ([] if status == "destroyed" else [rec.slug]), status


def test_a_table_without_the_index_is_read_whole_with_a_warning_naming_bootstrap(old_table):
    _fill(old_table, 20)
    live = old_table.live()
    assert live == _by_scan(old_table)
    assert old_table.index_status() == "missing"
    (warning,) = live.warnings
    assert old_table.table in warning and "provisioner bootstrap" in warning and "missing" in warning


def test_a_missing_table_reads_as_no_live_environments(moto_url):
    reg = Registry(Aws(region="us-east-1", endpoint=moto_url), "never-bootstrapped-idx")
    assert reg.live() == [] and not reg.live().warnings and reg.index_status() is None


def test_bootstrap_adds_the_index_and_indexes_records_an_older_version_wrote(old_table, moto_url):
    recs = _fill(old_table, 30)
    ddb = aws_client(moto_url, "dynamodb")
    # what an older version wrote: the same items without the `live` attribute
    for rec in recs[:10]:
        ddb.update_item(
            TableName=old_table.table,
            Key={"slug": {"S": rec.slug}},
            UpdateExpression="REMOVE #l",
            ExpressionAttributeNames={"#l": LIVE},
        )
    ddb.put_item(
        TableName=old_table.table,
        Item={"slug": {"S": "junk"}, "version": {"N": "1"}, "record": {"S": "{oops"}},
    )
    before = _by_scan(old_table)
    done = liveindex.ensure_live_index(old_table._ddb, old_table.table)
    older_live = sum(1 for r in recs[:10] if r.status != "destroyed")
    assert done == [
        f"added the index 'live' of live records to table {old_table.table}",
        f"indexed {older_live} live records of table {old_table.table} written by an older version",
    ]
    live = old_table.live()
    assert live == before == _by_scan(old_table)
    assert not [w for w in live.warnings if "no usable index" in w]
    # a destroyed record stays out; an unreadable item is left alone (reads warn about it by its slug)
    junk = ddb.get_item(TableName=old_table.table, Key={"slug": {"S": "junk"}})["Item"]
    assert LIVE not in junk
    assert liveindex.ensure_live_index(old_table._ddb, old_table.table) == []  # idempotent


def test_the_upgrade_leaves_a_record_destroyed_by_an_older_version_out(old_table, moto_url):
    rec = old_table.put(Record(slug="u-7654321", branch="u", status="ready"), expected=None)
    ddb = aws_client(moto_url, "dynamodb")
    item = ddb.get_item(TableName=old_table.table, Key={"slug": {"S": rec.slug}})["Item"]
    stale = {**item, "version": {"N": "0"}}
    stale.pop(LIVE)
    ddb.put_item(TableName=old_table.table, Item=stale)  # an older version wrote it live ...
    ddb.update_table(
        TableName=old_table.table,
        AttributeDefinitions=[LIVE_ATTRIBUTE],
        GlobalSecondaryIndexUpdates=[{"Create": LIVE_INDEX}],
    )
    moved = {
        **item,
        "version": {"N": "5"},
        "record": {"S": json.dumps({**json.loads(item["record"]["S"]), "status": "destroyed"})},
    }
    moved.pop(LIVE)
    ddb.put_item(TableName=old_table.table, Item=moved)  # ... and then destroyed it
    assert liveindex.index_unmarked(ddb, old_table.table) == 0
    assert old_table.live() == []


def test_cleanup_never_plans_a_state_without_record_for_a_live_record_the_index_misses(
    tmp_path, moto_url, provider_mirror
):
    """A stack whose record is live but not in the index (written by an older version) has a state:
    the plan reads its record consistently and plans it as any other (here: expired), with a warning;
    a state whose record is really gone is still "state without record"."""
    from projects import write_project

    from provisioner import config
    from provisioner.state import backend
    from provisioner.usecases import cleanup, runtime

    cfg = write_project(tmp_path / "unindexed", moto_url, provider_mirror)
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)  # bootstraps: table with index
    assert rt.registry.index_status() == "ACTIVE"
    ddb, s3 = aws_client(moto_url, "dynamodb"), aws_client(moto_url, "s3")
    old = rt.registry.put(
        Record(
            slug="old-1111111",
            branch="old",
            status="ready",
            created_at=1.0,
            fixed_expires_at=2.0,
            active_at=1.0,
        ),
        expected=None,
    )
    ddb.update_item(
        TableName=rt.registry.table,
        Key={"slug": {"S": old.slug}},
        UpdateExpression="REMOVE #l",
        ExpressionAttributeNames={"#l": LIVE},
    )
    for slug in (old.slug, "gone-2222222"):
        loc = backend.location(rt.settings, slug)
        s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=b"{}")
    plan = cleanup.plan_cleanup(rt)
    reasons = {i.slug: i.reason for i in plan.items}
    assert reasons == {old.slug: "expired", "gone-2222222": "state without record"}
    assert any(old.slug in w and "not in the index" in w for w in plan.warnings), plan.warnings
