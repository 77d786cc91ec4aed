"""Typed specs of the ``[health]`` and ``[tests]`` config tables.

Each health check is a named table ``[health.checks.<name>]`` with a ``kind`` and its own retry
budget (``timeout`` per attempt, ``attempts``, ``wait`` between them). Text fields that name
something in the stack (``url``, ``address``, ``table``, ...) are sandboxed Jinja2 templates over
``outputs``, ``stack``, ``branch`` and ``pr``: the stack's names are only known after apply.

Parsing a dict (``parse_health``, ``parse_tests``) is separate from loading a file, as for the
rest of the config. Keys are checked by hand before msgspec converts the values, so an unknown
key is reported with the nearest valid one for *its* kind, and every error names the file and the
dotted key (``health.checks.web.stauts``).
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta, Struct

from provisioner.errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_KEYS = frozenset({"timeout", "wait"})


class _Check(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    """What every check has: its name (the table key) and its retry budget."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ()

    name: str = ""
    timeout: Annotated[float, Meta(gt=0, le=600)] = 10.0    # seconds, one attempt
    attempts: Annotated[int, Meta(ge=1, le=50)] = 3
    wait: Annotated[float, Meta(ge=0, le=600)] = 2.0        # seconds between attempts
    # Skip (not fail) the check when its template names an output that is missing or null:
    # e.g. a load balancer URL on a stack built without a load balancer.
    optional: bool = False


class HttpCheck(_Check, frozen=True, tag="http"):
    """GET ``url``; pass on ``status`` (and ``body`` as a substring). TLS errors fail the check."""

    TEMPLATES = ("url",)
    url: str
    status: Annotated[int, Meta(ge=100, le=599)] = 200
    body: str | None = None


class TcpCheck(_Check, frozen=True, tag="tcp"):
    """Open a TCP connection to ``address`` ("host:port", "[v6]:port")."""

    TEMPLATES = ("address",)
    address: str


class DynamoTableCheck(_Check, frozen=True, tag="dynamodb_table"):
    """The table exists and is ACTIVE."""

    TEMPLATES = ("table",)
    table: str


class SqsQueueCheck(_Check, frozen=True, tag="sqs_queue"):
    """The queue answers GetQueueAttributes."""

    TEMPLATES = ("queue_url",)
    queue_url: str


class S3BucketCheck(_Check, frozen=True, tag="s3_bucket"):
    """The bucket answers HeadBucket."""

    TEMPLATES = ("bucket",)
    bucket: str


class AlarmsCheck(_Check, frozen=True, tag="cloudwatch_alarms"):
    """No alarm of the stack is in ALARM. Without ``prefix`` the stack's alarms are those tagged
    ``staging:stack`` = slug (the provider's default tags); with it, alarms named ``prefix...``."""

    TEMPLATES = ("prefix",)
    prefix: str | None = None


class EcsServiceCheck(_Check, frozen=True, tag="ecs_service"):
    """The service's running count equals its desired count (and desired is not 0)."""

    TEMPLATES = ("cluster", "service")
    cluster: str
    service: str


Check = (HttpCheck | TcpCheck | DynamoTableCheck | SqsQueueCheck | S3BucketCheck | AlarmsCheck
         | EcsServiceCheck)
KINDS: Mapping[str, type[_Check]] = {
    str(cls.__struct_config__.tag): cls
    for cls in (HttpCheck, TcpCheck, DynamoTableCheck, SqsQueueCheck, S3BucketCheck, AlarmsCheck,
                EcsServiceCheck)
}
_HEALTH_KEYS = ("checks", "parallel")


class HealthSpec(Struct, frozen=True, kw_only=True):
    """The ``[health]`` table: the checks, in file order, and how many run at once."""

    checks: tuple[Check, ...] = ()
    parallel: int = 8


