"""``drift``: what changed behind Terraform's back, and what changed in the configuration.

Per stack, under its lease: the applied inputs (stored beside the state) are laid out again, a
refresh-only plan is saved into the stack's private working directory, read with ``show -json``
and deleted at once (it holds sensitive values in clear text); ``health.drift`` turns it into
resources changed or deleted outside Terraform, attribute by attribute, filtering the emulator's
and the provider's perpetual differences. Configuration drift compares the current render with the
per-variable digests the record kept at the last apply. ``fix`` re-applies the stack (spinup), which
puts the resources back and applies the current configuration.

Several stacks run in parallel, each in its own process, as the nightly cleanup's teardowns do.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.domain.tags import default_tags
from provisioner.errors import BadInput, ProvisionerError
from provisioner.health import ConfigDrift, config_drift, parse_refresh_plan
from provisioner.state import backend
from provisioner.usecases.operation import operation, unlocked
from provisioner.usecases.preview import render_stack
from provisioner.usecases.reporter import Reporter, SilentReporter
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import StackRequest, init, prepare_workspace, resolve_stack, tag_expiry

PLAN_NAME = "drift.tfplan"


@dataclass(frozen=True)
class StackDrift:
    """One stack's drift, JSON-ready (a child process hands it back pickled)."""

    slug: str
    branch: str
    drifted: tuple[dict[str, Any], ...] = ()     # address, type, action, id, changes
    config_drift: dict[str, Any] = field(default_factory=dict)
    fixed: bool = False
    error: str = ""

    @property
    def any_drift(self) -> bool:
        return bool(self.drifted) or bool(self.config_drift.get("drifted"))

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "branch": self.branch, "drifted": list(self.drifted),
                "config_drift": self.config_drift, "fixed": self.fixed, "error": self.error}


def _applied_inputs(rt: Runtime, stack: StackId, record: Record) -> dict[str, Any]:
    stored = backend.get_inputs(rt.aws, backend.location(rt.settings, stack.slug))
    if stored is None:
        raise BadInput(f"stack {stack.slug} has no stored inputs beside its state; re-apply it "
                       "(`provisioner spinup`) before checking drift", slug=stack.slug)
    inputs: dict[str, Any] = json.loads(stored)
    return inputs


def _config_drift(rt: Runtime, stack: StackId, record: Record) -> dict[str, Any]:
    """Which variables the current baseline and overrides render differently from the last apply."""
    rendered = render_stack(rt.settings, stack, record.pr, record.owner)
    if not record.variable_digests:  # applied before per-variable digests were kept
        changed = bool(record.digest) and record.digest != rendered.digest
        return {**ConfigDrift().to_json(), "drifted": changed}
    return config_drift(record.variable_digests, rendered.tfvars).to_json()


def _resource_drift(rt: Runtime, stack: StackId, record: Record,
                    reporter: Reporter) -> list[dict[str, Any]]:
    """The refresh-only plan of the stack as applied; the plan file never outlives this call."""
    tag_values = default_tags(stack, pr=record.pr, owner=record.owner, expires_at=tag_expiry(record))
    inputs = _applied_inputs(rt, stack, record)
    with operation(rt, "drift", stack, reporter) as op:
        ws = prepare_workspace(rt, stack, inputs, tag_values)
        plan_file = ws.root / PLAN_NAME
        wd = str(ws.module_dir)
        init(rt, ws, op.engine, reporter)
        reporter.step(f"terraform plan -refresh-only ({stack.slug})")
        try:
            unlocked(op, wd, lambda engine: engine.refresh_plan(wd, str(plan_file)))
            report = parse_refresh_plan(op.engine.show_plan(wd, str(plan_file)), source=stack.slug)
        finally:
            plan_file.unlink(missing_ok=True)
        op.outcome.detail = f"{len(report.resources)} resources drifted"
        _record_drift(rt, stack, bool(report.resources))
    resources: list[dict[str, Any]] = report.to_json()["resources"]
    return resources


