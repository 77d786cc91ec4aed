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