class TestsSpec(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[tests]`` table: a command run without a shell against the stack."""

    __test__: ClassVar[bool] = False   # not a pytest test class, despite the name

    command: str
    timeout: Annotated[float, Meta(gt=0, le=6 * 3600)] = 900.0
    workdir: str | None = None       # relative to the config file; default: the root module
    env: dict[str, str] = {}         # extra environment (plain values; secrets go through [secrets])
    tail_bytes: Annotated[int, Meta(ge=256, le=65536)] = 4096

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)


def parse_seconds(value: Any) -> float:
    """30, 2.5, '500ms', '30s', '2m', '1h' -> seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("must be a number of seconds or text like '30s', '2m'")
    if isinstance(value, int | float):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{str(value)[:40]!r} is not a duration like '30s', '2m', '500ms'")
    return float(m.group(1)) * _UNIT[m.group(2)]


def _unknown_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: str, source: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
            raise ConfigError(source, f"{where}.{key}", "unknown key", close[0] if close else None)


def _fields(cls: type[Struct]) -> tuple[str, ...]:
    return tuple(f.name for f in msgspec.structs.fields(cls))


def _msgspec_problem(exc: msgspec.ValidationError, where: str, source: str) -> ConfigError:
    m = re.fullmatch(r"(.*?)(?: - at `\$\.?(.*)`)?", str(exc), re.S)
    problem, path = (m.group(1), m.group(2) or "") if m else (str(exc), "")
    key = f"{where}.{path}" if path else where
    if missing := re.fullmatch(r"Object missing required field `(.*)`", problem):
        return ConfigError(source, f"{key}.{missing.group(1)}", "required key is missing")
    if typed := re.fullmatch(r"Expected `([\w| ]+)`, got `(\w+)`", problem):
        return ConfigError(source, key, f"must be {typed.group(1).replace(' | ', ' or ')}, got "
                                        f"{typed.group(2)}")
    if bound := re.fullmatch(r"Expected `\w+` (>=|<=|>|<) (\S+)", problem):
        return ConfigError(source, key, f"must be {bound.group(1)} {bound.group(2).removesuffix('.0')}")
    return ConfigError(source, key, problem)


def _durations(table: dict[str, Any], where: str, source: str) -> dict[str, Any]:
    out = dict(table)
    for key in DURATION_KEYS & out.keys():
        try:
            out[key] = parse_seconds(out[key])
        except ValueError as exc:
            raise ConfigError(source, f"{where}.{key}", str(exc)) from None
    return out


# Text and `{{ name.attr }}` substitutions only: valid Jinja2 by construction, so the check needs no
# Jinja2 (importing it is ~30 ms of every command that loads a config with checks, list included).
# Anything else (filters, blocks, comments, whitespace control, keywords) is parsed by Jinja2.
_TEXT = r"(?:[^{]|\{(?![{%#]))*"
_KEYWORDS = r"(?!(?:and|or|not|in|is|if|else)\b)"
_DOTTED = rf"{_KEYWORDS}[A-Za-z_][A-Za-z0-9_]*(?:\.{_KEYWORDS}[A-Za-z_][A-Za-z0-9_]*)*"
_SIMPLE_TEMPLATE = re.compile(rf"{_TEXT}(?:\{{\{{ ?{_DOTTED} ?\}}\}}{_TEXT})*")


def is_simple_template(text: str) -> bool:
    """Whether ``text`` is plain text with ``{{ dotted.names }}`` only (valid Jinja2 syntax)."""
    return _SIMPLE_TEMPLATE.fullmatch(text) is not None


def _compile_templates(check: _Check, where: str, source: str) -> None:
    texts = [(f, t) for f in check.TEMPLATES if (t := getattr(check, f)) is not None]
    if all(is_simple_template(t) for _, t in texts):
        return
    # Jinja2 only when a template needs it: a command's start-up must not pay for it (~30 ms).
    from jinja2 import TemplateSyntaxError

    from provisioner.support.templating import sandbox

    env = sandbox()
    for field, text in texts:
        try:
            env.parse(text)
        except TemplateSyntaxError as exc:
            raise ConfigError(source, f"{where}.{field}", f"not a valid template: {exc.message}") from None


def _parse_check(name: str, table: Any, where: str, source: str) -> Check:
    if not isinstance(table, dict):
        raise ConfigError(source, where, "must be a table")
    if not _NAME.fullmatch(name):
        raise ConfigError(source, where, "a check name is 1-64 characters of [A-Za-z0-9_.-]")
    kind = table.get("kind")
    if kind is None:
        raise ConfigError(source, f"{where}.kind", f"required key is missing (one of {', '.join(KINDS)})")
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), list(KINDS), n=1, cutoff=0.5)
        raise ConfigError(source, f"{where}.kind", f"unknown kind {str(kind)[:40]!r}; one of "
                                                   f"{', '.join(KINDS)}", close[0] if close else None)
    allowed = tuple(f for f in _fields(KINDS[kind]) if f != "name")
    _unknown_keys(table, ("kind", *allowed), where, source)
    try:
        check: Check = msgspec.convert({**_durations(table, where, source), "name": name}, Check)
    except msgspec.ValidationError as exc:
        raise _msgspec_problem(exc, where, source) from None
    _compile_templates(check, where, source)
    return check


def parse_health(data: Mapping[str, Any], source: str, *, key: str = "health") -> HealthSpec:
    """The ``[health]`` table (a dict from TOML) -> HealthSpec; raises ConfigError naming the key."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, key, "must be a table")
    _unknown_keys(data, _HEALTH_KEYS, key, source)
    checks = data.get("checks", {})
    if not isinstance(checks, Mapping):
        raise ConfigError(source, f"{key}.checks", "must be a table of named checks")
    parallel = data.get("parallel", 8)
    if isinstance(parallel, bool) or not isinstance(parallel, int) or not 1 <= parallel <= 32:
        raise ConfigError(source, f"{key}.parallel", "must be an integer from 1 to 32")
    parsed = tuple(_parse_check(str(name), table, f"{key}.checks.{name}", source)
                   for name, table in checks.items())
    return HealthSpec(checks=parsed, parallel=parallel)


def parse_tests(data: Mapping[str, Any], source: str, *, key: str = "tests") -> TestsSpec:
    """The ``[tests]`` table -> TestsSpec. The command must split (shlex) into a program and args."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, key, "must be a table")
    _unknown_keys(data, _fields(TestsSpec), key, source)
    try:
        spec = msgspec.convert(_durations(dict(data), key, source), TestsSpec)
    except msgspec.ValidationError as exc:
        raise _msgspec_problem(exc, key, source) from None
    try:
        argv = spec.argv
    except ValueError as exc:
        raise ConfigError(source, f"{key}.command", f"cannot split into arguments: {exc}") from None
    if not argv:
        raise ConfigError(source, f"{key}.command", "is empty")
    for name in spec.env:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(source, f"{key}.env.{name}", "is not an environment variable name")
    return spec
