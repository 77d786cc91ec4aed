"""Reading the production baseline: ``.tfvars`` (HCL, with ``# @production-only`` markers) or
``.tfvars.json`` (with a ``//production_only`` object), bounded in size and depth."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from provisioner.errors import RenderError
from provisioner.render.model import DEFAULT_MAX_BYTES, JSON_MARKER_KEY, MAX_DEPTH, Baseline
from provisioner.render.values import check_depth, suggest, value_kind

_MARKER = re.compile(r"^\s*(?:#|//)\s*@production-only\b(?P<rest>.*)$")
_MARKER_WORD = "@production-only"


def read_text(path: str | os.PathLike, max_bytes: int | None = None) -> str:
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


def parsed(text: str, source: str) -> tuple[dict, list[tuple[str, str | None, Any]]]:
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


def hcl_string(raw: str, source: str, variable: str) -> str:
    """The value of a string as python-hcl2 returns it (quotes kept); refuse expressions."""
    if len(raw) < 2 or not (raw.startswith('"') and raw.endswith('"')):
        raise RenderError(source, variable, f"{raw} is an expression; a variable file holds literal "
                                            "values only")
    from hcl2.utils import process_escape_sequences

    inner, i = raw[1:-1], 0
    out: list[str] = []
    chunk: list[str] = []
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


def hcl_key(raw: str, source: str, variable: str) -> str:
    if raw.startswith('"'):
        return hcl_string(raw, source, variable)
    if raw.startswith("${"):
        raise RenderError(source, variable, f"object key {raw} is an expression")
    return raw


def hcl_literal(value: Any, source: str, variable: str) -> Any:
    """Decode one serialized HCL value into plain JSON-able Python."""
    if isinstance(value, str):
        return hcl_string(value, source, variable)
    if isinstance(value, list):
        return [hcl_literal(item, source, variable) for item in value]
    if isinstance(value, dict):
        if "__is_block__" in value:
            raise RenderError(source, variable, "blocks are not values")
        return {hcl_key(k, source, variable): hcl_literal(v, source, variable) for k, v in value.items()}
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
    raw, layout = parsed(text, source)
    attributes = _top_level_attributes(layout, source)
    values = {name: hcl_literal(raw[name], source, name) for name in attributes}
    return values, _hcl_markers(text, attributes, source)


def _json_object(source: str) -> Callable[[list[tuple[str, Any]]], dict]:
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
                                        f"{value_kind(data) or 'null'}")
    markers = data.get(JSON_MARKER_KEY, {})
    if not isinstance(markers, dict):
        raise RenderError(source, JSON_MARKER_KEY, 'must be an object {"variable": "why", ...}')
    values = {k: v for k, v in data.items() if k != JSON_MARKER_KEY}
    for name, why in markers.items():
        if name not in values:
            raise RenderError(source, name, f"is marked in {JSON_MARKER_KEY} but the file does not set it",
                              suggest(name, values))
        if not isinstance(why, str) or not why.strip():
            raise RenderError(source, name, f"the {JSON_MARKER_KEY} entry needs a reason "
                                            "(a non-empty string)")
    return values, {name: why.strip() for name, why in markers.items()}


def load_baseline(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Baseline:
    """Read a production ``.tfvars`` or ``.tfvars.json``; refuses big, malformed or non-object files."""
    source = str(path)
    text = read_text(path, max_bytes)
    loader = _load_json if source.endswith(".json") else _load_hcl
    values, production_only = loader(text, source)
    for name, value in values.items():
        check_depth(value, source, name)
    return Baseline(path=source, values=values, production_only=production_only)
