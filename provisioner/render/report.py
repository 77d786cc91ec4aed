"""The rendered variables as a file, and the differences from production as a table."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provisioner.domain.difference import UNSET, Difference
from provisioner.render.model import Rendered
from provisioner.render.paths import leaf_changes
from provisioner.support.text import one_line

DIFFERENCES_TEMPLATE = "differences.txt.j2"
REPORT_VALUE_WIDTH = 40


def write_tfvars(rendered: Rendered, path: str | os.PathLike) -> Path:
    """Write ``rendered.tfvars`` as JSON, mode 0600, atomically (temp file + rename)."""
    from provisioner.support.files import write_private_json

    return write_private_json(path, rendered.tfvars)


def _show(value: Any, mask: str | None, unset: str, width: int = REPORT_VALUE_WIDTH) -> str:
    """A value as one line of compact JSON, non-printable characters escaped, elided past ``width``."""
    if value is UNSET:
        return unset
    if mask:
        return mask
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    if len(text) <= width:
        return text
    return text[:width - 1] + f"… (+{len(text) - width + 1} characters; diff --json shows all)"


def _parts(d: Difference) -> list[tuple[str, Any, Any]]:
    """A difference path by path: objects and lists that both sides hold are walked to what changed."""
    nested = all(isinstance(v, dict | list) for v in (d.production, d.staging))
    if d.mask("production") or d.mask("staging") or not nested:
        return [(d.variable, d.production, d.staging)]
    return leaf_changes(d.production, d.staging, d.variable) or [(d.variable, d.production, d.staging)]


def _is_part(path: str) -> bool:
    return "." in path or "[" in path


def format_differences(rendered: Rendered) -> str:
    """The differences as a fixed-width text table (templates/differences.txt.j2)."""
    from provisioner.support.templating import render_template

    with_origin = any(d.origin for d in rendered.differences)
    columns = ("variable", "production", *(("from",) if with_origin else ()), "staging", "rule", "reason")
    rows = [{"variable": one_line(path), "from": os.path.basename(d.origin) or "-",
             "production": _show(production, d.mask("production"), "(not set)"),
             "staging": _show(staging, d.mask("staging"), "(removed)" if _is_part(path) else
                              "(module default)"), "rule": d.rule,
             "reason": one_line(d.reason)}
            for d in rendered.differences for path, production, staging in _parts(d)]
    headers = {column: column for column in columns}
    widths = {column: max([len(headers[column])] + [len(row[column]) for row in rows]) for column in columns}
    dashes = {column: "-" * widths[column] for column in columns}
    return render_template(DIFFERENCES_TEMPLATE, columns=columns, headers=headers, dashes=dashes, rows=rows,
                           widths=widths, digest=rendered.digest)


def format_data_differences(rows: Sequence[Any]) -> str:
    """The datasets as data differences from production (``dataset``, ``production``, ``staging``,
    ``reason`` attributes; provisioner.data.DataDifference), a fixed-width table like the above."""
    if not rows:
        return ""
    columns = ("dataset", "production", "staging", "reason")
    cells = [[one_line(str(getattr(r, c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["data differences from production (staging never holds real customer data):",
             "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)
