"""Reading the staging overrides file: one ``[overrides.<variable>]`` table each, with a rule and
its parameters checked before anything is rendered."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from provisioner.errors import RenderError
from provisioner.render.baseline import read_text
from provisioner.render.model import DEFAULT_MAX_BYTES, MAX_DEPTH, REQUIRED, ROUNDING, RULE_KEYS, Override
from provisioner.render.values import check_depth, is_number, suggest


def load_overrides(path: str | os.PathLike) -> tuple[Override, ...]:
    """Read and validate an overrides TOML file."""
    source = str(path)
    text = read_text(path, DEFAULT_MAX_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RenderError(source, None, f"malformed TOML: {exc}") from exc
    except RecursionError:
        raise RenderError(source, None, f"values are nested too deeply (the limit is {MAX_DEPTH})") from None
    return parse_overrides(data, source)


def parse_overrides(data: Mapping, source: str) -> tuple[Override, ...]:
    """Validate an overrides document (``{"overrides": {var: {...}}}``) into Overrides."""
    if not isinstance(data, Mapping):
        raise RenderError(source, None, "must be a table of [overrides.<variable>] tables")
    for key in data:
        if key != "overrides":
            raise RenderError(source, key, "unknown top-level key; only [overrides.<variable>] tables "
                                           "belong here", suggest(key, ["overrides"]))
    tables = data.get("overrides", {})
    if not isinstance(tables, Mapping):
        raise RenderError(source, "overrides", "must be a table of [overrides.<variable>] tables")
    return tuple(_parse_override(name, table, source) for name, table in tables.items())


def _parse_override(variable: str, table: Any, source: str) -> Override:
    if not isinstance(table, Mapping):
        raise RenderError(source, variable, "must be a table: [overrides.<variable>] with rule and reason")
    rule = table.get("rule")
    if not isinstance(rule, str):
        raise RenderError(source, variable, f"needs a rule, one of {', '.join(RULE_KEYS)}")
    if rule not in RULE_KEYS:
        raise RenderError(source, variable, f"unknown rule {rule!r}; rules are {', '.join(RULE_KEYS)}",
                          suggest(rule, RULE_KEYS))
    allowed = RULE_KEYS[rule] | {"rule", "reason"}
    for key in table:
        if key not in allowed:
            raise RenderError(source, variable, f"unknown key {key!r} for rule {rule!r}; allowed: "
                                                f"{', '.join(sorted(allowed))}", suggest(key, allowed))
    reason = table.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise RenderError(source, variable, "needs a reason: say why staging differs from production")
    for key in REQUIRED[rule]:
        if key not in table:
            raise RenderError(source, variable, f"rule {rule!r} needs {key!r}")
    params = {k: v for k, v in table.items() if k not in ("rule", "reason")}
    _CHECK_PARAMS[rule](params, source, variable)
    return Override(variable=variable, rule=rule, reason=reason.strip(),
                    params=MappingProxyType(params), source=source)


def _check_scale(params: Mapping, source: str, variable: str) -> None:
    for key in ("factor", "min", "max"):
        if key in params and not (is_number(params[key]) and math.isfinite(params[key])):
            raise RenderError(source, variable, f"{key} must be a number, not {params[key]!r}")
    if params["factor"] < 0:
        raise RenderError(source, variable, f"factor must not be negative ({params['factor']})")
    if "min" in params and "max" in params and params["min"] > params["max"]:
        raise RenderError(source, variable, f"min ({params['min']}) is greater than max ({params['max']})")
    rounding = params.get("round", "round")
    if rounding not in ROUNDING:
        raise RenderError(source, variable, f"round must be one of {', '.join(ROUNDING)}, not {rounding!r}",
                          suggest(str(rounding), ROUNDING))


def _check_set(params: Mapping, source: str, variable: str) -> None:
    check_depth(params["value"], source, variable)

    def check(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)
        elif not isinstance(value, str | int | float | bool):
            raise RenderError(source, variable, f"value {value!r} is not a string, number, bool, "
                                                "list or table")
        elif isinstance(value, float) and not math.isfinite(value):
            raise RenderError(source, variable, f"value {value} is not a finite number")
    check(params["value"])


def _check_template(params: Mapping, source: str, variable: str) -> None:
    from jinja2 import TemplateSyntaxError

    from provisioner.support.templating import sandbox

    text = params["template"]
    if not isinstance(text, str):
        raise RenderError(source, variable, "template must be a string")
    try:
        sandbox().parse(text)
    except TemplateSyntaxError as exc:
        raise RenderError(source, variable, f"template syntax error at line {exc.lineno}: "
                                            f"{exc.message}") from exc


def _check_merge(params: Mapping, source: str, variable: str) -> None:
    if not isinstance(params["value"], Mapping):
        raise RenderError(source, variable, "merge needs a table: the keys to change in the production value")
    _check_set(params, source, variable)


def _check_nothing(params: Mapping, source: str, variable: str) -> None:
    return None


_CHECK_PARAMS = MappingProxyType({
    "scale": _check_scale, "set": _check_set, "template": _check_template, "drop": _check_nothing,
    "merge": _check_merge,
})
