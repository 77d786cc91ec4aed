"""Small predicates over Terraform values: kinds, declared types, equality, depth, suggestions."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

from provisioner.domain.difference import UNSET
from provisioner.errors import RenderError
from provisioner.render.model import MAX_DEPTH


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, sorted(set(candidates)), n=1)
    return found[0] if found else None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def value_kind(value: Any) -> str | None:
    """Terraform-ish kind of a value; None for null (compatible with every kind)."""
    if value is None or value is UNSET:
        return None
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def type_kind(type_expr: str | None) -> str | None:
    """Kind of a module type constraint; None when any kind is allowed."""
    if not type_expr:
        return None
    head = type_expr.split("(", 1)[0].strip()
    return {"string": "string", "number": "number", "bool": "bool", "list": "list", "set": "list",
            "tuple": "list", "map": "object", "object": "object"}.get(head)


def same(a: Any, b: Any) -> bool:
    """Equality as Terraform sees it: 1 == 1.0, but True != 1 and "1" != 1."""
    if value_kind(a) != value_kind(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def check_depth(value: Any, source: str, variable: str) -> None:
    """Refuse values nested deeper than MAX_DEPTH (later steps recurse; Terraform values are shallow)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RenderError(source, variable, f"the value is nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
