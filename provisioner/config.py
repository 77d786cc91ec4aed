"""Typed settings from ``staging.toml``.

Loading a file (``load``) is separate from validating a dict (``validate``).
Unknown keys are rejected with the nearest valid name suggested; every error
names the file and the dotted key.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import retry
from .errors import ConfigError
from .naming import DEFAULT_NAME_LIMIT, MIN_NAME_LIMIT

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Project(_Strict):
    root_module: str = Field(description="Terraform root module directory")
    baseline: str = Field(description="production variable file (.tfvars or .tfvars.json)")
    overrides: str = Field(description="staging overrides (TOML)")
    module_tree: str | None = Field(
        default=None, description="directory copied per stack (must contain root_module and every "
        "local module it uses); default: the root module's parent")
    state_dir: str = Field(default=".provisioner", description="local working state")
    name_variable: str = Field(default="name", description="root module variable that receives the slug")


class Target(_Strict):
    kind: Literal["local", "aws"] = "local"
    region: str = "us-east-1"
    profile: str | None = None
    role_arn: str | None = None
    endpoint: str | None = Field(default=None, description="local only: an emulator already running")
    emulator_port: int = Field(default=0, ge=0, le=65535, description="local only: 0 picks a free port")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", v):
            raise ValueError(f"{v!r} is not an AWS region like 'us-east-1'")
        return v

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https?://[^\s/]+(:\d+)?/?", v):
            raise ValueError(f"{v!r} is not an http(s) URL like 'http://127.0.0.1:5000'")
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _kind_fields(self) -> Target:
        if self.kind == "aws" and self.endpoint:
            raise ValueError("'endpoint' is for the local emulator; remove it for kind = 'aws'")
        if self.kind == "local" and (self.profile or self.role_arn):
            raise ValueError("'profile' and 'role_arn' are for kind = 'aws'")
        return self


class Backend(_Strict):
    bucket: str = "staging-tfstate"
    key_prefix: str = "staging"
    locking: Literal["lockfile", "dynamodb", "none"] = "lockfile"
    lock_table: str = "staging-tflocks"
    lock_timeout: str = "0s"

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, v: str) -> str:
        if not _S3_BUCKET.fullmatch(v) or ".." in v:
            raise ValueError(f"{v!r} is not a valid S3 bucket name")
        return v

    @field_validator("key_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", v) or ".." in v.split("/"):
            raise ValueError(f"{v!r} must be path segments of [A-Za-z0-9_.-] without '..'")
        return v

    _table = field_validator("lock_table")(classmethod(lambda cls, v: _table_name(v)))


class Registry(_Strict):
    table: str = "staging-environments"

    _table = field_validator("table")(classmethod(lambda cls, v: _table_name(v)))

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
    idle_ttl: str = Field(default="24h", description="expire a stack this long after its last spinup")
    name_limit: int = Field(default=DEFAULT_NAME_LIMIT, ge=MIN_NAME_LIMIT, le=63)
    max_live: int = Field(default=0, ge=0, description="quota of live stacks; 0 = unlimited")
    lease_ttl: str = Field(default="2m", description="an operation's lease lapses this long after its "
                           "last heartbeat (its holder died)")
    lease_wait: str = Field(default="15m", description="how long a second operation on a stack waits")

    @field_validator("default_ttl", "max_ttl", "idle_ttl", "lease_ttl", "lease_wait")
    @classmethod
    def _ttl(cls, v: str) -> str:
        parse_duration(v)
        return v

    @model_validator(mode="after")
    def _caps(self) -> Stacks:
        if parse_duration(self.default_ttl) > parse_duration(self.max_ttl):
            raise ValueError("default_ttl is longer than max_ttl")
        return self

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

    parallel: int = Field(default=4, ge=1, le=32, description="teardowns at once, each in its own process")
    failed_after: str = Field(default="6h", description="tear down failed stacks older than this")

    @field_validator("failed_after")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @property
    def failed_after_seconds(self) -> int:
        return parse_duration(self.failed_after)


class Engine(_Strict):
    command: str = Field(default="embedded", description="'embedded' or the path of terraform/tofu")
    provider_mirror: str | None = Field(default=None, description="filesystem mirror for offline installs")
    plugin_cache: bool = True


class Retry(_Strict):
    """Re-runs of Terraform commands that failed transiently, and boto3's retries (see retry.py)."""

    terraform_attempts: int = Field(default=retry.DEFAULT_TERRAFORM_ATTEMPTS, ge=1, le=10,
                                    description="runs of one Terraform command, the first included")
    terraform_patterns: tuple[str, ...] = Field(
        default=(), description="regular expressions of transient Terraform errors (added to the defaults)")
    terraform_patterns_mode: Literal["extend", "replace"] = Field(
        default="extend", description="'replace': terraform_patterns are the whole list, no defaults")
    initial_wait: float = Field(default=retry.DEFAULT_INITIAL_WAIT, ge=0, le=600,
                                description="seconds before the second run; doubles each time")
    max_wait: float = Field(default=retry.DEFAULT_MAX_WAIT, ge=0, le=3600)
    aws_attempts: int = Field(default=retry.DEFAULT_AWS_ATTEMPTS, ge=1, le=20,
                              description="attempts of each of the tool's own AWS calls, the first included")
    aws_mode: Literal["standard", "adaptive", "legacy"] = retry.DEFAULT_AWS_MODE

    @field_validator("terraform_patterns")
    @classmethod
    def _patterns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        retry.compile_patterns(v)
        return v

    @model_validator(mode="after")
    def _some_patterns(self) -> Retry:
        if self.terraform_patterns_mode == "replace" and not self.terraform_patterns:
            raise ValueError("terraform_patterns_mode = 'replace' needs terraform_patterns "
                             "(or set terraform_attempts = 1 to never retry)")
        return self


