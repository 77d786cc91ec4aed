"""The nightly audit report (``cleanup --report FILE``): every live stack by owner, with age,
expiry, health, drift, cost and data freshness, and what the cleanup did.

Input is plain rows (``ReportRow``, ``CleanupEntry``) that the cleanup use case fills from
registry records and its own results, so this module knows nothing of the registry. The
Markdown goes through ``templates/audit_report.md.j2``; every string a stranger controls
(branch, owner, reasons, errors, check names) is escaped in Python before the template lays it
out, so a branch called ``[x](https://evil)`` or ``@org/team`` stays text. The JSON form has the
same content, unescaped, with times as Unix seconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import Any

from provisioner.support.markdown import escape
from provisioner.support.templating import render_template

TEMPLATE = "audit_report.md.j2"
DATA_STALE_AFTER = 7 * 86400


@dataclass(frozen=True)
class ReportRow:
    """One live stack. ``drifted`` None: drift was not checked; ``expires_at`` None: kept."""

    slug: str
    branch: str
    owner: str
    status: str
    created_at: float
    expires_at: float | None
    pr: int | None = None
    health: str = "unchecked"                 # passing | failing | unchecked
    failing_checks: tuple[str, ...] = ()
    drifted: bool | None = None
    drifted_resources: tuple[str, ...] = ()
    changed_variables: tuple[str, ...] = ()   # configuration drift
    cost_per_hour: float | None = None
    dataset: str | None = None                # dataset name and version the stores were seeded with
    seeded_at: float | None = None
    cleanup: str = ""                         # what the cleanup did to it, if anything


@dataclass(frozen=True)
class CleanupEntry:
    """One stack the cleanup acted on (the cleanup's own JSON ``stacks`` entries)."""

    slug: str
    branch: str
    action: str        # teardown | report
    reason: str
    result: str        # planned | done | failed | skipped
    error: str = ""


@dataclass(frozen=True)
class AuditReport:
    generated_at: float
    rows: tuple[ReportRow, ...] = ()
    cleanup: tuple[CleanupEntry, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def duration_text(seconds: float) -> str:
    """3700 -> '1h 1m'; two units at most, for a table cell."""
    seconds = int(max(seconds, 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _expiry(row: ReportRow, now: float) -> str:
    if row.expires_at is None:
        return "kept"
    left = row.expires_at - now
    return f"in {duration_text(left)}" if left >= 0 else f"**overdue** {duration_text(-left)}"


def _health(row: ReportRow) -> str:
    icon = {"passing": "✅", "failing": "❌"}.get(row.health, "➖")
    failed = f" ({', '.join(escape(n, 60) for n in row.failing_checks[:5])})" if row.failing_checks else ""
    return f"{icon} {escape(row.health, 20)}{failed}"


def _drift(row: ReportRow) -> str:
    parts = []
    if row.drifted is None:
        parts.append("not checked")
    elif row.drifted:
        shown = ", ".join(escape(a, 80) for a in row.drifted_resources[:3])
        more = f" +{len(row.drifted_resources) - 3}" if len(row.drifted_resources) > 3 else ""
        count = len(row.drifted_resources)
        parts.append(f"⚠️ {count} {'resource' if count == 1 else 'resources'}: {shown}{more}")
    else:
        parts.append("none")
    if row.changed_variables:
        parts.append("inputs changed: " + ", ".join(escape(v, 60) for v in row.changed_variables[:5]))
    return "; ".join(parts)


def _freshness(row: ReportRow, now: float) -> str:
    if row.seeded_at is None:
        return "-"
    age = now - row.seeded_at
    stale = "⚠️ " if age > DATA_STALE_AFTER else ""
    name = f"{escape(row.dataset, 60)}, " if row.dataset else ""
    return f"{stale}{name}seeded {duration_text(age)} ago"


def _slug(slug: str) -> str:
    """Slugs are [a-z0-9-] (domain.naming): shown as code; anything else is escaped text."""
    return f"`{slug}`" if re.fullmatch(r"[a-z0-9-]{1,63}", slug) else escape(slug, 80)


def _cells(row: ReportRow, now: float) -> dict[str, str]:
    return {
        "stack": _slug(row.slug),
        "branch": escape(row.branch) + (f" (#{int(row.pr)})" if row.pr is not None else ""),
        "status": escape(row.status, 20),
        "age": duration_text(now - row.created_at),
        "expiry": _expiry(row, now),
        "health": _health(row),
        "drift": _drift(row),
        "cost": f"${row.cost_per_hour:.2f}/h" if row.cost_per_hour is not None else "-",
        "data": _freshness(row, now),
        "cleanup": escape(row.cleanup) if row.cleanup else "-",
    }


def _owner_key(row: ReportRow) -> str:
    return row.owner or "unknown"


def view(report: AuditReport) -> dict[str, Any]:
    """Everything the template shows, escaped: owners (sorted) with their stacks (oldest first)."""
    now = report.generated_at
    rows = sorted(report.rows, key=lambda r: (_owner_key(r), r.created_at))
    owners = [{"owner": escape(owner, 80), "stacks": [_cells(r, now) for r in group]}
              for owner, group in groupby(rows, key=_owner_key)]
    costs = [r.cost_per_hour for r in report.rows if r.cost_per_hour is not None]
    return {
        "generated": _iso(now),
        "owners": owners,
        "live": len(report.rows),
        "failing": sum(1 for r in report.rows if r.health == "failing"),
        "drifted": sum(1 for r in report.rows if r.drifted or r.changed_variables),
        "cost": f"${sum(costs):.2f}/h" if costs else "-",
        "cleanup": [{"stack": _slug(c.slug), "branch": escape(c.branch), "action": escape(c.action, 20),
                     "reason": escape(c.reason), "result": escape(c.result, 20),
                     "error": escape(c.error, 500) if c.error else ""} for c in report.cleanup],
        "warnings": [escape(w, 500) for w in report.warnings],
    }


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_markdown(report: AuditReport) -> str:
    return render_template(TEMPLATE, **view(report))


def render_json(report: AuditReport) -> dict[str, Any]:
    """The same report as data: raw values (not escaped), plus derived ages."""
    now = report.generated_at

    def row(r: ReportRow) -> dict[str, Any]:
        data = asdict(r)
        data["age_seconds"] = int(now - r.created_at)
        data["expires_in_seconds"] = None if r.expires_at is None else int(r.expires_at - now)
        return data

    return {"generated_at": now, "stacks": [row(r) for r in sorted(report.rows, key=_owner_key)],
            "cleanup": [asdict(c) for c in report.cleanup], "warnings": list(report.warnings)}


def rows_by_owner(rows: Sequence[ReportRow]) -> dict[str, list[ReportRow]]:
    """Owner -> their stacks, oldest first (for a board or a per-owner notice)."""
    out: dict[str, list[ReportRow]] = {}
    for r in sorted(rows, key=lambda r: r.created_at):
        out.setdefault(_owner_key(r), []).append(r)
    return out
