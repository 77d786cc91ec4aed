"""Writing files that may hold stack details: private (0600), atomic, JSON only."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from provisioner.errors import ProvisionerError


def write_private_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as JSON, mode 0600, atomically (temp file, fsync, rename)."""
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text(path, text, 0o600)


def write_private_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text``, mode 0600, atomically (temp file, fsync, rename)."""
    return write_text(path, text, 0o600)


def write_text(path: str | os.PathLike, text: str, mode: int) -> Path:
    """Write ``text`` with exactly ``mode`` (the umask does not apply), atomically."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, mode)  # the umask can only take bits away; make the mode exact
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                fd = -1
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            if fd >= 0:
                os.close(fd)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ProvisionerError(f"{target}: cannot write: {exc.strerror or exc}", path=str(target)) from exc
    return target
