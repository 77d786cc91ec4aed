"""State locks: recognise a held lock in a failed command, read its Lock Info, and break it
only when its holder is known to be dead (``recover_lock``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from provisioner.config.retry import LOCK_PATTERN
from provisioner.errors import TerraformError

if TYPE_CHECKING:
    from provisioner.terraform.events import StrPath
    from provisioner.terraform.interface import Engine


def error_texts(error: TerraformError) -> list[str]:
    """Each diagnostic's summary and detail, and the command's output: what patterns are matched on."""
    texts = [f"{d.summary}\n{d.detail}" for d in error.diagnostics]
    if error.output:
        texts.append(error.output)
    return texts


def is_lock_error(error: TerraformError) -> bool:
    return error.lock_id is not None or any(
        re.search(LOCK_PATTERN, d.summary) for d in error.diagnostics)


_LOCK_FIELDS = {"ID": "id", "Path": "path", "Operation": "operation", "Who": "who",
                "Version": "version", "Created": "created", "Info": "info"}
_LOCK_LINE = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created|Info):[ \t]*(.*?)\s*$", re.M)
_CREATED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? ([+-]\d{4})")


@dataclass(frozen=True)
class LockInfo:
    """Terraform's ``Lock Info`` block. ``who`` is ``user@host`` of the run that took the lock."""

    id: str
    path: str = ""
    operation: str = ""
    who: str = ""
    version: str = ""
    created: str = ""
    info: str = ""

    @property
    def created_at(self) -> float | None:
        """``created`` as Unix seconds (Terraform prints nanoseconds; kept to microseconds)."""
        m = _CREATED.match(self.created)
        if not m:
            return None
        fraction = (m.group(2) or "0")[:6].ljust(6, "0")
        stamp = datetime.strptime(f"{m.group(1)}.{fraction} {m.group(3)}", "%Y-%m-%d %H:%M:%S.%f %z")
        return stamp.timestamp()


def parse_lock_info(error: TerraformError) -> LockInfo | None:
    """The lock a failed command ran into, or None when it is not a held-lock failure."""
    if not is_lock_error(error):
        return None
    for text in error_texts(error):
        if "Lock Info" not in text:
            continue
        values = {_LOCK_FIELDS[k]: v for k, v in _LOCK_LINE.findall(text.split("Lock Info", 1)[1])}
        if values.get("id"):
            return LockInfo(**values)
    return LockInfo(id=error.lock_id) if error.lock_id else None


def recover_lock(engine: Engine, workdir: StrPath, error: TerraformError,
                 holder_alive: Callable[[str], bool]) -> bool:
    """Force-unlock the state lock behind ``error`` if its holder is dead; True when unlocked.

    ``holder_alive(who)`` gets the lock's ``Who`` (user@host) and must say whether the run that
    holds it may still be working (e.g. its lease heartbeat has not expired). Nothing is unlocked
    when it says yes, when the error is not a held lock, or when the lock names no holder.
    ``force_unlock`` errors (a lock id that no longer matches, ...) propagate.
    """
    info = parse_lock_info(error)
    if info is None or not info.who or holder_alive(info.who):
        return False
    engine.force_unlock(workdir, info.id)
    return True
