"""Typed settings from ``staging.toml``: one msgspec Struct per table.

msgspec checks types, ranges and unknown keys (``forbid_unknown_fields``); then each table's own
checks run (``_checks`` per key, from ``config.checks``; ``_check`` across keys). msgspec imports
in ~3 ms; pydantic, which this module used before, cost ~0.15 s of every command's start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from msgspec import Meta, Struct, field

from provisioner.config import retry
from provisioner.config.checks import (
    accounts_check,
    bucket_check,
    duration_check,
    emulator_url_check,
    is_loopback,
    label_check,
    parse_duration,
    patterns_check,
    prefix_check,
    prefixes_check,
    prices_check,
    regex_check,
    state_buckets_check,
    table_name,
    unique_strings,
    url_check,
)
from provisioner.config.health import HealthSpec, TestsSpec
from provisioner.domain.naming import DEFAULT_NAME_LIMIT, MIN_NAME_LIMIT


class _Strict(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A config table. msgspec checks types, ranges and unknown keys; then ``_checks`` (key ->
    function returning the normalized value or raising ValueError) and ``_check`` (across keys)."""

    _checks: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    def _check(self) -> None:
        """Checks across keys; raise ValueError."""


class Project(_Strict, frozen=True):
    root_module: str                    # Terraform root module directory
    baseline: str                       # production variable file (.tfvars or .tfvars.json)
    overrides: str                      # staging overrides (TOML)
    # directory copied per stack (must contain root_module and every local module it uses);
    # default: the root module's parent
    module_tree: str | None = None
    state_dir: str = ".provisioner"     # local working state
    name_variable: str = "name"         # root module variable that receives the slug
    # folder names the per-stack copy of the module tree leaves out (Terraform never reads them)
    copy_exclude: tuple[str, ...] = ("examples", "test", "tests", "docs", ".github")


class Target(_Strict, frozen=True):
    kind: Literal["local", "aws"] = "local"
    region: str = "us-east-1"
    profile: str | None = None
    role_arn: str | None = None
    endpoint: str | None = None         # local only: an emulator already running
    emulator_port: Annotated[int, Meta(ge=0, le=65535)] = 0   # local only: 0 picks a free port
    allow_remote_emulator: bool = False  # local only: let endpoint be a host other than loopback
    # Terraform's own retries of one AWS request (the provider's and the S3 backend's max_retries);
    # unset: config.retry.LOCAL_TERRAFORM_MAX_RETRIES on the local target, Terraform's defaults on aws
    terraform_max_retries: Annotated[int, Meta(ge=0, le=100)] | None = None

    def max_retries(self) -> int | None:
        """The ``max_retries`` the tool sets for Terraform; None leaves Terraform's default."""
        if self.terraform_max_retries is not None:
            return self.terraform_max_retries
        return retry.LOCAL_TERRAFORM_MAX_RETRIES if self.kind == "local" else None

    _checks = {
        "region": regex_check(r"[a-z]{2}(-gov)?-[a-z]+-\d", "is not an AWS region like 'us-east-1'"),
        "endpoint": emulator_url_check,
    }

    def _check(self) -> None:
        if self.kind == "aws" and self.endpoint:
            raise ValueError("'endpoint' is for the local emulator; remove it for kind = 'aws'")
        if self.kind == "local" and self.endpoint and not self.allow_remote_emulator \
                and not is_loopback(self.endpoint):
            raise ValueError(f"endpoint {self.endpoint!r} is not on loopback (127.0.0.0/8, ::1, "
                             "localhost): the local target sends its fake credentials and every "
                             "stack's state there; set allow_remote_emulator = true to use an "
                             "emulator on another host")
        if self.kind == "local" and (self.profile or self.role_arn):
            raise ValueError("'profile' and 'role_arn' are for kind = 'aws'")


class Backend(_Strict, frozen=True):
    bucket: str = "staging-tfstate"
    key_prefix: str = "staging"
    locking: Literal["lockfile", "dynamodb", "none"] = "lockfile"
    lock_table: str = "staging-tflocks"
    lock_timeout: str = "0s"

    _checks = {"bucket": bucket_check, "key_prefix": prefix_check, "lock_table": table_name}


class Registry(_Strict, frozen=True):
    table: str = "staging-environments"

    _checks = {"table": table_name}

    @property
    def lease_table(self) -> str:
        """Operation leases, one per stack being worked on."""
        return f"{self.table}-leases"

    @property
    def audit_table(self) -> str:
        return f"{self.table}-audit"


class Stacks(_Strict, frozen=True):
    default_ttl: str = "48h"
    max_ttl: str = "168h"
    idle_ttl: str = "24h"               # expire a stack this long after its last spinup
    name_limit: Annotated[int, Meta(ge=MIN_NAME_LIMIT, le=63)] = DEFAULT_NAME_LIMIT
    max_live: Annotated[int, Meta(ge=0)] = 0   # quota of live stacks; 0 = unlimited
    lease_ttl: str = "2m"               # an operation's lease lapses this long after its last heartbeat
    lease_wait: str = "15m"             # how long a second operation on a stack waits
    # a spinup whose inputs are those of the last apply skips Terraform until this long after it
    refresh_after: str = "6h"

    _checks = {name: duration_check for name in ("default_ttl", "max_ttl", "idle_ttl", "lease_ttl",
                                                  "lease_wait", "refresh_after")}

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

    @property
    def refresh_after_seconds(self) -> int:
        return parse_duration(self.refresh_after)