class Cost(_Strict):
    """`status` cost view: price name (or root module variable) -> USD per unit-hour (see cost.py)."""

    prices: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)


class GitHub(_Strict):
    """Pull-request previews (`provisioner pr-event`)."""

    api_url: str | None = Field(default=None, description="REST API base, e.g. https://ghe.example/api/v3 "
                                "(default $GITHUB_API_URL, else api.github.com)")
    label: str | None = Field(default=None, description="only PRs carrying this label get a preview")
    keep_label: str = Field(default="staging:keep", description="label that marks a stack as kept")
    skip_drafts: bool = True
    allow_forks: bool = False
    deployments: bool = Field(default=True, description="create GitHub Deployments staging/<slug>")
    comment_outputs: tuple[str, ...] | None = Field(default=None, description="outputs shown in the PR "
                                                    "comment (default: all)")

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", v):
            raise ValueError(f"{v!r} is not an http(s) URL like 'https://ghe.example.com/api/v3'")
        return v.rstrip("/") if v else v

    @field_validator("label", "keep_label")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        if v is not None and not 1 <= len(v) <= 50:
            raise ValueError("a GitHub label has 1 to 50 characters")
        return v

    @model_validator(mode="after")
    def _distinct(self) -> GitHub:
        if self.label is not None and self.label == self.keep_label:
            raise ValueError("label and keep_label must differ")
        return self


def _unique_strings(values: tuple[str, ...], what: str, minimum: int = 1) -> tuple[str, ...]:
    cleaned = tuple(v.strip() for v in values)
    for v in cleaned:
        if len(v) < minimum:
            raise ValueError(f"{v!r} is too short for {what} (at least {minimum} characters)")
    return tuple(dict.fromkeys(cleaned))


