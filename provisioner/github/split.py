"""A comment body too long for one GitHub comment -> several, as Atlantis does: every row is kept.

GitHub refuses a comment body over 65,536 characters. ``split_body`` cuts between lines, never
inside one row; a continuation starts with its own marker and heading, reopens the ``<details>``
block and repeats the header of the table it was cut in, so every part renders on its own.
"""

from __future__ import annotations

from collections.abc import Callable

CONTINUED = "\n_Continued in the next comment._\n"


def _units(body: str) -> list[str]:
    """Lines, with a table's header and separator kept together as one unit."""
    lines = body.split("\n")
    units: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        starts_table = (line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---")
                        and not (units and units[-1].startswith("|")))
        if starts_table:
            units.append(line + "\n" + lines[i + 1])
            i += 2
        else:
            units.append(line)
            i += 1
    return units


def _context(unit: str, details: str | None, header: str | None) -> tuple[str | None, str | None]:
    """The ``<details>`` opener and the table header in force after ``unit``."""
    if unit.startswith("<details>"):
        details = unit
    elif unit.startswith("</details>"):
        details = None
    if unit.startswith("|") and "\n|---" in unit:
        header = unit
    elif not unit.startswith("|"):
        header = None
    return details, header


def _close(details: str | None) -> str:
    return ("\n</details>\n" if details else "") + CONTINUED


def split_body(body: str, limit: int, heading: Callable[[int], str]) -> list[str]:
    """``body`` as one or more comments of at most ``limit`` characters. ``heading(n)`` starts part n
    (its marker first). A single line longer than a part is cut, with a note."""
    if len(body) <= limit:
        return [body]
    parts: list[str] = []
    units = _units(body)
    current: list[str] = []
    size = 0
    details: str | None = None
    header: str | None = None
    reserve = len(_close("x")) + 1
    for unit in units:
        if current and size + len(unit) + 1 + reserve > limit:
            parts.append("\n".join(current) + _close(details))
            current = [heading(len(parts) + 1)]
            if details:
                current += [details.replace("</summary>", " (continued)</summary>", 1), ""]
            if header and unit.startswith("|") and "\n|---" not in unit:
                current.append(header)
            size = sum(len(u) + 1 for u in current)
        room = limit - size - reserve - 1
        if len(unit) > room:
            unit = unit[: max(0, room - 40)] + " … (line cut: too long for a comment)"
        current.append(unit)
        size += len(unit) + 1
        details, header = _context(unit, details, header)
    parts.append("\n".join(current))
    return parts
