"""Typed settings from ``staging.toml``.

Loading a file (``load``) is separate from validating a dict (``validate``).
Unknown keys are rejected with the nearest valid name suggested; every error
names the file and the dotted key.

Validation is msgspec (types, ranges, unknown keys) followed by each table's own checks
(``_checks`` per key, ``_check`` across keys). msgspec imports in ~3 ms; pydantic, which this
module used before, cost ~0.15 s of every command's start-up (``provisioner list --json``).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct, field

from provisioner.config import retry
from provisioner.domain.naming import DEFAULT_NAME_LIMIT, MIN_NAME_LIMIT
from provisioner.errors import ConfigError

CONFIG_ENV = "PROVISIONER_CONFIG"
DEFAULT_CONFIG_NAME = "staging.toml"
MAX_CONFIG_BYTES = 1024 * 1024

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_DDB_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def parse_duration(text: str | int) -> int:
    """'48h' -> 172800. Plain integers are seconds."""
    if isinstance(text, bool):
        raise ValueError("a duration is text like '48h', '30m', '7d'")
    if isinstance(text, int):
        if text <= 0:
            raise ValueError("a duration must be positive")
        return text
    m = _DURATION.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like '48h', '30m', '7d'")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def _table_name(v: str) -> str:
    if not _DDB_TABLE.fullmatch(v):
        raise ValueError(f"{v!r} is not a valid DynamoDB table name")
    return v


class _Strict(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A config table. msgspec checks types, ranges and unknown keys; then ``_checks`` (key ->
    function returning the normalized value or raising ValueError) and ``_check`` (across keys)."""

    _checks: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    def _check(self) -> None:
        """Checks across keys; raise ValueError."""


def _regex_check(pattern: str, problem: str) -> Callable[[str | None], str | None]:
    def check(v: str | None) -> str | None:
        if v is not None and not re.fullmatch(pattern, v):
            raise ValueError(f"{v!r} {problem}")
        return v
    return check


def _duration_check(v: str) -> str:
    parse_duration(v)
    return v


def _url_check(example: str, pattern: str) -> Callable[[str | None], str | None]:
    matches = _regex_check(pattern, f"is not an http(s) URL like {example!r}")

    def check(v: str | None) -> str | None:
        v = matches(v)
        return v.rstrip("/") if v else v
    return check


class Project(_Strict):
    root_module: str                    # Terraform root module directory
    baseline: str                       # production variable file (.tfvars or .tfvars.json)
    overrides: str                      # staging overrides (TOML)
    # directory copied per stack (must contain root_module and every local module it uses);
    # default: the root module's parent
    module_tree: str | None = None
    state_dir: str = ".provisioner"     # local working state
    name_variable: str = "name"         # root module variable that receives the slug


class Target(_Strict):
    kind: Literal["local", "aws"] = "local"
    region: str = "us-east-1"
    profile: str | None = None
    role_arn: str | None = None
    endpoint: str | None = None         # local only: an emulator already running
    emulator_port: Annotated[int, Meta(ge=0, le=65535)] = 0   # local only: 0 picks a free port

    _checks = {
        "region": _regex_check(r"[a-z]{2}(-gov)?-[a-z]+-\d", "is not an AWS region like 'us-east-1'"),
        "endpoint": _url_check("http://127.0.0.1:5000", r"https?://[^\s/]+(:\d+)?/?"),
    }

    def _check(self) -> None:
        if self.kind == "aws" and self.endpoint:
            raise ValueError("'endpoint' is for the local emulator; remove it for kind = 'aws'")
        if self.kind == "local" and (self.profile or self.role_arn):
            raise ValueError("'profile' and 'role_arn' are for kind = 'aws'")


def _bucket_check(v: str) -> str:
    if not _S3_BUCKET.fullmatch(v) or ".." in v:
        raise ValueError(f"{v!r} is not a valid S3 bucket name")
    return v