class Cleanup(_Strict, frozen=True):
    """The nightly `provisioner cleanup`."""

    parallel: Annotated[int, Meta(ge=1, le=32)] = 4   # teardowns at once, each in its own process
    failed_after: str = "6h"            # tear down failed stacks older than this

    _checks = {"failed_after": duration_check}

    @property
    def failed_after_seconds(self) -> int:
        return parse_duration(self.failed_after)


class Engine(_Strict, frozen=True):
    command: str = "embedded"           # 'embedded' or the path of terraform/tofu
    provider_mirror: str | None = None  # filesystem mirror for offline installs
    plugin_cache: bool = True


class Retry(_Strict, frozen=True):
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

    _checks = {"terraform_patterns": patterns_check}

    def _check(self) -> None:
        if self.terraform_patterns_mode == "replace" and not self.terraform_patterns:
            raise ValueError("terraform_patterns_mode = 'replace' needs terraform_patterns "
                             "(or set terraform_attempts = 1 to never retry)")


class Cost(_Strict, frozen=True):
    """`status` cost view: price name (or root module variable) -> USD per unit-hour (see cost.py)."""

    prices: dict[str, Any] = field(default_factory=dict)

    _checks = {"prices": prices_check}


class GitHub(_Strict, frozen=True):
    """Pull-request previews (`provisioner pr-event`)."""

    # REST API base, e.g. https://ghe.example/api/v3 (default $GITHUB_API_URL, else api.github.com)
    api_url: str | None = None
    label: str | None = None            # only PRs carrying this label get a preview
    keep_label: str = "staging:keep"    # label that marks a stack as kept
    skip_drafts: bool = True
    allow_forks: bool = False
    deployments: bool = True            # create GitHub Deployments staging/<slug>
    comment_outputs: tuple[str, ...] | None = None   # outputs shown in the PR comment (default: all)

    _checks = {"api_url": url_check("https://ghe.example.com/api/v3", r"https?://[^\s/?#]+(/[^\s?#]*)?"),
               "label": label_check, "keep_label": label_check}

    def _check(self) -> None:
        if self.label is not None and self.label == self.keep_label:
            raise ValueError("label and keep_label must differ")


class Production(_Strict, frozen=True):
    """What staging must never touch or reference (see guard.py and render's identifier scan)."""

    account_ids: tuple[str, ...] = ()   # production AWS account ids
    state_buckets: tuple[str, ...] = () # production state buckets
    # production state key prefixes: 'prefix' (any bucket) or 's3://bucket/prefix'
    state_prefixes: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()   # strings no staging variable may contain

    _checks = {"account_ids": accounts_check,
               "state_buckets": state_buckets_check,
               "state_prefixes": prefixes_check,
               "identifiers": lambda v: unique_strings(v, "a production identifier", 3)}

    @property
    def forbidden(self) -> tuple[str, ...]:
        """Every string a staging variable must not contain: identifiers, account ids, state buckets."""
        return tuple(dict.fromkeys((*self.identifiers, *self.account_ids, *self.state_buckets)))


class Settings(_Strict, frozen=True):
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
    # [health] checks and the [tests] command, run after each apply (config.health parses them).
    health: HealthSpec = field(default_factory=HealthSpec)
    tests: TestsSpec | None = None
    # `[data.<name>]` datasets, kept raw here and parsed by provisioner.data (which reads the schema
    # files) through usecases.data.datasets: config sits below data in the layers.
    data: dict[str, Any] = field(default_factory=dict)
    # The anonymisation key's source (env:, ssm:, secretsmanager:); unset on the local target: a
    # random key kept in the state directory. Never handed to Terraform.
    data_key: str | None = None
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

    @property
    def engine_command(self) -> str:
        """``embedded``, or the terraform/tofu executable: a path relative to the config file, or a
        bare name looked up on PATH (returned as given when nothing is found there)."""
        cmd = self.engine.command
        if cmd == "embedded":
            return cmd
        if "/" not in cmd:
            import shutil

            return shutil.which(cmd) or cmd
        return str(self.path(cmd).resolve())

    @property
    def default_mirror(self) -> Path:
        """Where ``provisioner mirror build`` writes without ``--dest`` or ``engine.provider_mirror``."""
        return self.state_dir / "provider-mirror"

    @property
    def provider_mirror(self) -> Path | None:
        """``engine.provider_mirror``, else the default mirror when one has been built."""
        if self.engine.provider_mirror:
            return self.path(self.engine.provider_mirror).resolve()
        built = self.default_mirror / "registry.terraform.io"
        return self.default_mirror.resolve() if built.is_dir() else None


