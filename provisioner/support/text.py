"""Text from elsewhere (Terraform's errors, reasons, variable paths) made safe for one table cell or
one line of a workflow: control characters become spaces, runs of whitespace one space."""

from __future__ import annotations


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` as one line of printable characters; cut to ``limit`` (ending in "…") when given."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if limit is None or len(flat) <= limit else flat[:limit - 1] + "…"
