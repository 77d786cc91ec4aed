"""Names people mistype: the live stacks nearest to a branch (or stack id) that matched nothing."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from provisioner.domain.record import Record


def nearest(wanted: str, records: Iterable[Record], *, limit: int = 3, cutoff: float = 0.6) -> list[Record]:
    """The live records whose branch (or slug) is closest to ``wanted``, best first (difflib ratio)."""
    live = [r for r in records if r.live]
    names: dict[str, Record] = {}
    for rec in live:
        names.setdefault(rec.branch, rec)
        names.setdefault(rec.slug, rec)
    found: list[Record] = []
    for name in difflib.get_close_matches(wanted, list(names), n=limit * 2, cutoff=cutoff):
        if names[name] not in found:
            found.append(names[name])
    return found[:limit]