def _record_drift(rt: Runtime, stack: StackId, drifted: bool) -> None:
    """Keep on the record whether resources changed outside Terraform (``drifted_at``; cleared by
    the next apply): a drifted stack's spinup never skips Terraform (``usecases.skip``)."""
    current = rt.registry.get(stack.slug)
    if current is None or (current.drifted_at is not None) == drifted:
        return
    rt.registry.put(replace(current, drifted_at=time.time() if drifted else None), expected=current)


def drift_stack(rt: Runtime, record: Record, reporter: Reporter, *, fix: bool = False) -> StackDrift:
    """Drift of one applied stack; with ``fix`` a drifted stack is re-applied and checked again."""
    stack = resolve_stack(rt, StackRequest(branch=None, slug=record.slug))
    rt.secret_values()  # a plan needs the stack's secrets too
    found = StackDrift(record.slug, record.branch, tuple(_resource_drift(rt, stack, record, reporter)),
                       _config_drift(rt, stack, record))
    if not (fix and found.any_drift):
        return found
    from provisioner.usecases.spinup import spinup

    reporter.step(f"re-applying {stack.slug} to undo the drift")
    spinup(rt, StackRequest(branch=record.branch, pr=record.pr, owner=record.owner,
                            source=record.branch_source), reporter, health_gate=False, refresh=True)
    return StackDrift(found.slug, found.branch, found.drifted, found.config_drift, fixed=True)


def drift_child(config: str, slug: str, fix: bool) -> StackDrift:
    """One stack's drift in a process of its own; errors come back typed, never raised."""
    from provisioner.config import load
    from provisioner.usecases.runtime import open_runtime

    try:
        rt = open_runtime(load(config))
        record = rt.registry.get(slug)
        if record is None:
            return StackDrift(slug, "(no record)", error="no record")
        return drift_stack(rt, record, SilentReporter(), fix=fix)
    except ProvisionerError as exc:
        return StackDrift(slug, "", error=f"{type(exc).__name__}: {exc}"[:2000])
    except Exception as exc:  # one stack's bug must not stop the others
        return StackDrift(slug, "", error=f"{type(exc).__name__}: {exc}"[:2000])


def applied(records: list[Record]) -> list[Record]:
    """The records whose stack was applied and is still there."""
    return [r for r in records if r.live and r.status in ("ready", "unhealthy")]


def drift(rt: Runtime, req: StackRequest | None, reporter: Reporter, *,
          fix: bool = False) -> list[StackDrift]:
    """One stack (``req``), or every applied stack (``req`` None) in parallel processes."""
    if req is not None:
        stack = resolve_stack(rt, req)
        record = rt.registry.get(stack.slug)
        if record is None or record not in applied([record]):
            raise BadInput(f"stack {stack.slug} (branch {stack.branch!r}) is not applied "
                           f"({'no record' if record is None else record.status}); nothing to compare",
                           slug=stack.slug)
        return [drift_stack(rt, record, reporter, fix=fix)]
    return drift_all(rt, applied(rt.registry.all(without=("outputs",))), reporter, fix=fix)


def drift_all(rt: Runtime, records: list[Record], reporter: Reporter, *,
              fix: bool = False) -> list[StackDrift]:
    if not records:
        return []
    reporter.step(f"drift of {len(records)} stacks, {rt.settings.cleanup.parallel} at a time")
    spawn = multiprocessing.get_context("spawn")  # no fork: threads, locks and the Go runtime
    with ProcessPoolExecutor(max_workers=rt.settings.cleanup.parallel, mp_context=spawn,
                             max_tasks_per_child=1) as pool:
        futures = [pool.submit(drift_child, rt.settings.source, r.slug, fix) for r in records]
        results = []
        for record, future in zip(records, futures, strict=True):
            try:
                results.append(future.result())
            except Exception as exc:  # the process died
                results.append(StackDrift(record.slug, record.branch, error=f"the process died: {exc!r}"))
    return [r if r.branch else StackDrift(r.slug, rec.branch, r.drifted, r.config_drift, r.fixed, r.error)
            for r, rec in zip(results, records, strict=True)]
