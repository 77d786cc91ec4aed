"""Wire the parts for one command: target (emulator), AWS factory, engine, registry.

Built once per command from typed settings; nothing global. The local target
starts the emulator when nothing answers and bootstraps it, so a newcomer
needs no cloud account.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from provisioner.aws import emulator
from provisioner.aws.clients import Aws
from provisioner.aws.errors import NO_TABLE, call
from provisioner.config import Settings
from provisioner.config.policies import policies_from_settings
from provisioner.errors import ConfigError, ProvisionerError
from provisioner.safety import guard, secrets
from provisioner.state import backend
from provisioner.support.files import write_text
from provisioner.usecases.restart import restart_notes

if TYPE_CHECKING:
    from provisioner.state.audit import AuditLog
    from provisioner.state.leases import Leases
    from provisioner.state.registry import Registry
    from provisioner.terraform.interface import Engine
    from provisioner.terraform.retrying import RetryCallback

CLI_CONFIG_NAME = "terraform.rc"
PUBLIC = 0o644   # files of the state dir that hold no secret (README "Files on local disk")


@dataclass
class Runtime:
    """The parts one command works with, built from its settings; each built on first use."""

    settings: Settings
    aws: Aws
    endpoint: str | None
    notes: list[str] = field(default_factory=list)
    _secrets: dict[str, str] | None = field(default=None, repr=False)

    @cached_property
    def _terraform(self) -> Engine:
        from provisioner.terraform.engines import make_engine

        return make_engine(self.settings.engine_command, terraform_env(self),
                           lock_timeout=self.settings.backend.lock_timeout)

    def terraform(self, on_retry: RetryCallback | None = None) -> Engine:
        """Terraform for one operation: re-run after transient errors, each re-run told to
        ``on_retry`` (a value of the operation: nothing is set on this shared object)."""
        from provisioner.terraform.retrying import RetryingEngine

        policy, _ = policies_from_settings(self.settings)
        return RetryingEngine(self._terraform, policy, on_retry=on_retry)

    @property
    def engine(self) -> Engine:
        """Terraform without a retry listener."""
        return self.terraform()

    @cached_property
    def registry(self) -> Registry:
        from provisioner.state.registry import Registry

        return Registry(self.aws, self.settings.registry.table)

    @cached_property
    def leases(self) -> Leases:
        from provisioner.state.leases import Leases

        s = self.settings
        return Leases(self.aws, s.registry.lease_table, s.stacks.lease_ttl_seconds)

    @cached_property
    def audit(self) -> AuditLog:
        from provisioner.state.audit import AuditLog

        return AuditLog(self.aws, self.settings.registry.audit_table)

    def secret_values(self) -> dict[str, str]:
        """The ``[secrets]`` values (variable -> value), read once; call before writing anything."""
        if self._secrets is None:
            self._secrets = secrets.resolve(self.settings.secrets, self.aws, os.environ)
        return self._secrets

    @property
    def read_secrets(self) -> dict[str, str]:
        """The secret values read so far (none before ``secret_values``): what errors must not show."""
        return dict(self._secrets or {})


def resolve_endpoint(settings: Settings, *, start: bool, on_wait: Callable[[str], None] = lambda _m: None
                     ) -> tuple[str | None, list[str]]:
    """The emulator URL for the local target (starting it when allowed); None for real AWS."""
    t = settings.target
    if t.kind == "aws":
        return None, []
    if t.endpoint:
        if not emulator.answers(t.endpoint):
            raise ProvisionerError(f"no AWS emulator answers at {t.endpoint} (target.endpoint in "
                                   f"{settings.source})")
        return t.endpoint, []
    running = emulator.wait_for_recorded(settings.state_dir, on_wait)
    if running:
        return running.url, []
    if not start:
        raise ProvisionerError("the local emulator is not running: `provisioner emulator start`")
    info = emulator.start(settings.state_dir, settings.target.emulator_port, on_wait)
    if info.starter != os.getpid():  # another command started it while this one waited
        return info.url, []
    return info.url, [f"started the local AWS emulator at {info.url} (pid {info.pid})",
                      *restart_notes(settings, info)]


def open_runtime(settings: Settings, *, start_emulator: bool = True, read_only: bool = False,
                 on_wait: Callable[[str], None] = lambda _m: None) -> Runtime:
    """Wire emulator -> Aws -> runtime. ``read_only`` (list, status, audit, board) creates nothing:
    no bootstrap, and a registry or audit table that does not exist yet reads as empty. ``on_wait``
    hears when a stalled emulator is being waited for."""
    endpoint, notes = resolve_endpoint(settings, start=start_emulator, on_wait=on_wait)
    t = settings.target
    _, aws_retry = policies_from_settings(settings)
    aws = Aws(region=t.region, endpoint=endpoint, profile=t.profile, role_arn=t.role_arn, retries=aws_retry)
    rt = Runtime(settings=settings, aws=aws, endpoint=endpoint, notes=notes)
    guard.check(settings, aws)  # before bootstrap writes anything
    if endpoint and not read_only:
        notes.extend(_bootstrap_local(settings, aws))
    return rt


BOOTSTRAP_STAMP = "bootstrapped.json"


def _bootstrap_local(settings: Settings, aws: Aws) -> list[str]:
    """Bootstrap the emulator once, not on every command (it costs ~8 calls).

    For an emulator the tool started, the stamp names its pid and start time: a new emulator (which
    starts empty) has others. An emulator given by ``target.endpoint`` can be restarted behind our
    back, so the stamp is confirmed with one call: the audit table, which bootstrap creates last."""
    managed = None if settings.target.endpoint else emulator.read_info(settings.state_dir)
    stamp = settings.state_dir / BOOTSTRAP_STAMP
    identity = [managed.pid, managed.started_at] if managed else [settings.target.endpoint]
    from provisioner.state.registry import LAYOUT

    key = json.dumps([*identity, *msgspec.to_builtins([settings.backend, settings.registry]), LAYOUT])
    if stamp.is_file() and stamp.read_text() == key and (managed or _bootstrapped(settings, aws)):
        return []
    done = backend.bootstrap(settings, aws)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    write_text(stamp, key, PUBLIC)  # pid, start time, table and bucket names: nothing secret
    return done


def _bootstrapped(settings: Settings, aws: Aws) -> bool:
    table = settings.registry.audit_table
    ddb = aws.client("dynamodb")
    return call(f"read DynamoDB table {table}", lambda: ddb.describe_table(TableName=table),
                none_on=NO_TABLE, table=table) is not None


def write_cli_config(settings: Settings) -> Path:
    """Terraform CLI config: the provider mirror (if any) and the shared plugin cache."""
    from provisioner.support.templating import render_template

    mirror_path = settings.provider_mirror
    if mirror_path is not None and not mirror_path.is_dir():
        raise ConfigError(settings.source, "engine.provider_mirror",
                          f"{mirror_path} does not exist; build it with `make install` or "
                          "`provisioner mirror build`")
    cache = (settings.state_dir / "plugin-cache").resolve() if settings.engine.plugin_cache else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    text = render_template("terraformrc.hcl.j2", mirror=str(mirror_path) if mirror_path else "",
                           plugin_cache=str(cache) if cache else "")
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path = settings.state_dir / CLI_CONFIG_NAME
    write_text(path, text, PUBLIC)  # the mirror and plugin cache paths: nothing secret
    return path


def terraform_env(rt: Runtime) -> dict[str, str]:
    env = {
        "TF_CLI_CONFIG_FILE": str(write_cli_config(rt.settings).resolve()),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        # Without this, every init of a fresh working directory (no lock entry yet) unpacks the
        # provider into the shared plugin cache again, overwriting it while other stacks' applies
        # verify it ("does not match any of the checksums recorded in the dependency lock file").
        # The cache is filled once (under workspace.init_lock) from the mirror we control.
        "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE": "true",
    }
    env.update(rt.aws.terraform_env())
    env.update(secrets.terraform_env(rt.secret_values()))
    return env
