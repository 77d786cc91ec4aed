"""What the tool must know about the team's root module before it writes its override: every
``provider "aws"`` block (aliased or not), the ``backend "s3"`` block, the required providers and
whether the code reads ``terraform.workspace``. Read with python-hcl2, never with regexes over HCL.

python-hcl2 keeps HCL's quoting: a literal string is ``'"text"'``, an expression ``'${var.x}'``,
a nested block a list of dicts marked ``__is_block__``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.errors import BadInput

BLOCK = "__is_block__"


@dataclass(frozen=True)
class ProviderBlock:
    """One ``provider "aws"`` block: where it is and what the override must know of it."""

    file: str
    alias: str | None
    has_region: bool
    region: str | None = None         # the literal region, when it is one
    tags: Any = None                  # raw ``default_tags.tags`` (dict of raw values, or an expression)
    role_arns: tuple[str, ...] = ()   # raw role_arn values of assume_role blocks (literal or expression)
    profile: str | None = None        # raw profile value

    @property
    def label(self) -> str:
        return f'provider "aws" (alias {self.alias!r})' if self.alias else 'provider "aws"'


@dataclass(frozen=True)
class RootModule:
    providers: tuple[ProviderBlock, ...]
    backend: dict[str, Any] = field(default_factory=dict)   # raw arguments of ``backend "s3"``
    backend_file: str | None = None
    constraints: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (source, version)
    workspace_files: tuple[str, ...] = ()                   # files that read terraform.workspace

    @property
    def regions(self) -> tuple[str, ...]:
        """The literal regions of the provider blocks (where a stack's resources may live)."""
        return tuple(dict.fromkeys(b.region for b in self.providers if b.region))


def unquote(raw: Any) -> str | None:
    """A literal HCL string's text (None for an expression or a non-string)."""
    if isinstance(raw, str) and len(raw) >= 2 and raw[0] == raw[-1] == '"' and "${" not in raw:
        try:
            text: str = json.loads(raw)
            return text
        except ValueError:
            return raw[1:-1]
    return None


def _blocks(value: Any) -> list[dict]:
    return [b for b in value if isinstance(b, dict)] if isinstance(value, list) else []


def _provider(file: str, body: dict) -> ProviderBlock:
    tags = None
    for block in _blocks(body.get("default_tags")):
        tags = block.get("tags")
    roles = tuple(str(b["role_arn"]) for b in _blocks(body.get("assume_role")) if "role_arn" in b)
    alias = body.get("alias")
    profile = body.get("profile")
    return ProviderBlock(file=file, alias=unquote(alias) if alias is not None else None,
                         has_region="region" in body, region=unquote(body.get("region")), tags=tags,
                         role_arns=roles, profile=str(profile) if profile is not None else None)


def _parse(path: Path) -> dict:
    """python-hcl2's reading of one file, cached by content (``support.parse_cache``): a spinup
    reads the root module several times, and lark takes ~0.1 s per file each time."""
    import hcl2

    from provisioner.support import parse_cache

    try:
        text = path.read_text(encoding="utf-8")
        key = parse_cache.key("hcl2-loads-v1", text)
        hit = parse_cache.get(key)
        if isinstance(hit, dict):
            return hit
        data: dict = hcl2.loads(text)
    except Exception as exc:  # lark raises many types; any of them means we cannot read it
        raise BadInput(f"{path}: cannot read the root module's HCL: {exc}", path=str(path)) from exc
    parse_cache.put(key, data)
    return data


def _terraform_block(data: dict, path: str, out: dict[str, Any]) -> None:
    for block in _blocks(data.get("terraform")):
        for backend in _blocks(block.get("backend")):
            for label, body in backend.items():
                if label != BLOCK and unquote(label) == "s3" and isinstance(body, dict):
                    out["backend"] = {k: v for k, v in body.items() if k != BLOCK}
                    out["backend_file"] = path
        for req in _blocks(block.get("required_providers")):
            for name, spec in req.items():
                if name == BLOCK or not isinstance(spec, dict):
                    continue
                source = unquote(spec.get("source")) or f"hashicorp/{name}"
                out["constraints"][name] = (source, unquote(spec.get("version")) or "")


def read_root_module(directory: Path) -> RootModule:
    """Every ``*.tf`` file of the root module (not ``*.tf.json``, not override files)."""
    providers: list[ProviderBlock] = []
    found: dict[str, Any] = {"backend": {}, "backend_file": None, "constraints": {}}
    workspace_files: list[str] = []
    for path in sorted(directory.glob("*.tf")):
        if path.name.endswith("_override.tf") or path.name == "override.tf":
            continue
        data = _parse(path)
        for entry in _blocks(data.get("provider")):
            for label, body in entry.items():
                if label != BLOCK and unquote(label) == "aws" and isinstance(body, dict):
                    providers.append(_provider(str(path), body))
        _terraform_block(data, str(path), found)
        if "terraform.workspace" in json.dumps(data):
            workspace_files.append(str(path))
    return RootModule(providers=tuple(providers), backend=found["backend"],
                      backend_file=found["backend_file"], constraints=found["constraints"],
                      workspace_files=tuple(workspace_files))
