"""Production baseline + declared overrides -> staging variable file and a differences report.

The baseline is the team's production ``.tfvars`` (HCL) or ``.tfvars.json``.
Production-only variables carry a marker: in HCL a comment line directly above
the assignment (``# @production-only: <why>`` or ``// @production-only: <why>``),
in JSON a top-level ``"//production_only": {"var": "why"}`` object.

Overrides are a TOML file, one ``[overrides.<variable>]`` table each, with a
``rule`` (``scale``, ``set``, ``template``, ``drop``) and a ``reason``. Every
change from production is an override or an injected value, and every one is
reported as a ``Difference``; variables nobody overrides are copied unchanged.

Compute, then act: ``render`` is pure, ``write_tfvars`` writes the result.
"""

from __future__ import annotations

import copy
import difflib
import enum
import hashlib
import json
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from provisioner.domain.naming import StackId
from provisioner.errors import RenderError

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
JSON_MARKER_KEY = "//production_only"
MAX_TEMPLATE_OUTPUT = 64 * 1024
MAX_DEPTH = 64
DIFFERENCES_TEMPLATE = "differences.txt.j2"
REPORT_VALUE_WIDTH = 40

# Keys each rule accepts besides "rule" and "reason", and which of them it requires.
RULE_KEYS: Mapping[str, frozenset[str]] = MappingProxyType({
    "scale": frozenset({"factor", "min", "max", "round"}),
    "set": frozenset({"value"}),
    "template": frozenset({"template"}),
    "drop": frozenset(),
})
REQUIRED: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "scale": ("factor",), "set": ("value",), "template": ("template",), "drop": (),
})
ROUNDING = ("ceil", "floor", "round", "none")
_DECIMAL_ROUNDING = MappingProxyType({"ceil": ROUND_CEILING, "floor": ROUND_FLOOR, "round": ROUND_HALF_UP})
# Rules that replace a production-only value outright (scale would stay derived from it).
PRODUCTION_ONLY_RULES = frozenset({"set", "template", "drop"})

_MARKER = re.compile(r"^\s*(?:#|//)\s*@production-only\b(?P<rest>.*)$")
_MARKER_WORD = "@production-only"


class _Unset(enum.Enum):
    """Sentinel: the variable is not set, so Terraform uses the module default."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    __str__ = __repr__


UNSET: Any = _Unset.UNSET


# ---------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Baseline:
    """A parsed production variable file."""

    path: str
    values: dict
    production_only: dict[str, str]


@dataclass(frozen=True)
class Override:
    """One declared staging override. ``params`` holds the rule's own keys."""

    variable: str
    rule: str
    reason: str
    params: Mapping = field(default_factory=lambda: MappingProxyType({}))
    source: str = "overrides"


@dataclass(frozen=True)
class ModuleVariable:
    """One ``variable`` block of the root module. ``type`` is normalised, e.g. ``list(string)``."""

    name: str
    type: str | None
    has_default: bool
    default: Any
    sensitive: bool
    description: str


@dataclass(frozen=True)
class RenderContext:
    """What templates may use besides the production value."""

    stack: StackId
    pr: int | None
    owner: str


@dataclass(frozen=True)
class Difference:
    """One variable whose staging value differs by declaration. ``UNSET`` means module default."""

    variable: str
    production: Any
    staging: Any
    rule: str
    reason: str
    sensitive: bool = False
    production_only: bool = False   # the production value itself must not travel (reports, PR comments)

    def mask(self, column: str) -> str | None:
        """The label that replaces the value in ``column`` ("production"/"staging"), or None to show it."""
        if self.sensitive:
            return "(sensitive)"
        if column == "production" and self.production_only:
            return "(production-only)"
        return None

    def to_json(self) -> dict:
        """JSON-ready form: sensitive and production-only values hidden, ``UNSET`` spelled out."""
        def shown(column: str, value: Any, unset: str) -> Any:
            if value is UNSET:
                return unset
            return self.mask(column) or value
        return {"variable": self.variable, "production": shown("production", self.production, "(not set)"),
                "staging": shown("staging", self.staging, "(module default)"), "rule": self.rule,
                "reason": self.reason, "sensitive": self.sensitive, "production_only": self.production_only}


