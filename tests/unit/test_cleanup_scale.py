"""The nightly plan over many records: what it decides for each record is what deciding that record
alone gives (the plan shares work across records: the dataset tables parsed once, each export read
once), over a few thousand fabricated records of every kind."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from provisioner import config
from provisioner.aws.clients import Aws
from provisioner.data import source_changed
from provisioner.domain.record import Record
from provisioner.usecases import cleanup
from provisioner.usecases.data import datasets, refresh_checker, refresh_item
from provisioner.usecases.runtime import Runtime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from projects import write_project  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0
H = 3600.0


def _runtime(tmp_path: Path) -> Runtime:
    cfg = write_project(
        tmp_path / "nightly", "http://127.0.0.1:9", REPO / ".provisioner" / "provider-mirror", data=True
    )
    settings = config.load(str(cfg))
    return Runtime(
        settings=settings, aws=Aws(region="us-east-1", endpoint="http://127.0.0.1:9"), endpoint=None
    )


def _records(n: int, rt: Runtime) -> list[Record]:
    rng = random.Random(5)
    orders = datasets(rt).get("orders")
    out = []
    for i in range(n):
        created = NOW - rng.uniform(0, 72 * H)
        status = rng.choice(
            ["ready", "ready", "ready", "failed", "unhealthy", "creating", "destroying", "destroyed"]
        )
        digest = rng.choice(["stale", "sha256:" + "0" * 64, None])
        loaded = (
            {
                "orders": {
                    "dataset": "orders",
                    "digest": "d",
                    "kind": orders.kind,
                    "store": "dynamodb:t",
                    "rows": 1,
                    "source_digest": digest,
                    "seed": "0",
                    "content_digest": "c",
                    "loaded_at": created,
                    "load_seconds": 0.1,
                }
            }
            if digest
            else {}
        )
        out.append(
            Record(
                slug=f"s{i:05d}-0000000",
                branch=f"b/{i}",
                status=status,
                created_at=created,
                updated_at=created + rng.uniform(0, 48 * H),
                fixed_expires_at=created + 48 * H,
                active_at=created + rng.uniform(0, 24 * H),
                keep=rng.random() < 0.05,
                pr=rng.randint(1, 50) if rng.random() < 0.6 else None,
                digest=rng.choice(["a", "b"]),
                error="boom" if status == "failed" else "",
                data=loaded,
            )
        )
    return out


def _alone(rt: Runtime, rec: Record, states: set[str], prs: dict[int, str]) -> list[tuple[str, str]]:
    """The plan of a one-record registry, without the orphans."""
    plan = cleanup.plan_cleanup(
        rt,
        now=NOW,
        records=[rec],
        state_slugs=states & {rec.slug},
        pr_state=prs.__getitem__,
        current_digest="a",
    )
    return [(i.action, i.reason) for i in plan.items]


def test_the_plan_of_thousands_is_each_records_own_plan(tmp_path):
    rt = _runtime(tmp_path)
    records = _records(3000, rt)
    rng = random.Random(9)
    states = {r.slug for r in records if rng.random() < 0.9} | {f"orphan{i}-0000000" for i in range(7)}
    prs = {pr: rng.choice(["open", "closed", "merged", "gone"]) for pr in range(1, 51)}
    plan = cleanup.plan_cleanup(
        rt, now=NOW, records=records, state_slugs=states, pr_state=prs.__getitem__, current_digest="a"
    )
    by_slug: dict[str, list[tuple[str, str]]] = {}
    for item in plan.items:
        by_slug.setdefault(item.slug, []).append((item.action, item.reason))
    for rec in records:
        assert by_slug.get(rec.slug, []) == _alone(rt, rec, states, prs), rec
    dead = {r.slug for r in records if not r.live} & states  # a state left by a destroyed record
    assert sorted(s for s, v in by_slug.items() if v == [("teardown", "state without record")]) == sorted(
        {f"orphan{i}-0000000" for i in range(7)} | dead
    )
    kinds = {reason.split(":")[0].split(" ")[0] for v in by_slug.values() for _, reason in v}
    assert {"expired", "idle", "failed", "PR", "record", "state", "config", "data"} <= kinds, kinds


def test_one_export_read_for_many_stacks_gives_each_the_same_answer(tmp_path):
    rt = _runtime(tmp_path)
    records = [r for r in _records(400, rt) if r.data]
    check = refresh_checker(rt)
    for rec in records:
        assert check(rec) == refresh_item(rt, rec)
    orders = datasets(rt).get("orders")
    seen: dict = {}
    from provisioner.data import from_record

    versions = [from_record(r.data)["orders"] for r in records]
    assert [source_changed(orders, v, None, seen) for v in versions] == [
        source_changed(orders, v, None) for v in versions
    ]
    assert list(seen) == ["orders"]  # read once


def test_an_unreadable_export_is_reported_for_each_stack_that_loaded_it(tmp_path):
    rt = _runtime(tmp_path)
    text = rt.settings.source
    cfg = Path(text)
    cfg.write_text(
        cfg.read_text().replace("production-sample/orders.jsonl", "production-sample/missing.jsonl")
    )
    rt = Runtime(settings=config.load(str(cfg)), aws=rt.aws, endpoint=None)
    check = refresh_checker(rt)
    with_data = [r for r in _records(50, rt) if r.data]
    answers = [check(r) for r in with_data]
    assert answers and all(a is not None and a[0] == "report" and "missing.jsonl" in a[1] for a in answers)
