"""The nightly cleanup: compute a plan (which stacks, and why), then carry it out.

Reasons a stack is torn down: expired, idle, PR closed / merged / gone, failed for
longer than ``cleanup.failed_after``, record without state, state without record.
Config drift (the baseline or overrides changed since the last apply) is reported,
never destroyed. Teardowns run with bounded parallelism, each in its own process
(``provisioner teardown --stack SLUG --json``), and the run goes on past failures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

from provisioner.domain.record import Record
from provisioner.state import backend
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import expiry_reason

TEARDOWN, REPORT = "teardown", "report"
PrState = Callable[[int], str]   # PR number -> "open" | "closed" | "merged" | "gone"


@dataclass(frozen=True)
class Item:
    slug: str
    branch: str
    action: str            # teardown | report
    reason: str
    result: str = "planned"  # planned | done | failed | skipped
    duration: float = 0.0
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    items: tuple[Item, ...]
    warnings: tuple[str, ...] = ()

    @property
    def teardowns(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.action == TEARDOWN)


def _pr_reason(rec: Record, pr_state: PrState | None) -> str | None:
    if pr_state is None or rec.pr is None:
        return None
    state = pr_state(rec.pr)
    return None if state == "open" else f"PR #{rec.pr} {state}"


def _record_reason(rt: Runtime, rec: Record, now: float, states: set[str],
                   pr_state: PrState | None) -> tuple[str, str] | None:
    """(action, reason) for one live record, or None when it stays as it is."""
    failed_after = rt.settings.cleanup.failed_after_seconds
    if rec.status == "failed" and now - rec.updated_at >= failed_after:
        return TEARDOWN, f"failed {int((now - rec.updated_at) // 3600)}h ago: {rec.error[:80]}"
    why = expiry_reason(rt, rec, now)
    if why == "expired":
        return TEARDOWN, "expired"
    if why == "idle":
        return TEARDOWN, f"idle for {rt.settings.stacks.idle_ttl}"
    pr = _pr_reason(rec, pr_state)
    if pr:
        return TEARDOWN, pr
    if rec.status in ("ready", "failed") and rec.slug not in states:
        return TEARDOWN, "record without state"
    return None


def plan_cleanup(rt: Runtime, *, now: float | None = None, pr_state: PrState | None = None,
                 current_digest: str | None = None, records: list[Record] | None = None,
                 state_slugs: set[str] | None = None) -> Plan:
    """What the nightly job would do, and why. Reads the registry and the state bucket; writes nothing."""
    now = now if now is not None else time.time()
    records = records if records is not None else rt.registry.all(without=("outputs",))
    states = state_slugs if state_slugs is not None else backend.state_slugs(rt.aws, rt.settings)
    items: list[Item] = []
    live = {r.slug for r in records if r.live}
    for rec in (r for r in records if r.live):
        if rec.busy and now - rec.updated_at < rt.settings.stacks.lease_ttl_seconds:
            continue  # another run is at work on it right now
        decided = _record_reason(rt, rec, now, states, pr_state)
        if decided:
            items.append(Item(rec.slug, rec.branch, *decided))
        elif current_digest and rec.digest and rec.digest != current_digest and rec.status == "ready":
            items.append(Item(rec.slug, rec.branch, REPORT, "config drift: baseline or overrides changed "
                                                            "since the last apply"))
    for slug in sorted(states - live):
        items.append(Item(slug, "(no record)", TEARDOWN, "state without record"))
    warnings = () if pr_state else ("PR state not checked: no GitHub token configured",)
    return Plan(tuple(items), warnings)


def _teardown_in_process(config: str, slug: str, env: dict[str, str]) -> tuple[bool, str]:
    argv = [sys.executable, "-m", "provisioner", "--config", config, "teardown", "--stack", slug, "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        return True, ""
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("error:")] or \
        proc.stderr.strip().splitlines()[-3:]
    return False, "\n".join(lines)[:2000] or f"exit {proc.returncode}"


def execute(rt: Runtime, plan: Plan, *, parallel: int,
            on_done: Callable[[Item], None] = lambda item: None) -> Plan:
    """Carry out the plan's teardowns, ``parallel`` at a time, each in its own process."""
    env = {**os.environ, "PROVISIONER_CONFIG": rt.settings.source}

    def run(item: Item) -> Item:
        if item.action != TEARDOWN:
            return replace(item, result="skipped")
        started = time.monotonic()
        ok, error = _teardown_in_process(rt.settings.source, item.slug, env)
        took = round(time.monotonic() - started, 2)
        done = replace(item, result="done" if ok else "failed", duration=took, error=error)
        on_done(done)
        return done

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        results = list(pool.map(run, plan.items))
    return replace(plan, items=tuple(results))


def report_json(plan: Plan, *, dry_run: bool) -> str:
    return json.dumps({"dry_run": dry_run, "warnings": list(plan.warnings),
                       "stacks": [i.to_json() for i in plan.items],
                       "failed": sum(1 for i in plan.items if i.result == "failed")},
                      indent=2, sort_keys=True)