@dataclass(frozen=True)
class Guards:
    """The safety settings a render enforces (from the config's ``[production]`` and ``[secrets]``).

    ``identifiers``: production strings no staging variable may contain, anywhere (nested values,
    map keys, substrings; compared case-insensitively). ``secrets``: sensitive variable -> source
    (``env:NAME`` ...); such variables reach Terraform as ``TF_VAR_<name>``, never through a file.
    ``source`` names the config file in messages.
    """

    identifiers: tuple[str, ...] = ()
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "config"


@dataclass(frozen=True)
class Rendered:
    """The staging variables, how they differ from production, and a digest of the inputs."""

    tfvars: dict
    differences: tuple[Difference, ...]
    digest: str


# ---------------------------------------------------------------------------
# Small helpers


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, sorted(set(candidates)), n=1)
    return found[0] if found else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str | None:
    """Terraform-ish kind of a value; None for null (compatible with every kind)."""
    if value is None or value is UNSET:
        return None
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_kind(type_expr: str | None) -> str | None:
    """Kind of a module type constraint; None when any kind is allowed."""
    if not type_expr:
        return None
    head = type_expr.split("(", 1)[0].strip()
    return {"string": "string", "number": "number", "bool": "bool", "list": "list", "set": "list",
            "tuple": "list", "map": "object", "object": "object"}.get(head)


def _same(a: Any, b: Any) -> bool:
    """Equality as Terraform sees it: 1 == 1.0, but True != 1 and "1" != 1."""
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _check_depth(value: Any, source: str, variable: str) -> None:
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