class Production(_Strict):
    """What staging must never touch or reference (see guard.py and render's identifier scan)."""

    account_ids: tuple[str, ...] = Field(default=(), description="production AWS account ids")
    state_buckets: tuple[str, ...] = Field(default=(), description="production state buckets")
    state_prefixes: tuple[str, ...] = Field(
        default=(), description="production state key prefixes: 'prefix' (any bucket) or 's3://bucket/prefix'")
    identifiers: tuple[str, ...] = Field(default=(), description="strings no staging variable may contain")

    @field_validator("account_ids", "state_buckets", "state_prefixes", "identifiers", mode="before")
    @classmethod
    def _string_list(cls, v: Any, info: ValidationInfo) -> Any:
        if not isinstance(v, list | tuple) or not all(isinstance(item, str) for item in v):
            example = '["111111111111"] (quoted: ids may start with 0)' if info.field_name == "account_ids" \
                else '["one", "two"]'
            raise ValueError(f"must be a list of strings, e.g. {example}")
        return v

    @field_validator("account_ids")
    @classmethod
    def _accounts(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            if not re.fullmatch(r"\d{12}", item.strip()):
                raise ValueError(f"{item!r} is not an AWS account id (12 digits, e.g. \"111111111111\")")
        return _unique_strings(v, "an account id")

    @field_validator("state_buckets")
    @classmethod
    def _buckets(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _unique_strings(v, "a state bucket", 3)

    @field_validator("state_prefixes")
    @classmethod
    def _prefixes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = _unique_strings(v, "a state prefix")
        for item in cleaned:
            rest = item.removeprefix("s3://")
            bad_bucket = item.startswith("s3://") and not _S3_BUCKET.fullmatch(rest.split("/")[0])
            if not rest.strip("/") or bad_bucket:
                raise ValueError(f"{item!r} is not a key prefix or s3://bucket/prefix")
        return cleaned

    @field_validator("identifiers")
    @classmethod
    def _identifiers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _unique_strings(v, "a production identifier", 3)

    @property
    def forbidden(self) -> tuple[str, ...]:
        """Every string a staging variable must not contain: identifiers, account ids, state buckets."""
        return tuple(dict.fromkeys((*self.identifiers, *self.account_ids, *self.state_buckets)))


SECRET_SOURCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|ssm:[A-Za-z0-9_.\-/]{1,2048}"
                           r"|secretsmanager:[A-Za-z0-9/_+=.@:\-]{1,2048})$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _secret_source(v: str) -> str:
    v = v.strip()
    if not SECRET_SOURCE.fullmatch(v):
        # The value is not echoed: it may be the secret itself, pasted by mistake.
        raise ValueError("is not a secret source (value not shown); use env:NAME, ssm:/parameter/name "
                         "or secretsmanager:secret-name, never the secret itself")
    return v


class Settings(_Strict):
    project: Project
    target: Target = Target()
    backend: Backend = Backend()
    registry: Registry = Registry()
    stacks: Stacks = Stacks()
    engine: Engine = Engine()
    production: Production = Production()
    # Sensitive root module variable -> where its value comes from (env:, ssm:, secretsmanager:).
    secrets: dict[str, Annotated[str, AfterValidator(_secret_source)]] = Field(default_factory=dict)
    github: GitHub = GitHub()
    cost: Cost = Cost()
    retry: Retry = Retry()
    cleanup: Cleanup = Cleanup()
    # Where the file was read from; paths in it are relative to this directory.
    base_dir: str = Field(default=".", exclude=True)
    source: str = Field(default="<defaults>", exclude=True)

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not _VARIABLE_NAME.fullmatch(name):
                raise ValueError(f"{name[:60]!r} is not a Terraform variable name")
        return v

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


def _model_for(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _first_error(exc: ValidationError, source: str) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
    key = ".".join(str(p) for p in loc)
    if err["type"] == "extra_forbidden":
        model = _model_for(loc)
        names = [n for n in (model.model_fields if model else {}) if n not in ("base_dir", "source")]
        close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.5)
        return ConfigError(source, key, "unknown key", close[0] if close else None)
    if err["type"] == "missing":
        return ConfigError(source, key, "required key is missing")
    msg = str(err["msg"]).removeprefix("Value error, ")
    return ConfigError(source, key, msg)


def validate(data: dict[str, Any], *, source: str = "<dict>", base_dir: str = ".") -> Settings:
    """Validate a config dict; raises ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(source, "", "the top level must be a table")
    try:
        settings = Settings.model_validate({**data, "base_dir": base_dir, "source": source})
    except ValidationError as exc:
        raise _first_error(exc, source) from None
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
