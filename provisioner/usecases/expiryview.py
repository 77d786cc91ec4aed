"""A record's expiry as people read it: which clock applies, and whether a request was capped."""

from __future__ import annotations

import time
from typing import Any

from provisioner.config import Settings
from provisioner.domain import expiry
from provisioner.domain.record import Record


def expiry_policy(settings: Settings) -> expiry.Policy:
    """As ``usecases.stacks.expiry_policy``, without its imports: ``list`` stays quick."""
    st = settings.stacks
    return expiry.Policy(st.default_ttl_seconds, st.max_ttl_seconds, st.idle_ttl_seconds)


def clocks_of(settings: Settings, rec: Record) -> expiry.Clocks:
    return expiry.clocks(rec.fixed_expiry, rec.active_at, rec.created_at, rec.keep, rec.live,
                         expiry_policy(settings))


def expires_text(settings: Settings, rec: Record, now: float | None = None) -> str:
    """'in 23h59m (idle; 47h59m at most)'; '-' for a destroyed stack."""
    return expiry.describe(clocks_of(settings, rec), time.time() if now is None else now)


def expiry_view(settings: Settings, rec: Record) -> dict[str, Any]:
    """The JSON form: which clock applies and both clocks (Unix seconds; null where none)."""
    c = clocks_of(settings, rec)
    return {"applies": c.applies, "expires_at": c.effective, "fixed_expires_at": c.fixed,
            "idle_expires_at": c.idle}


def capped_note(settings: Settings, rec: Record, asked: str | None, flag: str) -> str | None:
    """'--ttl 300h was capped: ...' when the asked-for lifetime ran into stacks.max_ttl."""
    if asked is None or not rec.live or rec.keep:
        return None
    if not expiry.at_cap(rec.fixed_expiry, rec.created_at, expiry_policy(settings)):
        return None
    return (f"{flag} {asked} was capped: a stack lives at most stacks.max_ttl "
            f"({expiry.span(settings.stacks.max_ttl_seconds)}) from its creation "
            f"(set in {settings.source})")
