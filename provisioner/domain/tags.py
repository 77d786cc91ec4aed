"""The tags every stack resource carries (through provider default_tags)."""

from __future__ import annotations

from datetime import UTC, datetime

from provisioner.domain.naming import StackId, tag_value

MANAGED_BY = "managed-by"
MANAGED_BY_VALUE = "staging-provisioner"
STACK = "staging:stack"
BRANCH = "staging:branch"
PR = "staging:pr"
OWNER = "staging:owner"
EXPIRES_AT = "staging:expires-at"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_tags(stack: StackId, *, pr: int | None, owner: str, expires_at: float | None) -> dict[str, str]:
    """Tag values are sanitised: branch names and owners come from strangers."""
    return {
        MANAGED_BY: MANAGED_BY_VALUE,
        STACK: stack.slug,
        BRANCH: tag_value(stack.branch) or "-",
        PR: str(pr) if pr is not None else "none",
        OWNER: tag_value(owner) or "unknown",
        EXPIRES_AT: iso(expires_at) if expires_at is not None else "kept",
    }
