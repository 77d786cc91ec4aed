"""``data plan | seed | reset`` and the data steps of spinup, cleanup and teardown.

A stack's datasets (``[data.<name>]``, parsed by ``provisioner.data``) are loaded into the stores
its outputs name. A dataset whose target output is the empty string is switched off by the stack
(the example's database switch): it is listed as such and never loaded. The registry record keeps
each loaded dataset's version (digest, rows, load time) under ``data``.

The anonymisation key comes from ``data_key`` (a secret source); unset, the local target keeps a
random key in its state directory (mode 0600), so a stack's tokens are stable between seeds.
PostgreSQL datasets of the local target go to the server ``provisioner.data.pgserver`` starts
beside the emulator; against AWS they need a reachable server the tool does not provide yet.
"""

from __future__ import annotations

import os
import secrets as token_source
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provisioner import data
from provisioner.data import pgserver
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.domain.tags import MANAGED_BY, MANAGED_BY_VALUE, STACK
from provisioner.errors import BadInput, ConfigError, ProvisionerError
from provisioner.safety import secrets
from provisioner.usecases.operation import operation
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import StackRequest, resolve_stack

KEY_FILE = "data.key"


def datasets(rt_or_settings: Any) -> data.Datasets:
    """The parsed ``[data]`` tables (schema files read); every error names file, dataset and key."""
    settings = getattr(rt_or_settings, "settings", rt_or_settings)
    return data.parse_datasets(settings.data, settings.source, Path(settings.base_dir))


def data_key(rt: Runtime) -> bytes:
    source = rt.settings.data_key
    if source is not None:
        return secrets.read("data_key", source, rt.aws, os.environ).encode()
    if rt.settings.target.kind == "aws":
        raise ConfigError(rt.settings.source, "data_key", "required against real AWS: the source of "
                          "the anonymisation key (env:, ssm: or secretsmanager:)")
    path = rt.settings.state_dir / KEY_FILE
    if not path.is_file():
        rt.settings.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token_source.token_hex(32))
    return path.read_text().strip().encode()


def active(specs: data.Datasets, outputs: dict[str, Any]) -> tuple[data.Datasets, tuple[str, ...]]:
    """The datasets the stack has a store for, and those its outputs switch off (an empty string)."""
    def value(name: str) -> Any:
        v = outputs.get(name)
        return v.get("value") if isinstance(v, dict) else v

    off = tuple(s.name for s in specs.specs if value(s.target) == "")
    kept = tuple(s for s in specs.specs if s.name not in off)
    return data.Datasets(specs=kept, schemas={k: v for k, v in specs.schemas.items()
                                              if k not in off}), off


def dsn(rt: Runtime, specs: data.Datasets) -> str | None:
    """The local PostgreSQL server's DSN (started when needed) when a dataset is ``postgres``."""
    if not any(s.kind == "postgres" for s in specs.specs) or rt.settings.target.kind == "aws":
        return None
    return pgserver.start(rt.settings.state_dir).dsn()


def expected_tags(slug: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGED_BY_VALUE, STACK: slug}


@dataclass(frozen=True)
class DataRun:
    """What one data command did (``plan`` set for ``data plan``, ``result`` for seed/reset)."""

    stack: StackId
    switched_off: tuple[str, ...]
    plan: data.DataPlan | None = None
    result: data.SeedResult | None = None


def _ready_record(rt: Runtime, stack: StackId) -> Record:
    record = rt.registry.get(stack.slug)
    if record is None or record.status != "ready":
        state = "no stack" if record is None else f"the stack is {record.status}"
        raise BadInput(f"{stack.slug}: {state}; data goes into a ready stack (run spinup first)",
                       stack=stack.slug)
    return record


def plan_data(rt: Runtime, req: StackRequest) -> DataRun:
    """Datasets, sources, counts and field rules for a ready stack; writes nothing."""
    stack = resolve_stack(rt, req)
    record = _ready_record(rt, stack)
    specs, off = active(datasets(rt), record.outputs)
    plan = data.plan(record.outputs, stack.slug, specs, rt.aws, None, data.from_record(record.data),
                     secret=data_key(rt))
    return DataRun(stack, off, plan=plan)


