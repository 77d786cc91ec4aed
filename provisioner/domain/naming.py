"""Branch name -> stack id.

A stack id is a lower-case slug of ``[a-z0-9-]``: a readable prefix taken from
the branch and a short hash of the *full* branch name, so two branches that
slug to the same prefix still get different ids. It starts with a letter (RDS,
ELB and friends insist), never has two hyphens in a row, never ends with one,
and is no longer than the configured limit. Deterministic: the same branch
always gives the same id.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from provisioner.errors import NamingError

HASH_LEN = 7
# "<slug>-<role>" must fit AWS's 32-character load balancer / target group
# names; modules keep roles to at most 7 characters ("-" + 7 = 8).
MAX_ROLE_LEN = 7
AWS_LB_NAME_LIMIT = 32
DEFAULT_NAME_LIMIT = AWS_LB_NAME_LIMIT - 1 - MAX_ROLE_LEN  # 24
MIN_NAME_LIMIT = HASH_LEN + 3  # room for "b-" + hash at least
MAX_BRANCH_LEN = 1024

# Sources a branch name can come from; recorded so `status` can say why a stack has its name.
SOURCES = ("flag", "pr", "env", "event")

_NON_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class StackId:
    """Identity of one staging stack."""

    branch: str
    slug: str
    source: str = "flag"

    def resource_name(self, role: str) -> str:
        if not re.fullmatch(rf"[a-z0-9]{{1,{MAX_ROLE_LEN}}}", role):
            raise NamingError(f"role {role!r} must be 1-{MAX_ROLE_LEN} characters of [a-z0-9]")
        return f"{self.slug}-{role}"


def _readable(branch: str) -> str:
    # Fold accents to ASCII where a decomposition exists; everything else becomes a separator.
    folded = unicodedata.normalize("NFKD", branch).encode("ascii", "ignore").decode("ascii")
    words = _NON_SLUG.sub("-", folded.lower()).strip("-")
    # Common prefixes tell nothing about the stack; drop them to save room.
    for noise in ("refs-heads-", "feature-", "feat-", "bugfix-", "fix-", "users-"):
        if words.startswith(noise) and len(words) > len(noise):
            words = words[len(noise):]
            break
    return words


def short_hash(branch: str) -> str:
    return hashlib.sha256(branch.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_LEN]


def stack_id(branch: str | None, *, limit: int = DEFAULT_NAME_LIMIT, source: str = "flag") -> StackId:
    """Derive the stack id of ``branch``; refuses empty or absurd input."""
    if source not in SOURCES:
        raise NamingError(f"unknown branch source {source!r}; expected one of {', '.join(SOURCES)}")
    if branch is None or not branch.strip():
        raise NamingError("branch name is empty: pass --branch, or run inside a pull request")
    if "\x00" in branch:
        raise NamingError("branch name contains a NUL byte")
    if len(branch) > MAX_BRANCH_LEN:
        raise NamingError(f"branch name is {len(branch)} characters long; the limit is {MAX_BRANCH_LEN}")
    if limit < MIN_NAME_LIMIT:
        raise NamingError(f"name limit {limit} is too small; it must be at least {MIN_NAME_LIMIT}")
    digest = short_hash(branch)
    room = limit - HASH_LEN - 1
    readable = _readable(branch)[:room].rstrip("-")
    if not readable or not readable[0].isalpha():
        readable = ("b" + ("-" + readable if readable else ""))[:room].rstrip("-")
    return StackId(branch=branch, slug=f"{readable}-{digest}", source=source)


_SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def is_slug(text: str) -> bool:
    """True for a well-formed stack id (as ``stack_id`` makes them, at most 63 characters)."""
    return len(text) <= 63 and _SLUG.fullmatch(text) is not None


_TAG_VALUE_OK = re.compile(r"[^\w .:/=+\-@]", re.ASCII)


def tag_value(text: str, limit: int = 256) -> str:
    """Make ``text`` a valid AWS tag value (allowed characters, at most 256)."""
    return _TAG_VALUE_OK.sub("_", text)[:limit]