def _read_text(path: str | os.PathLike, max_bytes: int | None = None) -> str:
    source = str(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise RenderError(source, None, f"file is {size} bytes; the limit is {max_bytes}")
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as exc:
        raise RenderError(source, None, f"cannot read: {exc.strerror or exc}") from exc
    if max_bytes is not None and len(data) > max_bytes:
        raise RenderError(source, None, f"file is over the limit of {max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RenderError(source, None, f"not UTF-8 text (byte {exc.start})") from exc


# ---------------------------------------------------------------------------
# HCL decoding (python-hcl2 keeps quotes on strings and returns expressions as "${...}")


def _parse_hcl_tree(text: str, source: str) -> Any:
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        return hcl2.parses_to_tree(text)
    except UnexpectedInput as exc:
        raise RenderError(source, None, f"malformed HCL at line {exc.line}, column {exc.column}: "
                                        f"{_lark_detail(exc)}") from exc
    except RecursionError:
        raise RenderError(source, None, f"values are nested too deeply (the limit is {MAX_DEPTH})") from None
    except (LarkError, RuntimeError, ValueError) as exc:
        raise RenderError(source, None, f"malformed HCL: {exc}") from exc


def _lark_detail(exc: Exception) -> str:
    token = getattr(exc, "token", None)
    if token is not None:
        return "unexpected end of file" if token.type == "$END" else f"unexpected {str(token)!r}"
    char = getattr(exc, "char", None)
    return f"unexpected character {char!r}" if char else "unexpected end of file"


def _serialize_hcl(tree: Any, source: str) -> dict:
    import hcl2
    from lark.exceptions import LarkError

    options = hcl2.SerializationOptions(with_comments=False, preserve_heredocs=False,
                                        preserve_scientific_notation=False)
    try:
        return hcl2.serialize(hcl2.transform(tree, discard_comments=True), serialization_options=options)
    except RecursionError:
        raise RenderError(source, None, f"values are nested too deeply (the limit is {MAX_DEPTH})") from None
    except (LarkError, RuntimeError, ValueError) as exc:
        raise RenderError(source, None, f"malformed HCL: {exc}") from exc


def _layout(tree: Any) -> list[tuple[str, str | None, Any]]:
    """(kind, attribute name, line) of each top-level node, in order."""
    out: list[tuple[str, str | None, Any]] = []
    body = tree.children[0] if tree.children else None
    for node in getattr(body, "children", ()):
        kind = str(getattr(node, "data", ""))
        line = getattr(getattr(node, "meta", None), "line", "?")
        out.append((kind, str(node.children[0].children[0]) if kind == "attribute" else None, line))
    return out


def _parsed(text: str, source: str) -> tuple[dict, list[tuple[str, str | None, Any]]]:
    """(serialized values, top-level layout) of an HCL text, cached by content: parsing HCL with
    python-hcl2 (lark) is the slowest step of a render, and baselines and modules rarely change."""
    from provisioner.support import parse_cache

    key = parse_cache.key("hcl-v1", text)
    hit = parse_cache.get(key)
    if hit is not None:
        return hit["raw"], [tuple(x) for x in hit["layout"]]
    tree = _parse_hcl_tree(text, source)
    raw, layout = _serialize_hcl(tree, source), _layout(tree)
    parse_cache.put(key, {"raw": raw, "layout": layout})
    return raw, layout


def _top_level_attributes(layout: list[tuple[str, str | None, Any]], source: str) -> dict[str, int]:
    """Name -> line of each top-level assignment; refuses blocks and repeated names."""
    lines: dict[str, int] = {}
    for kind, name, line in layout:
        if kind == "block":
            raise RenderError(source, None, f"line {line}: a variable file holds assignments, not blocks")
        if kind != "attribute" or name is None:
            continue
        if name in lines:
            raise RenderError(source, name, f"line {line}: assigned again (first at line {lines[name]})")
        lines[name] = line
    return lines


def _hcl_string(raw: str, source: str, variable: str) -> str:
    """The value of a string as python-hcl2 returns it (quotes kept); refuse expressions."""
    if len(raw) < 2 or not (raw.startswith('"') and raw.endswith('"')):
        raise RenderError(source, variable, f"{raw} is an expression; a variable file holds literal "
                                            "values only")
    from hcl2.utils import process_escape_sequences

    inner, out, chunk, i = raw[1:-1], [], [], 0
    while i < len(inner):
        two, three = inner[i:i + 2], inner[i:i + 3]
        if three in ("$${", "%%{"):
            out += [process_escape_sequences("".join(chunk)), three[1:]]
            chunk, i = [], i + 3
        elif two in ("${", "%{"):
            raise RenderError(source, variable, f"string {raw} interpolates ({two}...}}); a variable "
                                                "file holds literal values only")
        else:
            step = 2 if inner[i] == "\\" else 1
            chunk.append(inner[i:i + step])
            i += step
    out.append(process_escape_sequences("".join(chunk)))
    return "".join(out)


def _hcl_key(raw: str, source: str, variable: str) -> str:
    if raw.startswith('"'):
        return _hcl_string(raw, source, variable)
    if raw.startswith("${"):
        raise RenderError(source, variable, f"object key {raw} is an expression")
    return raw


def _hcl_literal(value: Any, source: str, variable: str) -> Any:
    """Decode one serialized HCL value into plain JSON-able Python."""
    if isinstance(value, str):
        return _hcl_string(value, source, variable)
    if isinstance(value, list):
        return [_hcl_literal(item, source, variable) for item in value]
    if isinstance(value, dict):
        if "__is_block__" in value:
            raise RenderError(source, variable, "blocks are not values")
        return {_hcl_key(k, source, variable): _hcl_literal(v, source, variable) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        raise RenderError(source, variable, f"{value} is not a finite number")
    return value


def _hcl_markers(text: str, attributes: Mapping[str, int], source: str) -> dict[str, str]:
    """``# @production-only: why`` comment lines directly above an assignment."""
    by_line = {line: name for name, line in attributes.items()}
    found: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if _MARKER_WORD not in line:
            continue
        match = _MARKER.match(line)
        if match is None and line.lstrip().startswith(("#", "//")):
            continue  # prose that mentions the marker, e.g. a header explaining it
        name = by_line.get(number + 1)
        if match is None or name is None:
            raise RenderError(source, None, f"line {number}: a {_MARKER_WORD} marker must be a comment "
                                            "line of its own, directly above the variable's assignment")
        rest = match["rest"].strip()
        if not rest.startswith(":") or not rest[1:].strip():
            raise RenderError(source, name, f"line {number}: {_MARKER_WORD} needs a reason: "
                                            f"'# {_MARKER_WORD}: <why>'")
        found[name] = rest[1:].strip()
    return found


def _load_hcl(text: str, source: str) -> tuple[dict, dict[str, str]]:
    raw, layout = _parsed(text, source)
    attributes = _top_level_attributes(layout, source)
    values = {name: _hcl_literal(raw[name], source, name) for name in attributes}
    return values, _hcl_markers(text, attributes, source)


# ---------------------------------------------------------------------------
# JSON baseline


def _json_object(source: str):
    def hook(pairs: list[tuple[str, Any]]) -> dict:
        result: dict = {}
        for key, value in pairs:
            if key in result:
                raise RenderError(source, key, "key appears twice in one object")
            result[key] = value
        return result
    return hook


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load_json(text: str, source: str) -> tuple[dict, dict[str, str]]:
    try:
        data = json.loads(text, object_pairs_hook=_json_object(source), parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RenderError(source, None, f"malformed JSON at line {exc.lineno}, column {exc.colno}: "
                                        f"{exc.msg}") from exc
    except ValueError as exc:
        raise RenderError(source, None, f"malformed JSON: {exc}") from exc
    except RecursionError:
        raise RenderError(source, None, f"values are nested too deeply (the limit is {MAX_DEPTH})") from None
    if not isinstance(data, dict):
        raise RenderError(source, None, f"the top level must be an object of variables, not "
                                        f"{_kind(data) or 'null'}")
    markers = data.get(JSON_MARKER_KEY, {})
    if not isinstance(markers, dict):
        raise RenderError(source, JSON_MARKER_KEY, 'must be an object {"variable": "why", ...}')
    values = {k: v for k, v in data.items() if k != JSON_MARKER_KEY}
    for name, why in markers.items():
        if name not in values:
            raise RenderError(source, name, f"is marked in {JSON_MARKER_KEY} but the file does not set it",
                              _suggest(name, values))
        if not isinstance(why, str) or not why.strip():
            raise RenderError(source, name, f"the {JSON_MARKER_KEY} entry needs a reason "
                                            "(a non-empty string)")
    return values, {name: why.strip() for name, why in markers.items()}


def load_baseline(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Baseline:
    """Read a production ``.tfvars`` or ``.tfvars.json``; refuses big, malformed or non-object files."""
    source = str(path)
    text = _read_text(path, max_bytes)
    loader = _load_json if source.endswith(".json") else _load_hcl
    values, production_only = loader(text, source)
    for name, value in values.items():
        _check_depth(value, source, name)
    return Baseline(path=source, values=values, production_only=production_only)


# ---------------------------------------------------------------------------
# Overrides


def load_overrides(path: str | os.PathLike) -> tuple[Override, ...]:
    """Read and validate an overrides TOML file."""
    source = str(path)
    text = _read_text(path, DEFAULT_MAX_BYTES)
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
                                           "belong here", _suggest(key, ["overrides"]))
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
                          _suggest(rule, RULE_KEYS))
    allowed = RULE_KEYS[rule] | {"rule", "reason"}
    for key in table:
        if key not in allowed:
            raise RenderError(source, variable, f"unknown key {key!r} for rule {rule!r}; allowed: "
                                                f"{', '.join(sorted(allowed))}", _suggest(key, allowed))
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
        if key in params and not (_is_number(params[key]) and math.isfinite(params[key])):
            raise RenderError(source, variable, f"{key} must be a number, not {params[key]!r}")
    if params["factor"] < 0:
        raise RenderError(source, variable, f"factor must not be negative ({params['factor']})")
    if "min" in params and "max" in params and params["min"] > params["max"]:
        raise RenderError(source, variable, f"min ({params['min']}) is greater than max ({params['max']})")
    rounding = params.get("round", "round")
    if rounding not in ROUNDING:
        raise RenderError(source, variable, f"round must be one of {', '.join(ROUNDING)}, not {rounding!r}",
                          _suggest(str(rounding), ROUNDING))


def _check_set(params: Mapping, source: str, variable: str) -> None:
    _check_depth(params["value"], source, variable)

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


def _check_nothing(params: Mapping, source: str, variable: str) -> None:
    return None


_CHECK_PARAMS = MappingProxyType({
    "scale": _check_scale, "set": _check_set, "template": _check_template, "drop": _check_nothing,
})


# ---------------------------------------------------------------------------
# Root module variables


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
    name = _hcl_key(label, source, label)
    description = body.get("description", '""')
    has_default = "default" in body
    return ModuleVariable(
        name=name,
        type=_normalise_type(body.get("type")),
        has_default=has_default,
        default=_hcl_literal(body["default"], source, name) if has_default else None,
        sensitive=body.get("sensitive") is True,
        description=_hcl_string(description, source, name) if isinstance(description, str) else "",
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
        raw, _ = _parsed(_read_text(path, DEFAULT_MAX_BYTES), source)
        for block in raw.get("variable", []):
            for label, body in block.items():
                variable = _module_variable(label, body, source)
                if variable.name in found:
                    raise RenderError(source, variable.name,
                                      f"declared again (also in {where[variable.name]})")
                found[variable.name] = variable
                where[variable.name] = source
    return found


# ---------------------------------------------------------------------------
# Rules: each takes (override, production, declaration, context) and returns the staging value.


def _scale(override: Override, production: Any, declared: ModuleVariable | None,
           context: RenderContext) -> Any:
    if not _is_number(production):
        shown = "not set, and the module default is not a number" if production is UNSET \
            else f"a {_kind(production) or 'null'}"
        raise RenderError(override.source, override.variable, f"scale needs a number; the production "
                                                               f"value is {shown}")
    params = override.params
    result = Decimal(str(production)) * Decimal(str(params["factor"]))
    if "min" in params:
        result = max(result, Decimal(str(params["min"])))
    if "max" in params:
        result = min(result, Decimal(str(params["max"])))
    is_int = isinstance(production, int)
    rounding = params.get("round", "round" if is_int else "none")
    if rounding != "none":
        result = result.quantize(Decimal(1), rounding=_DECIMAL_ROUNDING[rounding])
    if not is_int:
        return float(result)
    if result != result.to_integral_value():
        raise RenderError(override.source, override.variable, f"scaling {production} gives {result}, "
                                                               "not a whole number; set round = "
                                                               "'ceil', 'floor' or 'round'")
    return int(result)


def _set(override: Override, production: Any, declared: ModuleVariable | None,
         context: RenderContext) -> Any:
    return copy.deepcopy(override.params["value"])


def _template(override: Override, production: Any, declared: ModuleVariable | None,
              context: RenderContext) -> Any:
    from jinja2 import TemplateError, UndefinedError
    from jinja2.sandbox import SecurityError

    from provisioner.support.templating import sandbox

    # Everything user-controlled is data in this scope, never template source.
    scope = {"stack": context.stack.slug, "branch": context.stack.branch, "pr": context.pr,
             "owner": context.owner, "production": None if production is UNSET else production}
    where = (override.source, override.variable)
    try:
        text = sandbox().from_string(override.params["template"]).render(scope)
    except SecurityError as exc:
        raise RenderError(*where, f"template did something the sandbox forbids: {exc}") from exc
    except UndefinedError as exc:
        raise RenderError(*where, f"template uses an undefined name: {exc.message}; in scope are "
                                  f"{', '.join(sorted(scope))}") from exc
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderError(*where, f"template failed: {exc}") from exc
    if len(text) > MAX_TEMPLATE_OUTPUT:
        raise RenderError(*where, f"template output is {len(text)} characters; the limit is "
                                  f"{MAX_TEMPLATE_OUTPUT}")
    return text


def _drop(override: Override, production: Any, declared: ModuleVariable | None,
          context: RenderContext) -> Any:
    if declared is None or not declared.has_default:
        raise RenderError(override.source, override.variable, "drop needs a module default, and the root "
                                                               "module declares none: Terraform would "
                                                               "have no value")
    return UNSET


_RULES = MappingProxyType({"scale": _scale, "set": _set, "template": _template, "drop": _drop})


# ---------------------------------------------------------------------------
# Render


def _check_kind(variable: str, staging: Any, production: Any, declared: ModuleVariable | None,
                source: str, rule: str) -> None:
    """Refuse a staging value whose kind differs from production's (or the declared type's)."""
    expected = _kind(production)
    if expected is None and declared is not None:
        expected = _type_kind(declared.type)
    actual = _kind(staging)
    if expected is None or actual is None or expected == actual:
        return
    if rule == "template":
        raise RenderError(source, variable, f"a template renders a string, but the variable is a {expected}")
    if rule == "injected":
        raise RenderError(source, variable, f"the provisioner's value is a {actual}, but the variable is "
                                            f"a {expected}")
    raise RenderError(source, variable, f"{rule} would change its type from {expected} to {actual}")


def _check_declared(baseline: Baseline, module_vars: Mapping[str, ModuleVariable]) -> None:
    for name in baseline.values:
        if name not in module_vars:
            raise RenderError(baseline.path, name, "is set by the baseline but the root module declares no "
                                                   "such variable", _suggest(name, module_vars))


def _check_injected(baseline: Baseline, overrides: tuple[Override, ...],
                    module_vars: Mapping[str, ModuleVariable], injected: Mapping) -> None:
    for name, (value, reason) in injected.items():
        if name in baseline.values:
            raise RenderError(baseline.path, name, f"is set by the provisioner ({reason}); the baseline "
                                                   "must not set it too")
        for override in overrides:
            if override.variable == name:
                raise RenderError(override.source, name, f"is set by the provisioner ({reason}); an "
                                                         "override must not set it too")
        declared = module_vars.get(name)
        if declared is None:
            raise RenderError("root module", name, f"the provisioner sets it ({reason}) but the root module "
                                                   "declares no such variable", _suggest(name, module_vars))
        _check_kind(name, value, UNSET, declared, "root module", "injected")


def _check_overrides_unique(overrides: tuple[Override, ...]) -> None:
    seen: set[str] = set()
    for override in overrides:
        if override.variable in seen:
            raise RenderError(override.source, override.variable, "is overridden twice")
        seen.add(override.variable)


def _check_production_only_covered(baseline: Baseline, overrides: tuple[Override, ...]) -> None:
    covered = {override.variable for override in overrides}
    for name, why in baseline.production_only.items():
        if name not in covered:
            raise RenderError(baseline.path, name, f"is production-only ({why}) but no override replaces "
                                                   "it; add a set, template or drop override")


def _guard_production_only(override: Override, staging: Any, production: Any, why: str,
                           declared: ModuleVariable | None) -> None:
    where = (override.source, override.variable)
    if override.rule not in PRODUCTION_ONLY_RULES:
        raise RenderError(*where, f"is production-only ({why}); replace it with set, template or drop, "
                                  f"not {override.rule}")
    effective = declared.default if staging is UNSET and declared is not None else staging
    if _same(effective, production):
        raise RenderError(*where, f"is production-only ({why}) but the staging value equals the "
                                  "production value")


def _apply(override: Override, baseline: Baseline, module_vars: Mapping[str, ModuleVariable],
           context: RenderContext) -> Any:
    """The staging value of one override (``UNSET`` for drop), after every check."""
    name = override.variable
    declared = module_vars.get(name)
    if declared is None and name not in baseline.values:
        raise RenderError(override.source, name, "neither the baseline nor the root module has this "
                                                 "variable", _suggest(name, [*baseline.values, *module_vars]))
    if override.rule == "drop" and name not in baseline.values:
        raise RenderError(override.source, name, "the baseline does not set it, so there is nothing to drop")
    production = baseline.values.get(name, UNSET)
    if production is UNSET and declared is not None and declared.has_default:
        production = declared.default  # what production actually runs with
    staging = _RULES[override.rule](override, production, declared, context)
    if staging is not UNSET:
        _check_kind(name, staging, production, declared, override.source, override.rule)
    if name in baseline.production_only:
        _guard_production_only(override, staging, production, baseline.production_only[name], declared)
    return staging


def inputs_digest(baseline: Baseline, overrides: tuple[Override, ...]) -> str:
    """sha256 of the canonical JSON of the baseline (values, markers) and the overrides."""
    payload = {
        "baseline": baseline.values,
        "production_only": baseline.production_only,
        "overrides": [{"variable": o.variable, "rule": o.rule, "reason": o.reason, "params": dict(o.params)}
                      for o in overrides],
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()


def render(baseline: Baseline, overrides: tuple[Override, ...], module_vars: Mapping[str, ModuleVariable],
           context: RenderContext, *, injected: Mapping[str, tuple[Any, str]] = MappingProxyType({}),
           guards: Guards = Guards()) -> Rendered:
    """Baseline values, then each override, then the injected variables; every change reported.

    Refuses a sensitive variable in the baseline or an override, and any production identifier
    left anywhere in the result (``guards``)."""
    overrides = tuple(overrides)
    _check_declared(baseline, module_vars)
    _check_injected(baseline, overrides, module_vars, injected)
    _check_overrides_unique(overrides)
    _check_sensitive(baseline, overrides, module_vars, guards)
    tfvars = copy.deepcopy(baseline.values)
    sources = dict.fromkeys(tfvars, baseline.path)
    differences = []
    for override in overrides:
        name = override.variable
        staging = _apply(override, baseline, module_vars, context)
        if staging is UNSET:
            tfvars.pop(name, None)
        else:
            tfvars[name] = staging
        sources[name] = override.source
        differences.append(Difference(name, baseline.values.get(name, UNSET), staging, override.rule,
                                      override.reason, False, name in baseline.production_only))
    _check_production_only_covered(baseline, overrides)
    for name, (value, reason) in injected.items():
        tfvars[name] = copy.deepcopy(value)
        sources[name] = f"injected by the provisioner ({reason})"
        differences.append(Difference(name, UNSET, value, "injected", reason, module_vars[name].sensitive))
    _check_identifiers(tfvars, sources, guards, first=tuple(injected))
    differences += _secret_differences(guards)
    return Rendered(tfvars=tfvars, differences=tuple(differences), digest=inputs_digest(baseline, overrides))


def _secret_differences(guards: Guards) -> list[Difference]:
    """One masked row per configured secret, so reviewers see where each one comes from."""
    return [Difference(name, UNSET, source, "secret", f"Terraform gets TF_VAR_{name} from {source}; "
                       "never written to a file", sensitive=True)
            for name, source in sorted(guards.secrets.items())]


def _check_sensitive(baseline: Baseline, overrides: tuple[Override, ...],
                     module_vars: Mapping[str, ModuleVariable], guards: Guards) -> None:
    """A secret never goes through the baseline or an override: they end up in files and reports."""
    for name in guards.secrets:
        if name not in module_vars:
            raise RenderError(f"{guards.source} [secrets]", name, "the root module declares no such "
                                                                  "variable", _suggest(name, module_vars))
    sensitive = {name for name, v in module_vars.items() if v.sensitive} | set(guards.secrets)
    in_baseline = sorted(sensitive & set(baseline.values))
    if in_baseline:
        name = in_baseline[0]
        raise RenderError(baseline.path, name, "is sensitive: a secret never goes in the baseline (it would "
                                               f"be copied into the rendered files); {_secret_hint(name)}")
    for override in overrides:
        if override.variable in sensitive:
            raise RenderError(override.source, override.variable, "is sensitive: an override would write "
                                                                  "it into the rendered files; "
                                                                  + _secret_hint(override.variable))


def _secret_hint(name: str) -> str:
    return (f"remove it and give it a source in [secrets]: {name} = \"env:NAME\", \"ssm:/path\" or "
            "\"secretsmanager:name\"")


def _identifier_in(value: Any, needles: Mapping[str, str], path: str) -> tuple[str, str] | None:
    """(path, identifier) of the first production identifier inside ``value``, else None."""
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}[{json.dumps(key, ensure_ascii=False)}]"
            found = _identifier_in(str(key), needles, f"{inner} (the key)") or \
                _identifier_in(item, needles, inner)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _identifier_in(item, needles, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, str) or _is_number(value):
        text = str(value).casefold()
        for folded, shown in needles.items():
            if folded in text:
                return path, shown
    return None


def _check_identifiers(tfvars: Mapping[str, Any], sources: Mapping[str, str], guards: Guards,
                       first: tuple[str, ...] = ()) -> None:
    """Refuse any production identifier anywhere in the staging variables, naming where it is.

    ``first`` (the injected variables) are checked first: when the stack name holds an identifier,
    that is the cause, not the templates that repeat it."""
    needles = {ident.casefold(): ident for ident in guards.identifiers if ident}
    if not needles:
        return
    for name in sorted(tfvars, key=lambda n: (n not in first, n)):
        found = _identifier_in(tfvars[name], needles, name)
        if found:
            path, ident = found
            where = "" if path == name else f" at {path}"
            fix = "it is derived from the branch name: use another branch name" if name in first \
                else "override it with a staging value"
            raise RenderError(sources.get(name, "staging variables"), name,
                              f"the staging value{where} contains the production identifier {ident!r} "
                              f"([production] in {guards.source}); staging must never reference "
                              f"production: {fix}")


# ---------------------------------------------------------------------------
# Output


def write_tfvars(rendered: Rendered, path: str | os.PathLike) -> Path:
    """Write ``rendered.tfvars`` as JSON, mode 0600, atomically (temp file + rename)."""
    from provisioner.support.files import write_private_json

    return write_private_json(path, rendered.tfvars)


def _show(value: Any, mask: str | None, unset: str, width: int = REPORT_VALUE_WIDTH) -> str:
    """A value as one line of compact JSON, non-printable characters escaped, elided past ``width``."""
    if value is UNSET:
        return unset
    if mask:
        return mask
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    return text if len(text) <= width else text[:width - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def format_differences(rendered: Rendered) -> str:
    """The differences as a fixed-width text table (templates/differences.txt.j2)."""
    from provisioner.support.templating import render_template

    columns = ("variable", "production", "staging", "rule", "reason")
    rows = [{"variable": _one_line(d.variable),
             "production": _show(d.production, d.mask("production"), "(not set)"),
             "staging": _show(d.staging, d.mask("staging"), "(module default)"), "rule": d.rule,
             "reason": _one_line(d.reason)}
            for d in rendered.differences]
    headers = {column: column for column in columns}
    widths = {column: max([len(headers[column])] + [len(row[column]) for row in rows]) for column in columns}
    dashes = {column: "-" * widths[column] for column in columns}
    return render_template(DIFFERENCES_TEMPLATE, columns=columns, headers=headers, dashes=dashes, rows=rows,
                           widths=widths, digest=rendered.digest)
