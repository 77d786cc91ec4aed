"""Overrides on parts of a value, and type checks against the module's declared types.

A key path names a part of a variable the way Terraform spells it: ``orders_table.read_capacity``,
``queues["ingest"].retention_seconds``, ``subnets[0]``. The override table is
``[overrides."orders_table.read_capacity"]``; every rule works on the part (``drop`` removes a
map key or list element), and ``merge`` deep-merges a partial object into the production value.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from provisioner.domain.difference import UNSET
from provisioner.errors import RenderError
from provisioner.render.values import is_number

Step = str | int
_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


@dataclass(frozen=True)
class KeyPath:
    variable: str
    steps: tuple[Step, ...] = ()


def label(variable: str, steps: tuple[Step, ...]) -> str:
    out = variable
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        elif _HEAD.fullmatch(step):
            out += f".{step}"
        else:
            out += f"[{json.dumps(step)}]"
    return out


def parse_path(text: str, source: str) -> KeyPath:
    head = _HEAD.match(text)
    if head is None:
        raise RenderError(source, text, "is not a variable name or a key path like 'table.read_capacity'")
    steps: list[Step] = []
    pos = head.end()
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise RenderError(source, text, f"bad key path at character {pos + 1}: use .name, [0] or "
                                            '["key"]')
        name, index, key = match.groups()
        if name is not None:
            steps.append(name)
        else:
            steps.append(int(index) if index is not None else json.loads(f'"{key}"'))
        pos = match.end()
    return KeyPath(head.group(0), tuple(steps))


def get_at(value: Any, path: KeyPath, source: str) -> Any:
    current = value
    for n, step in enumerate(path.steps):
        where = label(path.variable, path.steps[:n + 1])
        if isinstance(step, int) and isinstance(current, list):
            if step >= len(current):
                raise RenderError(source, where, f"the production list has {len(current)} elements")
            current = current[step]
        elif isinstance(current, dict) and str(step) in current:
            current = current[str(step)]
        else:
            have = ", ".join(sorted(map(str, current))) if isinstance(current, dict) else "not an object"
            raise RenderError(source, where, f"the production value has no such key (it has: {have})")
    return current


def set_at(value: Any, steps: tuple[Step, ...], new: Any) -> Any:
    """A copy of ``value`` with the part at ``steps`` replaced (removed when ``new`` is UNSET)."""
    if not steps:
        return copy.deepcopy(new)
    out = copy.deepcopy(value)
    parent = out
    for step in steps[:-1]:
        parent = parent[step if isinstance(parent, list) else str(step)]
    last = steps[-1] if isinstance(parent, list) else str(steps[-1])
    if new is UNSET:
        del parent[last]
    else:
        parent[last] = copy.deepcopy(new)
    return out


def deep_merge(base: Any, patch: Any) -> Any:
    """``patch`` merged into ``base``: objects key by key, recursively; anything else replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(patch)


def leaf_changes(production: Any, staging: Any, prefix: str) -> list[tuple[str, Any, Any]]:
    """(path, production, staging) of every part that differs, objects and lists walked."""
    if isinstance(production, dict) and isinstance(staging, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(production) | set(staging)):
            sub = label(prefix, (key,))
            out += leaf_changes(production.get(key, UNSET), staging.get(key, UNSET), sub)
        return out
    if isinstance(production, list) and isinstance(staging, list) and len(production) == len(staging):
        return [c for i, (a, b) in enumerate(zip(production, staging, strict=True))
                for c in leaf_changes(a, b, label(prefix, (i,)))]
    unchanged = production == staging and type(production) is type(staging)
    return [] if unchanged else [(prefix, production, staging)]


# --------------------------------------------------------------------------- declared types

def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    return [*parts, tail] if tail else parts


def _inner(text: str, name: str) -> str:
    return text[len(name) + 1:-1].strip()


def _attributes(body: str) -> dict[str, tuple[str, bool]]:
    """object({ a = T, b = optional(T, default) }) body -> name -> (type, optional)."""
    out: dict[str, tuple[str, bool]] = {}
    for part in _split_top(body.strip()[1:-1].replace("\n", ",")):
        name, _, kind = part.partition("=")
        kind = kind.strip()
        optional = kind.startswith("optional(")
        if optional:
            kind = _split_top(_inner(kind, "optional"))[0]
        out[name.strip().strip('"')] = (kind, optional)
    return out


def type_problem(value: Any, type_expr: str | None, where: str) -> str | None:
    """Why ``value`` does not fit a Terraform type constraint (naming the attribute), else None."""
    t = (type_expr or "any").strip()
    if value is None or t == "any":
        return None
    simple = {"string": lambda v: isinstance(v, str) or is_number(v) or isinstance(v, bool),
              "number": is_number, "bool": lambda v: isinstance(v, bool)}
    if t in simple:
        return None if simple[t](value) else f"{where}: expected a {t}, got {json.dumps(value)[:60]}"
    for name in ("list", "set", "map"):
        if t.startswith(name + "("):
            element = _inner(t, name)
            if name == "map":
                if not isinstance(value, dict):
                    return f"{where}: expected a map, got {json.dumps(value)[:60]}"
                items = [(label(where, (k,)), v) for k, v in value.items()]
            else:
                if not isinstance(value, list):
                    return f"{where}: expected a {name}, got {json.dumps(value)[:60]}"
                items = [(label(where, (i,)), v) for i, v in enumerate(value)]
            return next((p for sub, v in items if (p := type_problem(v, element, sub))), None)
    if t.startswith("object("):
        if not isinstance(value, dict):
            return f"{where}: expected an object, got {json.dumps(value)[:60]}"
        attrs = _attributes(_inner(t, "object"))
        for name, (kind, optional) in attrs.items():
            if name not in value:
                if not optional:
                    return f"{label(where, (name,))}: the attribute is required by the type and missing"
                continue
            problem = type_problem(value[name], kind, label(where, (name,)))
            if problem:
                return problem
        extra = sorted(set(value) - set(attrs))
        return f"{label(where, (extra[0],))}: the type has no such attribute" if extra else None
    return None   # tuple(...) and anything unusual: left to Terraform
