"""How commands print: results on stdout (text or one JSON document), messages on stderr."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from provisioner.domain.record import Record


def err(message: str) -> None:
    click.echo(message, err=True)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"


def until(ts: float | None) -> str:
    if ts is None:
        return "-"
    left = ts - time.time()
    return "expired" if left <= 0 else f"in {age(left)}"


def counts(changes: Any) -> str:
    if changes is None:
        return "no changes computed"
    return f"{changes.add} to add, {changes.change} to change, {changes.remove} to destroy"


def table(rows: Sequence[Sequence[str]]) -> None:
    """Rows of cells in columns as wide as their widest cell; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def health_cell(rec: Record) -> str:
    """One word for a table: passing, failing (N), unchecked; tests appended when they failed."""
    failing = rec.failing_checks
    cell = f"failing ({len(failing)})" if failing else rec.health_status
    return cell + (", tests failed" if rec.tests_status == "failed" else "")


def health_lines(rec: Record) -> list[str]:
    """``status``: health, each failed check and why, and the last test run."""
    lines = [f"health:   {rec.health_status}"]
    lines += [f"  FAIL {c.get('name')}: {c.get('detail')}" for c in rec.health.get("checks", [])
              if c.get("ok") is False]
    if rec.tests:
        t = rec.tests
        lines.append(f"tests:    {rec.tests_status} ({t.get('command')}, exit {t.get('exit_code')}, "
                     f"{t.get('duration')}s)")
        if rec.tests_status == "failed":
            lines += ["  " + line for line in str(t.get("output_tail", "")).strip().splitlines()[-10:]]
    return lines
