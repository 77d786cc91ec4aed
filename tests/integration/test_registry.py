"""The registry against the emulator over HTTP: conditional writes keep one writer per environment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provisioner.aws.clients import Aws
from provisioner.domain.record import Record
from provisioner.errors import EXIT_LOCKED
from provisioner.state.backend import ensure_table
from provisioner.state.registry import Registry, RegistryConflict

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(moto_url, request):
    aws = Aws(region="us-east-1", endpoint=moto_url)
    table = f"reg-{request.node.name[:40].replace('[', '-').replace(']', '')}"
    ensure_table(aws.client("dynamodb"), table, "slug")
    return Registry(aws, table)


def test_two_creates_of_one_environment_one_wins(registry):
    first = registry.put(Record(slug="s-1234567", branch="b", status="creating"), expected=None)
    assert first.version == 1
    with pytest.raises(RegistryConflict) as err:
        registry.put(Record(slug="s-1234567", branch="b", status="creating"), expected=None)
    assert err.value.exit_code == EXIT_LOCKED
    assert registry.get("s-1234567") == first


def test_stale_writer_loses(registry):
    rec = registry.put(Record(slug="s-7654321", branch="b"), expected=None)
    mine = registry.put(replace(rec, status="ready", outputs={"url": "x", "n": [1, 2]}), expected=rec)
    with pytest.raises(RegistryConflict):
        registry.put(replace(rec, status="failed"), expected=rec)  # read before `mine` was written
    stored = registry.get("s-7654321")
    assert stored.status == "ready" and stored.outputs == {"url": "x", "n": [1, 2]}
    assert stored.version == mine.version == 2


def test_round_trip_and_listing(registry):
    rec = Record(slug="a-1111111", branch="feature/ä", pr=7, owner="o", created_at=1.5, expires_at=9.25,
                 changes={"add": 3, "change": 0, "remove": 0})
    registry.put(rec, expected=None)
    registry.put(Record(slug="b-2222222", branch="x", created_at=0.5), expected=None)
    got = registry.get("a-1111111")
    assert (got.branch, got.pr, got.expires_at, got.changes) == ("feature/ä", 7, 9.25, rec.changes)
    assert [r.slug for r in registry.all()] == ["b-2222222", "a-1111111"]
    assert registry.get("missing-0000000") is None


def test_scan_without_bulky_fields_leaves_only_them_out(registry):
    full = Record(slug="c-3333333", branch="c", pr=3, owner="o", created_at=2.0, expires_at=5.0, keep=True,
                  status="ready", outputs={"url": "http://x"}, changes={"add": 1, "change": 0, "remove": 0})
    registry.put(full, expected=None)
    (slim,) = registry.all(without=("outputs",))
    assert slim.outputs == {}
    assert replace(slim, outputs=full.outputs, updated_at=0.0) == replace(full, version=1)
    with pytest.raises(ValueError, match="branch"):
        registry.all(without=("branch",))


def test_a_missing_table_reads_as_no_environments(moto_url):
    reg = Registry(Aws(region="us-east-1", endpoint=moto_url), "never-bootstrapped")
    assert reg.all() == [] and reg.get("a-1111111") is None
