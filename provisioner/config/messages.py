"""msgspec's validation errors in our words: the dotted key, what is wrong, the nearest valid key.

msgspec's error text is parsed here and only here; its wording is pinned by the msgspec version
range in pyproject.toml, and tests/unit/test_config.py asserts every message shape we rely on.
"""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any, Literal

import msgspec
from msgspec import Struct

from provisioner.config.checks import kind
from provisioner.config.schema import Settings

INTERNAL = ("base_dir", "source")   # Settings fields the loader sets; never offered as suggestions


class Bad(Exception):
    def __init__(self, key: str, problem: str, suggestion: str | None = None) -> None:
        super().__init__(problem)
        self.key, self.problem, self.suggestion = key, problem, suggestion


def _field_type(path: list[str]) -> tuple[type[Struct] | None, Any]:
    """(the table at ``path[:-1]``, the declared type of ``path[-1]``) walking from Settings."""
    table: type[Struct] | None = Settings
    for part in path[:-1]:
        hints = typing.get_type_hints(table) if table else {}
        nxt = hints.get(part)
        table = nxt if isinstance(nxt, type) and issubclass(nxt, Struct) else None
    hints = typing.get_type_hints(table, include_extras=True) if table else {}
    return table, hints.get(path[-1]) if path else None


def from_msgspec(exc: msgspec.ValidationError) -> Bad:
    m = re.fullmatch(r"(.*?)(?: - at `\$(.*)`)?", str(exc), re.S)
    problem, where = (m.group(1), m.group(2) or "") if m else (str(exc), "")
    indexed = "[" in where
    path = [p for p in re.sub(r"\[[^\]]*\]", "", where).split(".") if p]
    if unknown := re.fullmatch(r"Object contains unknown field `(.*)`", problem):
        table, _ = _field_type([*path, unknown.group(1)])
        names = [n for n in (msgspec.structs.fields(table) if table else ()) if n.name not in INTERNAL]
        close = difflib.get_close_matches(unknown.group(1), [n.name for n in names], n=1, cutoff=0.5)
        return Bad(".".join([*path, unknown.group(1)]), "unknown key", close[0] if close else None)
    if missing := re.fullmatch(r"Object missing required field `(.*)`", problem):
        return Bad(".".join([*path, missing.group(1)]), "required key is missing")
    key = ".".join(path)
    if path[:1] == ["production"] and (indexed or "got `str`" in problem):
        example = '["111111111111"] (quoted: ids may start with 0)' if path[-1] == "account_ids" \
            else '["one", "two"]'
        return Bad(key, f"must be a list of strings, e.g. {example}")
    declared = _field_type(path)[1] if path else None
    choices = [repr(c) for c in typing.get_args(declared)] if typing.get_origin(declared) is Literal else []
    if typed := re.fullmatch(r"Expected `([\w| ]+)`, got `(\w+)`", problem):
        if choices:
            return Bad(key, f"must be {', '.join(choices[:-1])} or {choices[-1]}")
        wanted = [kind(t).split(" ", 1)[-1] for t in typed.group(1).split(" | ") if t != "null"]
        return Bad(key, f"must be a valid {' or '.join(wanted)}, got {kind(typed.group(2))}")
    if bound := re.fullmatch(r"Expected `\w+` (>=|<=|>|<) (\S+)", problem):
        words = {">=": "greater than or equal to", "<=": "less than or equal to", ">": "greater than",
                 "<": "less than"}[bound.group(1)]
        return Bad(key, f"must be {words} {bound.group(2).removesuffix('.0')}")
    if problem.startswith("Invalid enum value") and choices:
        return Bad(key, f"must be {', '.join(choices[:-1])} or {choices[-1]}")
    return Bad(key, problem)
