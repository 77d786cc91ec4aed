"""GitHub Actions expressions (``${{ ... }}``, ``if:``), enough to evaluate our own workflows.

A small evaluator of GitHub's expression language as documented ("Evaluate expressions in
workflows and actions"): literals, context property and index access (a missing property is null),
``!``, ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=`` (strings compared case-insensitively), ``&&`` and
``||`` (which return an operand, as in JavaScript), and the functions the workflows use. Anything
else raises ``ExpressionError``, so a workflow using more than this is noticed, not misread.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|<=|>=|&&|\|\||[!<>().\[\],*])
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""", re.VERBOSE)


class ExpressionError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in {text!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value  # NaN is falsy


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_fold(item) == _fold(needle) for item in haystack)
    return str(_fold(needle)) in str(_fold(haystack if haystack is not None else ""))


def _to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge,
}


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], functions: Mapping[str, Callable]):
        self.toks, self.i, self.text = _tokens(text), 0, text
        self.contexts, self.functions = contexts, functions

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise ExpressionError(f"unexpected end of {self.text!r}")
        tok = self.toks[self.i]
        if expected is not None and tok[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {tok[1]!r} in {self.text!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        if self.i != len(self.toks):
            raise ExpressionError(f"unexpected {self.peek()!r} in {self.text!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            right = self.unary()
            value = _COMPARE[op](_fold(value), _fold(right))
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek() == "(":
            return self.call(text)
        if text not in self.contexts:
            raise ExpressionError(f"unknown context {text!r} in {self.text!r}")
        return self.contexts[text]

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.or_())
            if self.peek() == ",":
                self.take()
        self.take(")")
        fn = self.functions.get(name.lower())
        if fn is None:
            raise ExpressionError(f"function {name!r} is not supported here ({self.text!r})")
        return fn(*args)

    def postfix(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            if isinstance(value, Mapping):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int):
                value = value[key] if 0 <= key < len(value) else None
            else:
                value = None
        return value


def functions(status: str = "success") -> dict[str, Callable]:
    """The expression functions; ``status`` is the job status so far (success, failure, cancelled)."""
    return {
        "contains": _contains,
        "startswith": lambda a, b: str(_fold(a)).startswith(str(_fold(b))),
        "endswith": lambda a, b: str(_fold(a)).endswith(str(_fold(b))),
        "fromjson": lambda s: json.loads(s),
        "tojson": lambda v: json.dumps(v, indent=2),
        "format": lambda f, *a: re.sub(r"\{(\d+)\}", lambda m: _to_string(a[int(m.group(1))]), f),
        "success": lambda: status == "success",
        "failure": lambda: status == "failure",
        "cancelled": lambda: status == "cancelled",
        "always": lambda: True,
    }


def evaluate(text: str, contexts: Mapping[str, Any], status: str = "success") -> Any:
    return _Parser(text, contexts, functions(status)).parse()


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def substitute(text: str, contexts: Mapping[str, Any]) -> str:
    """``text`` with every ``${{ expr }}`` replaced by its value as a string."""
    return _TEMPLATE.sub(lambda m: _to_string(evaluate(m.group(1), contexts)), text)


def condition(expr: Any, contexts: Mapping[str, Any], status: str = "success") -> bool:
    """An ``if:`` value: without a status function it also requires success(), as GitHub does."""
    if expr is None:
        return status == "success"
    if isinstance(expr, bool):
        return expr and status == "success"
    text = str(expr).strip()
    whole = _TEMPLATE.fullmatch(text)
    if whole:
        text = whole.group(1)
    elif "${{" in text:
        raise ExpressionError(f"if: mixes text and ${{{{ }}}}: {expr!r} (always true on GitHub)")
    value = truthy(evaluate(text, contexts, status))
    if not re.search(r"\b(success|failure|cancelled|always)\s*\(", text):
        value = value and status == "success"
    return value


def load(path: Path) -> dict[str, Any]:
    """A workflow or action file; YAML's `on:` key (read as True by YAML 1.1) is given back as 'on'."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data
