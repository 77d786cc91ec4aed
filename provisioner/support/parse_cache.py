"""A content-addressed cache of parse results (JSON), so unchanged HCL is not parsed again.

Entries live in ``$PROVISIONER_CACHE_DIR`` or ``~/.cache/staging-provisioner/parsed``, are named
by the sha256 of what was parsed, and are written private (0600) and atomically. A missing,
unreadable or corrupt entry is simply a miss; a cache that cannot be written is no error.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_ENV = "PROVISIONER_CACHE_DIR"


def directory() -> Path:
    base = os.environ.get(CACHE_ENV)
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "staging-provisioner" / "parsed"


def key(kind: str, text: str) -> str:
    return hashlib.sha256(kind.encode() + b"\0" + text.encode("utf-8", "surrogatepass")).hexdigest()


def get(name: str) -> Any | None:
    try:
        return json.loads((directory() / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def put(name: str, value: Any) -> None:
    from provisioner.errors import ProvisionerError
    from provisioner.support.files import write_private_json

    try:
        d = directory()
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private_json(d / f"{name}.json", value)
    except (OSError, ValueError, TypeError, ProvisionerError):
        pass  # an unwritable cache only costs the next run a parse
