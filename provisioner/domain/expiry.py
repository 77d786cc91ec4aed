"""Expiry arithmetic, pure: a fixed expiry and an idle expiry per environment.

- fixed: ``created + ttl``, never later than ``created + max_ttl``; ``extend`` moves it, capped.
- idle: ``idle_from + idle_ttl``; every spinup (and every extend) resets ``idle_from``.
- effective: the earlier of the two; ``None`` for a kept stack (exempt from expiry).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    default_ttl: int
    max_ttl: int
    idle_ttl: int


def fixed_expiry(created_at: float, now: float, ttl: int | None, policy: Policy,
                 current: float | None = None) -> float:
    """The fixed expiry after a spinup: kept unless a new ``ttl`` is asked for; always capped."""
    if current is not None and ttl is None:
        wanted = current
    else:
        wanted = now + (ttl if ttl is not None else policy.default_ttl)
    return min(wanted, created_at + policy.max_ttl)


def extended(created_at: float, current: float | None, now: float, by: int,
             policy: Policy) -> tuple[float, float]:
    """``extend --by``: (fixed expiry, idle clock start).

    The fixed expiry moves from the later of now and the current one, capped by max_ttl; the
    idle clock restarts so that idling does not end the stack before the extended expiry."""
    start = max(now, current or now)
    fixed = min(start + by, created_at + policy.max_ttl)
    return fixed, max(now, fixed - policy.idle_ttl)


def idle_expiry(idle_from: float | None, created_at: float, policy: Policy) -> float:
    return (idle_from or created_at) + policy.idle_ttl


def effective(fixed: float | None, idle_from: float | None, created_at: float, keep: bool,
              policy: Policy) -> float | None:
    if keep:
        return None
    idle = idle_expiry(idle_from, created_at, policy)
    return idle if fixed is None else min(fixed, idle)


def reason(fixed: float | None, idle_from: float | None, created_at: float, keep: bool, now: float,
           policy: Policy) -> str | None:
    """'expired' (fixed expiry passed), 'idle' (no spinup for idle_ttl), or None."""
    if keep:
        return None
    if fixed is not None and fixed <= now:
        return "expired"
    if idle_expiry(idle_from, created_at, policy) <= now:
        return "idle"
    return None


@dataclass(frozen=True)
class Clocks:
    """Which clock ends a stack, for people: ``applies`` is 'idle', 'fixed', 'kept' or 'destroyed'."""

    applies: str
    effective: float | None
    fixed: float | None
    idle: float | None


def clocks(fixed: float | None, idle_from: float | None, created_at: float, keep: bool, live: bool,
           policy: Policy) -> Clocks:
    if not live:
        return Clocks("destroyed", None, None, None)
    idle = idle_expiry(idle_from, created_at, policy)
    if keep:
        return Clocks("kept", None, fixed, idle)
    if fixed is not None and fixed <= idle:
        return Clocks("fixed", fixed, fixed, idle)
    return Clocks("idle", idle, fixed, idle)


def span(seconds: float) -> str:
    """45m, 23h59m, 47h59m, then 4d04h from 100 hours on (whole minutes, rounded down)."""
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 100 * 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600:02d}h"


def describe(c: Clocks, now: float) -> str:
    """'in 23h59m (idle; 47h59m at most)', 'in 5h00m (fixed; the end of its ttl)', 'never (kept)',
    'expired (idle)'; '-' for a destroyed stack (it has no expiry)."""
    if c.applies == "destroyed":
        return "-"
    if c.applies == "kept":
        return "never (kept)"
    assert c.effective is not None
    if c.effective <= now:
        return f"expired ({c.applies})"
    if c.applies == "idle":
        most = f"; {span(c.fixed - now)} at most" if c.fixed is not None else ""
        return f"in {span(c.effective - now)} (idle{most})"
    return f"in {span(c.effective - now)} (fixed: the end of its ttl)"


def at_cap(fixed: float | None, created_at: float, policy: Policy) -> bool:
    """The fixed expiry sits at created + max_ttl: a --ttl or extend --by asked for more was capped."""
    return fixed is not None and fixed >= created_at + policy.max_ttl - 1