def _prefix_check(v: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", v) or ".." in v.split("/"):
        raise ValueError(f"{v!r} must be path segments of [A-Za-z0-9_.-] without '..'")
    return v


class Backend(_Strict):
    bucket: str = "staging-tfstate"
    key_prefix: str = "staging"
    locking: Literal["lockfile", "dynamodb", "none"] = "lockfile"
    lock_table: str = "staging-tflocks"
    lock_timeout: str = "0s"

    _checks = {"bucket": _bucket_check, "key_prefix": _prefix_check, "lock_table": _table_name}


class Registry(_Strict):
    table: str = "staging-environments"

    _checks = {"table": _table_name}

    @property
    def lease_table(self) -> str:
        """Operation leases, one per stack being worked on."""
        return f"{self.table}-leases"

    @property
    def audit_table(self) -> str:
        return f"{self.table}-audit"


class Stacks(_Strict):
    default_ttl: str = "48h"
    max_ttl: str = "168h"
    idle_ttl: str = "24h"               # expire a stack this long after its last spinup
    name_limit: Annotated[int, Meta(ge=MIN_NAME_LIMIT, le=63)] = DEFAULT_NAME_LIMIT
    max_live: Annotated[int, Meta(ge=0)] = 0   # quota of live stacks; 0 = unlimited
    lease_ttl: str = "2m"               # an operation's lease lapses this long after its last heartbeat
    lease_wait: str = "15m"             # how long a second operation on a stack waits

    _checks = {name: _duration_check for name in ("default_ttl", "max_ttl", "idle_ttl", "lease_ttl",
                                                  "lease_wait")}

    def _check(self) -> None:
        if parse_duration(self.default_ttl) > parse_duration(self.max_ttl):
            raise ValueError("default_ttl is longer than max_ttl")

    @property
    def default_ttl_seconds(self) -> int:
        return parse_duration(self.default_ttl)

    @property
    def max_ttl_seconds(self) -> int:
        return parse_duration(self.max_ttl)

    @property
    def idle_ttl_seconds(self) -> int:
        return parse_duration(self.idle_ttl)

    @property
    def lease_ttl_seconds(self) -> int:
        return parse_duration(self.lease_ttl)

    @property
    def lease_wait_seconds(self) -> int:
        return parse_duration(self.lease_wait)


class Cleanup(_Strict):
    """The nightly `provisioner cleanup`."""

    parallel: Annotated[int, Meta(ge=1, le=32)] = 4   # teardowns at once, each in its own process
    failed_after: str = "6h"            # tear down failed stacks older than this

    _checks = {"failed_after": _duration_check}

    @property
    def failed_after_seconds(self) -> int:
        return parse_duration(self.failed_after)


class Engine(_Strict):
    command: str = "embedded"           # 'embedded' or the path of terraform/tofu
    provider_mirror: str | None = None  # filesystem mirror for offline installs
    plugin_cache: bool = True


def _patterns_check(v: tuple[str, ...]) -> tuple[str, ...]:
    retry.compile_patterns(v)
    return v


class Retry(_Strict):
    """Re-runs of Terraform commands that failed transiently, and boto3's retries (see retry.py)."""

    # runs of one Terraform command, the first included
    terraform_attempts: Annotated[int, Meta(ge=1, le=10)] = retry.DEFAULT_TERRAFORM_ATTEMPTS
    # regular expressions of transient Terraform errors (added to the defaults)
    terraform_patterns: tuple[str, ...] = ()
    # 'replace': terraform_patterns are the whole list, no defaults
    terraform_patterns_mode: Literal["extend", "replace"] = "extend"
    # seconds before the second run; doubles each time
    initial_wait: Annotated[float, Meta(ge=0, le=600)] = retry.DEFAULT_INITIAL_WAIT
    max_wait: Annotated[float, Meta(ge=0, le=3600)] = retry.DEFAULT_MAX_WAIT
    # attempts of each of the tool's own AWS calls, the first included
    aws_attempts: Annotated[int, Meta(ge=1, le=20)] = retry.DEFAULT_AWS_ATTEMPTS
    aws_mode: Literal["standard", "adaptive", "legacy"] = retry.DEFAULT_AWS_MODE

    _checks = {"terraform_patterns": _patterns_check}

    def _check(self) -> None:
        if self.terraform_patterns_mode == "replace" and not self.terraform_patterns:
            raise ValueError("terraform_patterns_mode = 'replace' needs terraform_patterns "
                             "(or set terraform_attempts = 1 to never retry)")


def _prices_check(v: dict[str, Any]) -> dict[str, float]:
    for name, price in v.items():
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise ValueError(f"price {name!r} must be a number >= 0 (USD per unit-hour)")
    return {name: float(price) for name, price in v.items()}


class Cost(_Strict):
    """`status` cost view: price name (or root module variable) -> USD per unit-hour (see cost.py)."""

    prices: dict[str, Any] = field(default_factory=dict)

    _checks = {"prices": _prices_check}


def _label_check(v: str | None) -> str | None:
    if v is not None and not 1 <= len(v) <= 50:
        raise ValueError("a GitHub label has 1 to 50 characters")
    return v


class GitHub(_Strict):
    """Pull-request previews (`provisioner pr-event`)."""

    # REST API base, e.g. https://ghe.example/api/v3 (default $GITHUB_API_URL, else api.github.com)
    api_url: str | None = None
    label: str | None = None            # only PRs carrying this label get a preview
    keep_label: str = "staging:keep"    # label that marks a stack as kept
    skip_drafts: bool = True
    allow_forks: bool = False
    deployments: bool = True            # create GitHub Deployments staging/<slug>
    comment_outputs: tuple[str, ...] | None = None   # outputs shown in the PR comment (default: all)

    _checks = {"api_url": _url_check("https://ghe.example.com/api/v3", r"https?://[^\s/?#]+(/[^\s?#]*)?"),
               "label": _label_check, "keep_label": _label_check}

    def _check(self) -> None:
        if self.label is not None and self.label == self.keep_label:
            raise ValueError("label and keep_label must differ")


def _unique_strings(values: tuple[str, ...], what: str, minimum: int = 1) -> tuple[str, ...]:
    cleaned = tuple(v.strip() for v in values)
    for v in cleaned:
        if len(v) < minimum:
            raise ValueError(f"{v!r} is too short for {what} (at least {minimum} characters)")
    return tuple(dict.fromkeys(cleaned))


def _accounts_check(v: tuple[str, ...]) -> tuple[str, ...]:
    for item in v:
        if not re.fullmatch(r"\d{12}", item.strip()):
            raise ValueError(f"{item!r} is not an AWS account id (12 digits, e.g. \"111111111111\")")
    return _unique_strings(v, "an account id")


def _prefixes_check(v: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = _unique_strings(v, "a state prefix")
    for item in cleaned:
        rest = item.removeprefix("s3://")
        bad_bucket = item.startswith("s3://") and not _S3_BUCKET.fullmatch(rest.split("/")[0])
        if not rest.strip("/") or bad_bucket:
            raise ValueError(f"{item!r} is not a key prefix or s3://bucket/prefix")
    return cleaned


class Production(_Strict):
    """What staging must never touch or reference (see guard.py and render's identifier scan)."""

    account_ids: tuple[str, ...] = ()   # production AWS account ids
    state_buckets: tuple[str, ...] = () # production state buckets
    # production state key prefixes: 'prefix' (any bucket) or 's3://bucket/prefix'
    state_prefixes: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()   # strings no staging variable may contain

    _checks = {"account_ids": _accounts_check,
               "state_buckets": lambda v: _unique_strings(v, "a state bucket", 3),
               "state_prefixes": _prefixes_check,
               "identifiers": lambda v: _unique_strings(v, "a production identifier", 3)}

    @property
    def forbidden(self) -> tuple[str, ...]:
        """Every string a staging variable must not contain: identifiers, account ids, state buckets."""
        return tuple(dict.fromkeys((*self.identifiers, *self.account_ids, *self.state_buckets)))


SECRET_SOURCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|ssm:[A-Za-z0-9_.\-/]{1,2048}"
                           r"|secretsmanager:[A-Za-z0-9/_+=.@:\-]{1,2048})$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _secret_source(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"must be a valid string like env:NAME, got {_kind(type(v).__name__)}")
    v = v.strip()
    if not SECRET_SOURCE.fullmatch(v):
        # The value is not echoed: it may be the secret itself, pasted by mistake.
        raise ValueError("is not a secret source (value not shown); use env:NAME, ssm:/parameter/name "
                         "or secretsmanager:secret-name, never the secret itself")
    return v


class Settings(_Strict):
    project: Project
    target: Target = field(default_factory=Target)
    backend: Backend = field(default_factory=Backend)
    registry: Registry = field(default_factory=Registry)
    stacks: Stacks = field(default_factory=Stacks)
    engine: Engine = field(default_factory=Engine)
    production: Production = field(default_factory=Production)
    # Sensitive root module variable -> where its value comes from (env:, ssm:, secretsmanager:).
    secrets: dict[str, Any] = field(default_factory=dict)
    github: GitHub = field(default_factory=GitHub)
    cost: Cost = field(default_factory=Cost)
    retry: Retry = field(default_factory=Retry)
    cleanup: Cleanup = field(default_factory=Cleanup)
    # Where the file was read from; paths in it are relative to this directory. Set by `validate`.
    base_dir: str = "."
    source: str = "<defaults>"

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def state_dir(self) -> Path:
        return self.path(self.project.state_dir)

    @property
    def root_module(self) -> Path:
        return self.path(self.project.root_module)

    @property
    def module_tree(self) -> Path:
        tree = self.project.module_tree
        return self.path(tree) if tree else self.root_module.parent


_INTERNAL = ("base_dir", "source")
_KINDS = {"int": "an integer", "str": "a string", "float": "a number", "bool": "a boolean",
          "array": "a list", "object": "a table", "null": "nothing", "list": "a list", "dict": "a table"}


def _kind(name: str) -> str:
    return _KINDS.get(name, name)


class _Bad(Exception):
    def __init__(self, key: str, problem: str, suggestion: str | None = None) -> None:
        super().__init__(problem)
        self.key, self.problem, self.suggestion = key, problem, suggestion


def _stripped(value: Any) -> Any:
    """Whitespace around every string value (not key) is not meant: strip it, as before."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _stripped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    return value


def _field_type(path: list[str]) -> tuple[type[Struct] | None, Any]:
    """(the table at ``path[:-1]``, the declared type of ``path[-1]``) walking from Settings."""
    table: type[Struct] | None = Settings
    for part in path[:-1]:
        hints = typing.get_type_hints(table) if table else {}
        nxt = hints.get(part)
        table = nxt if isinstance(nxt, type) and issubclass(nxt, Struct) else None
    hints = typing.get_type_hints(table, include_extras=True) if table else {}
    return table, hints.get(path[-1]) if path else None


def _from_msgspec(exc: msgspec.ValidationError) -> _Bad:
    m = re.fullmatch(r"(.*?)(?: - at `\$(.*)`)?", str(exc), re.S)
    problem, where = (m.group(1), m.group(2) or "") if m else (str(exc), "")
    indexed = "[" in where
    path = [p for p in re.sub(r"\[[^\]]*\]", "", where).split(".") if p]
    if unknown := re.fullmatch(r"Object contains unknown field `(.*)`", problem):
        table, _ = _field_type([*path, unknown.group(1)])
        names = [n for n in (msgspec.structs.fields(table) if table else ()) if n.name not in _INTERNAL]
        close = difflib.get_close_matches(unknown.group(1), [n.name for n in names], n=1, cutoff=0.5)
        return _Bad(".".join([*path, unknown.group(1)]), "unknown key", close[0] if close else None)
    if missing := re.fullmatch(r"Object missing required field `(.*)`", problem):
        return _Bad(".".join([*path, missing.group(1)]), "required key is missing")
    key = ".".join(path)
    if path[:1] == ["production"] and (indexed or "got `str`" in problem):
        example = '["111111111111"] (quoted: ids may start with 0)' if path[-1] == "account_ids" \
            else '["one", "two"]'
        return _Bad(key, f"must be a list of strings, e.g. {example}")
    declared = _field_type(path)[1] if path else None
    choices = [repr(c) for c in typing.get_args(declared)] if typing.get_origin(declared) is Literal else []
    if typed := re.fullmatch(r"Expected `([\w| ]+)`, got `(\w+)`", problem):
        if choices:
            return _Bad(key, f"must be {', '.join(choices[:-1])} or {choices[-1]}")
        wanted = [_kind(t).split(" ", 1)[-1] for t in typed.group(1).split(" | ") if t != "null"]
        return _Bad(key, f"must be a valid {' or '.join(wanted)}, got {_kind(typed.group(2))}")
    if bound := re.fullmatch(r"Expected `\w+` (>=|<=|>|<) (\S+)", problem):
        words = {">=": "greater than or equal to", "<=": "less than or equal to", ">": "greater than",
                 "<": "less than"}[bound.group(1)]
        return _Bad(key, f"must be {words} {bound.group(2).removesuffix('.0')}")
    if problem.startswith("Invalid enum value") and choices:
        return _Bad(key, f"must be {', '.join(choices[:-1])} or {choices[-1]}")
    return _Bad(key, problem)


def _checked(obj: _Strict, where: str) -> _Strict:
    """Run a table's own checks; returns it with the normalized values."""
    changes: dict[str, Any] = {}
    for name, check in type(obj)._checks.items():
        try:
            value = check(getattr(obj, name))
        except ValueError as exc:
            raise _Bad(f"{where}.{name}", str(exc)) from None
        if value != getattr(obj, name):
            changes[name] = value
    if changes:
        obj = msgspec.structs.replace(obj, **changes)
    try:
        obj._check()
    except ValueError as exc:
        raise _Bad(where, str(exc)) from None
    return obj


def _check_settings(settings: Settings) -> Settings:
    tables = {f.name: _checked(getattr(settings, f.name), f.name) for f in msgspec.structs.fields(Settings)
              if isinstance(getattr(settings, f.name), _Strict)}
    secrets: dict[str, str] = {}
    for name, source in settings.secrets.items():
        if not _VARIABLE_NAME.fullmatch(name):
            raise _Bad("secrets", f"{name[:60]!r} is not a Terraform variable name")
        try:
            secrets[name] = _secret_source(source)
        except ValueError as exc:
            raise _Bad(f"secrets.{name}", str(exc)) from None
    return msgspec.structs.replace(settings, **tables, secrets=secrets)


def validate(data: dict[str, Any], *, source: str = "<dict>", base_dir: str = ".") -> Settings:
    """Validate a config dict; raises ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(source, "", "the top level must be a table")
    try:
        try:
            settings = msgspec.convert({**_stripped(data), "base_dir": base_dir, "source": source}, Settings)
        except msgspec.ValidationError as exc:
            raise _from_msgspec(exc) from None
        settings = _check_settings(settings)
    except _Bad as bad:
        raise ConfigError(source, bad.key, bad.problem, bad.suggestion) from None
    for key in ("root_module", "baseline", "overrides"):
        if not settings.path(getattr(settings.project, key)).exists():
            raise ConfigError(source, f"project.{key}", f"{getattr(settings.project, key)!r} does not exist")
    if settings.engine.command != "embedded":
        cmd = Path(settings.engine.command)
        if not (cmd.is_file() and os.access(cmd, os.X_OK)):
            raise ConfigError(source, "engine.command",
                              f"{settings.engine.command!r} is not an executable terraform/tofu binary")
    return settings


def find_config(explicit: str | None = None, cwd: Path | None = None) -> Path:
    """--config, then $PROVISIONER_CONFIG, then staging.toml here or in a parent directory."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        p = Path(chosen)
        if not p.is_file():
            raise ConfigError(str(p), "", "config file not found")
        return p
    here = (cwd or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / DEFAULT_CONFIG_NAME).is_file():
            return d / DEFAULT_CONFIG_NAME
    raise ConfigError(DEFAULT_CONFIG_NAME, "",
                      f"no {DEFAULT_CONFIG_NAME} in {here} or its parents; pass --config or set {CONFIG_ENV}")


def load(explicit: str | None = None, cwd: Path | None = None) -> Settings:
    path = find_config(explicit, cwd)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(str(path), "", f"file is {size} bytes; a config file is at most "
                                             f"{MAX_CONFIG_BYTES}")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(str(path), "", "not valid TOML: nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None
    return validate(data, source=str(path), base_dir=str(path.parent.resolve()))
