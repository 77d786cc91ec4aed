"""The stack's copy of the team's ``.terraform.lock.hcl``, with hashes for the platform it runs on.

A lock file committed from a Mac holds ``h1:`` hashes for ``darwin_*`` only (plus ``zh:`` hashes of
every release zip). The first init from a packed mirror verifies the zip by its ``zh:`` hash and
adds nothing; every later init against the (unpacked) plugin cache can check only ``h1:`` hashes
and fails with "does not match any of the checksums". So the stack's copy gets the ``h1:`` hash of
the mirror's package for this platform (what ``terraform providers lock -platform`` computes:
golang.org/x/mod's dirhash "Hash1" over the zip's files). The user's own file is never written.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from provisioner.terraform.rootmodule import unquote

LOCK_NAME = ".terraform.lock.hcl"
HEADER = ('# This file is maintained automatically by "terraform init".\n'
          "# Manual edits may be lost in future updates.\n")


def h1_of_zip(path: Path) -> str:
    """dirhash Hash1 of a provider release zip: sha256 of "<sha256 hex>  <name>\\n" lines, sorted."""
    lines = []
    with zipfile.ZipFile(path) as archive:
        for name in sorted(i.filename for i in archive.infolist() if not i.is_dir()):
            lines.append(f"{hashlib.sha256(archive.read(name)).hexdigest()}  {name}\n")
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def _entries(text: str) -> list[tuple[str, dict]]:
    import hcl2

    out: list[tuple[str, dict]] = []
    for block in hcl2.loads(text).get("provider", []):
        for label, body in block.items():
            address = unquote(label)
            if address and isinstance(body, dict):
                out.append((address, body))
    return out


def _format(entries: list[tuple[str, str, str | None, list[str]]]) -> str:
    parts = [HEADER]
    for address, version, constraints, hashes in entries:
        lines = [f'provider "{address}" {{', f'  version     = "{version}"']
        if constraints is not None:
            lines.append(f'  constraints = "{constraints}"')
        lines.append("  hashes = [")
        lines += [f'    "{h}",' for h in sorted(set(hashes))]
        lines += ["  ]", "}"]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def with_platform_hashes(text: str, mirror: Path | None, platform: str) -> tuple[str, list[str]]:
    """``text`` with the mirror's ``h1:`` hash for ``platform`` added to each provider it holds;
    returns the new text and the providers it added a hash for (unchanged text when none)."""
    if mirror is None:
        return text, []
    entries: list[tuple[str, str, str | None, list[str]]] = []
    added: list[str] = []
    for address, body in _entries(text):
        version = unquote(body.get("version")) or ""
        hashes = [h for h in (unquote(v) for v in body.get("hashes", [])) if h]
        name = address.rsplit("/", 1)[-1]
        archive = mirror / address / f"terraform-provider-{name}_{version}_{platform}.zip"
        if archive.is_file():
            h1 = h1_of_zip(archive)
            if h1 not in hashes:
                hashes.append(h1)
                added.append(address)
        constraints = body.get("constraints")
        entries.append((address, version, unquote(constraints) if constraints is not None else None, hashes))
    return (_format(entries), added) if added else (text, [])
