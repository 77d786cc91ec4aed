"""How commands print: results on stdout (text or one JSON document), messages on stderr."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import click


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