def seed_record(rt: Runtime, record: Record, reporter: Reporter, *, reset: bool = False,
                only: tuple[str, ...] | None = None) -> tuple[Record, data.SeedResult, tuple[str, ...]]:
    """Seed (or reset) the stack of ``record`` and record the versions; the caller holds the lease."""
    specs, off = active(datasets(rt), record.outputs)
    unknown = sorted(set(only or ()) - set(specs.names) - set(off))
    if unknown:
        raise data.DataSpecError(rt.settings.source, unknown[0], "", "no such dataset; datasets: "
                                 + ", ".join(specs.names + off))
    chosen = tuple(n for n in only if n in specs.names) if only else None
    versions = data.from_record(record.data)
    args = (record.outputs, record.slug, specs, rt.aws, dsn(rt, specs), versions)
    key, tags = data_key(rt), expected_tags(record.slug)
    if reset:
        reporter.step(f"data reset: emptying and reloading {', '.join(chosen or specs.names)}")
        result = data.reset(*args, secret=key, expected_tags=tags, only=chosen)
    else:
        reporter.step(f"data seed: {', '.join(chosen or specs.names)}")
        result = data.seed(*args, secret=key, expected_tags=tags, only=chosen)
    for v in result.loaded:
        reporter.step(f"loaded {v.rows} rows of {v.dataset} into {v.store} in {v.load_seconds:.1f}s")
    done = rt.registry.put(replace(record, data=data.to_record(result.versions)), expected=record)
    return done, result, off


def seed_data(rt: Runtime, req: StackRequest, reporter: Reporter, *, reset: bool = False,
              only: tuple[str, ...] | None = None) -> DataRun:
    """``data seed`` (what is not loaded at this version) or ``data reset`` (empty, load pristine)."""
    stack = resolve_stack(rt, req)
    datasets(rt)   # a bad [data] table is refused before the lease is taken
    with operation(rt, "data reset" if reset else "data seed", stack, reporter) as op:
        record = _ready_record(rt, stack)
        _, result, off = seed_record(rt, record, reporter, reset=reset, only=only)
        op.outcome.detail = f"{len(result.loaded)} datasets, {result.rows_written} rows"
    return DataRun(stack, off, result=result)


def due(rt: Runtime, record: Record) -> tuple[str, ...]:
    """The ``refresh = "nightly"`` datasets of ``record`` whose source changed since they were loaded."""
    if not rt.settings.data or not record.data:
        return ()
    return tuple(data.due_for_refresh(datasets(rt), data.from_record(record.data), rt.aws))


def refresh_item(rt: Runtime, record: Record) -> tuple[str, str] | None:
    """The nightly cleanup's (action, reason) for a ready stack's data: ``refresh-data`` when a
    nightly dataset's source changed, ``report`` when that cannot be told (one stack's unreadable
    export must not stop the night's plan), None when nothing is due."""
    return refresh_checker(rt)(record)


def refresh_checker(rt: Runtime) -> Callable[[Record], tuple[str, str] | None]:
    """``refresh_item`` for every record of one night's plan: the ``[data]`` tables parsed once and
    each export's digest read once (a local file hashed, an S3 object HEADed), not once per stack."""
    specs: list[data.Datasets | ProvisionerError] = []
    seen: dict[str, Any] = {}

    def check(record: Record) -> tuple[str, str] | None:
        if not rt.settings.data or not record.data:
            return None
        try:
            if not specs:
                try:
                    specs.append(datasets(rt))
                except ProvisionerError as exc:
                    specs.append(exc)
            if isinstance(specs[0], ProvisionerError):
                raise specs[0]
            names = data.due_for_refresh(specs[0], data.from_record(record.data), rt.aws, seen)
        except ProvisionerError as exc:
            return "report", f"data refresh not checked: {str(exc)[:120]}"
        return ("refresh-data", "data source changed: " + ", ".join(names)) if names else None

    return check


def refresh(rt: Runtime, slug: str, reporter: Reporter) -> tuple[str, ...]:
    """Nightly: re-seed the stack's datasets that are due (under its lease); the names re-seeded."""
    stack = resolve_stack(rt, StackRequest(branch=None, slug=slug))
    with operation(rt, "data refresh", stack, reporter) as op:
        record = _ready_record(rt, stack)
        names = due(rt, record)
        if names:
            seed_record(rt, record, reporter, only=names)
        op.outcome.detail = ", ".join(names) or "nothing due"
    return names


def drop_stack_data(rt: Runtime, record: Record | None) -> bool:
    """Teardown: drop the stack's PostgreSQL database on the local server (the tables and buckets
    go with the stack). False when there was none."""
    if record is None or not record.data or rt.settings.target.kind == "aws":
        return False
    databases = {v["store"].removeprefix("postgres:").split("/", 1)[0] for v in record.data.values()
                 if isinstance(v, dict) and str(v.get("store", "")).startswith("postgres:")}
    if not databases:
        return False
    server = pgserver.start(rt.settings.state_dir)
    return any([data.drop_database(server.dsn(), name) for name in sorted(databases)])


def stop_local_server(settings: Any) -> bool:
    """Stop the local PostgreSQL server beside the emulator (``emulator stop``); False if none ran."""
    return pgserver.stop(settings.state_dir) if pgserver.status(settings.state_dir) else False


def data_differences(settings: Any) -> tuple[data.DataDifference, ...]:
    """For ``diff``: what each dataset holds in staging instead of production's data, and why."""
    return data.differences(datasets(settings)) if settings.data else ()
