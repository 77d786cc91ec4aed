"""The nightly audit (``cleanup``): health and drift of every applied stack the cleanup keeps, as
report items of its plan, and the report of the night (``cleanup --report FILE``, Markdown; the
same as data in ``cleanup --json`` under ``audit``).

Failing health and drift are reported, never destroyed: a stack that fails its checks stays for
its owner to debug, and drift is healed by ``drift --fix``, not by the cleanup.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from provisioner.domain.record import Record
from provisioner.errors import ProvisionerError
from provisioner.health import (
    AuditReport,
    CleanupEntry,
    HealthReport,
    ReportRow,
    render_json,
    render_markdown,
)
from provisioner.support.files import write_private_text
from provisioner.usecases import drift as drifting
from provisioner.usecases import health
from provisioner.usecases.cleanup import REPORT, TEARDOWN, Item, Plan
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime


@dataclass(frozen=True)
class Findings:
    """What the audit found per stack: slug -> health report, slug -> drift (None: not checked)."""

    records: tuple[Record, ...] = ()      # the applied stacks the cleanup keeps
    health: dict[str, HealthReport] = field(default_factory=dict)
    drift: dict[str, drifting.StackDrift] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)


def kept(rt: Runtime, plan: Plan) -> list[Record]:
    """The applied stacks the plan does not tear down, read with their outputs."""
    going = {i.slug for i in plan.items if i.action == TEARDOWN}
    return [r for r in drifting.applied(rt.registry.all()) if r.slug not in going]


def _cost(rt: Runtime, rec: Record) -> float | None:
    from provisioner.usecases.preview import cost_of

    try:
        return float(cost_of(rt.settings, rec.branch, rec).staging.hourly)
    except (ProvisionerError, ValueError, TypeError):
        return None


def inspect(rt: Runtime, plan: Plan, reporter: Reporter, *, with_drift: bool = True) -> Findings:
    """Health checks (threads: they wait on the network) and drift (a process per stack)."""
    records = kept(rt, plan)
    if not records:
        return Findings()
    reporter.step(f"health of {len(records)} stacks" + (" and their drift" if with_drift else ""))
    with ThreadPoolExecutor(max_workers=max(1, rt.settings.cleanup.parallel)) as pool:
        reports = dict(zip((r.slug for r in records), pool.map(lambda r: health.check(rt, r), records),
                           strict=True))
    drifts = ({d.slug: d for d in drifting.drift_all(rt, records, reporter)} if with_drift else {})
    costs = {r.slug: c for r in records if (c := _cost(rt, r)) is not None}
    return Findings(tuple(records), reports, drifts, costs)


def _reasons(slug: str, found: Findings) -> list[str]:
    out = []
    report = found.health.get(slug)
    if report is not None and report.status == "failing":
        out.append("health failing: " + ", ".join(f"{c.name} ({c.detail[:160]})" for c in report.failed))
    d = found.drift.get(slug)
    if d is not None and d.error:
        out.append(f"drift not checked: {d.error[:120]}")
    elif d is not None and d.drifted:
        n = len(d.drifted)
        out.append(f"drift: {n} {'resource' if n == 1 else 'resources'} changed outside Terraform")
    return out


def with_findings(plan: Plan, found: Findings) -> Plan:
    """The plan with one report item per finding (failing health, drift)."""
    extra = [Item(r.slug, r.branch, REPORT, why) for r in found.records for why in _reasons(r.slug, found)]
    return replace(plan, items=plan.items + tuple(extra))


def _row(rec: Record, found: Findings, actions: dict[str, str]) -> ReportRow:
    report = found.health.get(rec.slug)
    d = found.drift.get(rec.slug)
    cfg: dict[str, Any] = d.config_drift if d else {}
    return ReportRow(
        slug=rec.slug, branch=rec.branch, owner=rec.owner, status=rec.status, created_at=rec.created_at,
        expires_at=rec.expires_at, pr=rec.pr,
        health=report.status if report else rec.health_status,
        failing_checks=tuple(c.name for c in report.failed) if report else tuple(rec.failing_checks),
        drifted=None if d is None or d.error else bool(d.drifted),
        drifted_resources=tuple(str(r["address"]) for r in d.drifted) if d else (),
        changed_variables=tuple(cfg.get("changed", ())) + tuple(cfg.get("added", ())),
        cost_per_hour=found.costs.get(rec.slug), cleanup=actions.get(rec.slug, ""))


def build(rt: Runtime, plan: Plan, found: Findings, *, dry_run: bool) -> AuditReport:
    """Every live stack (as the registry has it now) with what the audit found and what was done."""
    actions: dict[str, str] = {}
    for i in plan.items:
        if i.action == TEARDOWN:
            verb = "would tear down" if dry_run else f"teardown {i.result}"
            actions[i.slug] = f"{verb}: {i.reason}"
    live = [r for r in rt.registry.all(without=("outputs",)) if r.live or r.slug in actions]
    entries = tuple(CleanupEntry(i.slug, i.branch, i.action, i.reason, i.result, i.error) for i in plan.items)
    return AuditReport(time.time(), tuple(_row(r, found, actions) for r in live), entries, plan.warnings)


def write(path: str, report: AuditReport) -> None:
    write_private_text(path, render_markdown(report))


def as_json(report: AuditReport) -> dict[str, Any]:
    return render_json(report)
