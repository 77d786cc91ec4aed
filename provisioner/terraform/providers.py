"""The provider overrides for every ``provider "aws"`` block of the root module.

Terraform's override files merge a provider block by name *and alias*: an override of
``provider "aws"`` touches only the default provider, so every aliased block gets its own entry.
Arguments merge one by one; a nested block (``default_tags``, ``assume_role``) replaces the whole
block. So the override carries the user's own tags merged with the tool's (the tool's keys win, a
literal user key that collides with a reserved one is refused), and on the local target an
``assume_role`` block is replaced by an empty one and ``profile`` is unset: nothing the stack does
may reach an account the tool did not check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from provisioner.domain.tags import MANAGED_BY
from provisioner.errors import RenderError
from provisioner.terraform.rootmodule import ProviderBlock, RootModule, unquote

RESERVED_PREFIX = "staging:"


def reserved(key: str) -> bool:
    return key == MANAGED_BY or key.startswith(RESERVED_PREFIX)


def check_user_tags(root: RootModule) -> None:
    """Refuse a literal ``default_tags`` key that the tool reserves (exit 2, naming file and key)."""
    for block in root.providers:
        if not isinstance(block.tags, dict):
            continue
        for raw_key in block.tags:
            key = unquote(raw_key) if raw_key.startswith('"') else raw_key
            if key is not None and reserved(key):
                raise RenderError(block.file, f"{block.label} default_tags {key!r}",
                                  f"the tag key {key!r} is reserved by the provisioner (managed-by and "
                                  "staging:* mark and find every stack resource); rename the team's tag")


def _hcl_string(text: str) -> str:
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def _expression(raw: Any) -> str:
    """HCL source text of a value python-hcl2 serialised (literals quoted, expressions in ${})."""
    if isinstance(raw, str):
        if raw.startswith("${") and raw.endswith("}"):
            return raw[2:-1]
        return raw
    if isinstance(raw, dict):
        return "{" + ", ".join(f"{k} = {_expression(v)}" for k, v in raw.items() if k != "__is_block__") + "}"
    if isinstance(raw, list):
        return "[" + ", ".join(_expression(v) for v in raw) + "]"
    return json.dumps(raw)


def merged_tags(user: Any, tool: dict[str, str]) -> Any:
    """The ``default_tags.tags`` value of the override: the user's tags, then the tool's on top."""
    if user is None:
        return dict(tool)
    ours = "{" + ", ".join(f"{_hcl_string(k)} = {_hcl_string(v)}" for k, v in tool.items()) + "}"
    return "${merge(" + _expression(user) + ", " + ours + ")}"


@dataclass(frozen=True)
class Neutralised:
    """What the override took out of a user's provider block on the local target."""

    block: ProviderBlock
    what: str


def local_settings(endpoint: str, keys: tuple[str, ...]) -> dict[str, Any]:
    return {"access_key": "test", "secret_key": "test", "skip_credentials_validation": True,
            "skip_requesting_account_id": True, "skip_metadata_api_check": True, "s3_force_path_style": True,
            "endpoints": {key: endpoint for key in keys}}


def provider_overrides(root: RootModule, tool_tags: dict[str, str], *, region: str, endpoint: str | None,
                       endpoint_keys: tuple[str, ...], max_retries: int | None = None,
                       ) -> tuple[list[dict[str, Any]], list[Neutralised]]:
    """One override per provider block (a default one when the root module declares none).

    ``max_retries``: Terraform's retries of one request (``Target.max_retries()``); None leaves the
    provider's own."""
    blocks = root.providers or (ProviderBlock(file="", alias=None, has_region=False),)
    out: list[dict[str, Any]] = []
    notes: list[Neutralised] = []
    for block in blocks:
        cfg: dict[str, Any] = {}
        if block.alias:
            cfg["alias"] = block.alias
        if not block.has_region:
            cfg["region"] = region
        cfg["default_tags"] = {"tags": merged_tags(block.tags, tool_tags)}
        if max_retries is not None:
            cfg["max_retries"] = max_retries
        if endpoint:
            cfg.update(local_settings(endpoint, endpoint_keys))
            if block.role_arns:
                cfg["assume_role"] = {"role_arn": ""}
                roles = ", ".join(unquote(r) or r for r in block.role_arns)
                notes.append(Neutralised(block, f"assume_role {roles}"))
            if block.profile is not None:
                cfg["profile"] = None
                notes.append(Neutralised(block, f"profile {unquote(block.profile) or block.profile}"))
        out.append(cfg)
    return out, notes
