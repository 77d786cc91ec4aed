"""The root module's declared variables (name, type, default, sensitive), read with python-hcl2."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioner.errors import RenderError
from provisioner.render.baseline import hcl_key, hcl_literal, hcl_string, parsed, read_text
from provisioner.render.model import DEFAULT_MAX_BYTES, ModuleVariable


def _normalise_type(raw: Any) -> str | None:
    """``"${list(string)}"``, ``"number"`` or legacy ``'"string"'`` -> ``list(string)`` etc."""
    if raw is None:
        return None
    text = str(raw).strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1].strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return re.sub(r"\s+", " ", text).strip() or None


def _module_variable(label: str, body: Mapping, source: str) -> ModuleVariable:
    name = hcl_key(label, source, label)
    description = body.get("description", '""')
    has_default = "default" in body
    return ModuleVariable(
        name=name,
        type=_normalise_type(body.get("type")),
        has_default=has_default,
        default=hcl_literal(body["default"], source, name) if has_default else None,
        sensitive=body.get("sensitive") is True,
        description=hcl_string(description, source, name) if isinstance(description, str) else "",
    )


def module_variables(root_module_dir: str | os.PathLike) -> dict[str, ModuleVariable]:
    """Every ``variable`` block declared by the ``*.tf`` files of a root module."""
    directory = Path(root_module_dir)
    files = sorted(directory.glob("*.tf"))
    if not files:
        raise RenderError(str(directory), None, "no *.tf files: is this the root module directory?")
    found: dict[str, ModuleVariable] = {}
    where: dict[str, str] = {}
    for path in files:
        source = str(path)
        raw, _ = parsed(read_text(path, DEFAULT_MAX_BYTES), source)
        for block in raw.get("variable", []):
            for label, body in block.items():
                variable = _module_variable(label, body, source)
                if variable.name in found:
                    raise RenderError(source, variable.name,
                                      f"declared again (also in {where[variable.name]})")
                found[variable.name] = variable
                where[variable.name] = source
    return found
