"""``spinup``: create or update a branch's stack (``reset``: destroy it first).

Everything is checked before anything is written (guard, render, secrets, slug ownership); then,
under the stack's lease, the record moves creating -> ready (or failed, with the reason), and the
stack is applied with real Terraform. ``dry_run`` stops after a plan.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from provisioner.domain import expiry
from provisioner.domain.difference import Difference
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.domain.tags import default_tags
from provisioner.errors import ProvisionerError
from provisioner.health.drift import variable_digests
from provisioner.render.model import Rendered
from provisioner.safety import guard
from provisioner.state import backend
from provisioner.sweep import plan as sweep
from provisioner.terraform import workspace
from provisioner.terraform.events import ChangeCounts, ResourceEvent
from provisioner.usecases import health, skip
from provisioner.usecases.operation import (
    Operation,
    failed,
    operation,
    push_rescued,
    rescued_state,
    resumed,
    unlocked,
)
from provisioner.usecases.preview import check_handed, render_stack
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import (
    StackRequest,
    check_owner_of_slug,
    check_providers,
    check_quota,
    counts_dict,
    default_owner,
    expiry_policy,
    init,
    prepare_workspace,
    resolve_stack,
    tag_expiry,
    with_expiry,
)
from provisioner.usecases.teardown import teardown_held
from provisioner.usecases.tferrors import explain

if TYPE_CHECKING:
    from provisioner.data import SeedResult


@dataclass(frozen=True)
class SpinupResult:
    stack: StackId
    record: Record | None
    counts: ChangeCounts | None
    dry_run: bool
    differences: tuple[Difference, ...]
    tfvars: dict = field(default_factory=dict)  # the rendered staging variables (for the cost view)
    applied: tuple[tuple[str, str], ...] = ()   # (address, action) of each resource the apply changed
    seeded: SeedResult | None = None            # the data seeded after the apply (None: --no-data)
    skipped_since: float | None = None          # Terraform skipped: inputs unchanged since this apply

    @property
    def no_changes(self) -> bool:
        c = self.counts
        return self.skipped_since is not None or (c is not None and c.add == 0 and c.change == 0
                                                  and c.remove == 0)


def spinup(rt: Runtime, req: StackRequest, reporter: Reporter, *, dry_run: bool = False,
           reset: bool = False, health_gate: bool = True, seed: bool = True,
           refresh: bool = False) -> SpinupResult:
    """Create or update a stack (``reset``: destroy it first). Everything is checked before anything
    is written: guard, render, secrets, slug ownership, the ``[data]`` tables. After the apply the
    stack's datasets are seeded unless ``seed`` is false (what is not loaded at this version), then
    the health checks and tests run; a failing stack is kept and raises HealthFailed unless
    ``health_gate`` is off. A stack whose inputs are those of its last apply skips Terraform
    (``usecases.skip``) unless ``refresh`` (or ``reset``)."""
    stack = resolve_stack(rt, req)
    specs = None
    if seed and rt.settings.data:   # the data layer (specs, loaders) is imported only for datasets
        from provisioner.usecases.data import datasets
        specs = datasets(rt)
    guard.check(rt.settings, rt.aws, backend.location(rt.settings, stack.slug).key)
    check_providers(rt, reporter)
    owner = req.owner or default_owner()
    rendered = render_stack(rt.settings, stack, req.pr, owner)
    check_handed(rt.settings, rt.endpoint, stack, req.pr, owner)
    rt.secret_values()  # every secret is read before anything is written
    check_owner_of_slug(rt.registry.get(stack.slug), stack)
    if dry_run:
        return _plan_only(rt, stack, req, owner, rendered, reporter)
    with operation(rt, "spinup --reset" if reset else "spinup", stack, reporter) as op:
        if reset:
            teardown_held(op)
        result = _apply(op, req, owner, rendered, refresh=refresh or reset)
        if specs is not None and result.record is not None:
            from provisioner.usecases.data import seed_record
            record, seeded, _ = seed_record(rt, result.record, reporter)
            result = replace(result, record=record, seeded=seeded)
        op.outcome.detail = ("skipped: inputs unchanged" if result.skipped_since is not None else
                             "no changes" if result.no_changes else json.dumps(counts_dict(result.counts)))
        applied = result.record
        assert applied is not None
        found = health.verify(rt, applied, reporter)
        checked = rt.registry.put(health.stamped(found, applied), expected=applied)
        health.gate(found, checked, enabled=health_gate)  # inside: the audit says it failed
        return replace(result, record=checked)


def _plan_only(rt: Runtime, stack: StackId, req: StackRequest, owner: str, rendered: Rendered,
               reporter: Reporter) -> SpinupResult:
    record = rt.registry.get(stack.slug)
    live = record is not None and record.live
    now = time.time()
    tag_values = default_tags(stack, pr=req.pr, owner=owner, expires_at=tag_expiry(record) if live
                              else expiry.fixed_expiry(now, now, req.ttl_seconds, expiry_policy(rt.settings)))
    ws = prepare_workspace(rt, stack, rendered.tfvars, tag_values)
    engine = rt.terraform()
    loc = backend.location(rt.settings, stack.slug)
    fresh = not backend.state_exists(rt.aws, loc)
    init(rt, ws, engine, reporter)
    reporter.step("terraform plan (dry run: nothing is applied)")
    try:
        plan = engine.plan(str(ws.module_dir), on_event=reporter.event)
    except ProvisionerError as exc:
        raise explain(rt.settings, rendered, exc) from None
    finally:
        if fresh:  # selecting the stack's new Terraform workspace wrote an empty state: leave nothing
            backend.delete_state(rt.aws, loc)
            workspace.forget_init(ws)
    return SpinupResult(stack, record, plan.counts, True, rendered.differences, rendered.tfvars)


def _planned_record(op: Operation, req: StackRequest, owner: str, record: Record | None) -> Record:
    """The record that says "creating" (written before anything is applied): expiry clocks moved,
    PRs and owner updated. Computed only: the caller writes it."""
    rt, stack, now = op.rt, op.stack, time.time()
    fresh = record is None or not record.live
    base = Record(slug=stack.slug, branch=stack.branch, created_at=now) if fresh or record is None else record
    prs = sorted({*base.using_prs(), req.pr}) if req.pr is not None else base.open_prs
    # a stack shared by PRs keeps the PR it was made for (its tags would change on every run otherwise)
    pr = base.pr if not fresh and base.pr in prs else (req.pr if req.pr is not None else base.pr)
    fixed = expiry.fixed_expiry(base.created_at, now, req.ttl_seconds, expiry_policy(rt.settings),
                                current=None if fresh else base.fixed_expiry)
    # an extend may have set the idle clock into the future: a plain spinup never moves it back
    active_at = now if fresh or base.active_at is None else max(now, base.active_at)
    return with_expiry(rt.settings, replace(
        base, pr=pr, owner=owner, branch_source=stack.source, status="creating", error="",
        keep=False if fresh else base.keep, open_prs=prs), fixed=fixed, active_at=active_at)


def _apply(op: Operation, req: StackRequest, owner: str, rendered: Rendered, *,
           refresh: bool) -> SpinupResult:
    rt, stack, reporter = op.rt, op.stack, op.reporter
    record = rt.registry.get(stack.slug)  # read again under the lease
    check_owner_of_slug(record, stack)
    took_over = resumed(record, reporter)
    planned = _planned_record(op, req, owner, record)
    reporter.step(f"stack {stack.slug} for branch {stack.branch!r} ({len(rendered.differences)} "
                  "differences from production)")
    tag_values = default_tags(stack, pr=planned.pr, owner=owner, expires_at=tag_expiry(planned))
    inputs = skip.input_digests(rt, stack, rendered.tfvars, tag_values)
    why = "--refresh" if refresh else skip.why_not(rt.settings, record, inputs, time.time())
    if why is None and record is not None and record.last_applied_at is not None:
        reporter.step(f"terraform init, plan, apply: skipped (inputs unchanged since "
                      f"{skip.when(record.last_applied_at)})")
        done = rt.registry.put(skip.skipped_record(record, planned), expected=record)
        return SpinupResult(stack, done, None, False, rendered.differences, rendered.tfvars,
                            skipped_since=record.last_applied_at)
    if record is not None and record.live and why is not None:
        reporter.step(f"terraform: running the plan ({why})")
    check_quota(rt.settings, rt.registry, stack, record is None or not record.live)
    working = rt.registry.put(planned, expected=record)
    try:  # from here on every failure leaves the record truthful (failed/interrupted, with the reason)
        ws = prepare_workspace(rt, stack, rendered.tfvars, tag_values)
        backend.put_inputs(rt.aws, backend.location(rt.settings, stack.slug),
                           json.dumps(rendered.tfvars, sort_keys=True).encode())
        wd = str(ws.module_dir)
        with rescued_state(rt, ws):
            init(rt, ws, op.engine, reporter)
            push_rescued(op, ws)
            if took_over:
                _sweep_strays(op, wd)
            reporter.step("terraform apply")
            result = unlocked(op, wd, lambda engine: engine.apply(wd, on_event=reporter.event))
            # the apply's own outputs message (sensitive values masked); `output` only if it had none
            outputs = result.outputs or op.engine.output(wd, mask_sensitive=True)
    except ProvisionerError as exc:
        raise failed(rt, working, explain(rt.settings, rendered, exc)) from None
    done = rt.registry.put(replace(
        working, status="ready", outputs=outputs, digest=rendered.digest, last_applied_at=time.time(),
        changes=counts_dict(result.counts), variable_digests=variable_digests(rendered.tfvars),
        inputs=inputs, drifted_at=None), expected=working)
    return SpinupResult(stack, done, result.counts, False, rendered.differences, rendered.tfvars,
                        applied_resources(result.events))


def applied_resources(events: Sequence[ResourceEvent]) -> tuple[tuple[str, str], ...]:
    """(address, action) of every resource an apply completed, in Terraform's order, noops left out."""
    done: dict[str, str] = {}
    for e in events:
        if e.phase == "complete" and e.address and e.action not in ("noop", "read"):
            before = done.get(e.address)
            done[e.address] = "replace" if before and before != e.action else e.action
    return tuple(done.items())


def state_keys(state: dict) -> set[str]:
    """Every arn and id recorded in a Terraform state document."""
    keys: set[str] = set()
    for resource in state.get("resources", []):
        for instance in resource.get("instances", []):
            attrs = instance.get("attributes") or {}
            keys.update(str(attrs[k]) for k in ("arn", "id") if attrs.get(k))
    return keys


def in_state(arn: str, keys: set[str]) -> bool:
    bare = arn.removesuffix(":*")
    return bool({arn, bare, bare.rsplit(":", 1)[-1], bare.rsplit("/", 1)[-1]} & keys)


def _sweep_strays(op: Operation, workdir: str) -> None:
    """Delete what a killed apply created but never wrote to state (Terraform saves state only every
    ~20 s mid-apply): such resources carry our tags but would make the re-run fail as "already
    exists". Run only when taking over from a dead run, under the lease."""
    rt, stack = op.rt, op.stack
    keys = state_keys(op.engine.state_pull(workdir))
    plan = sweep.plan_sweep(rt.aws, set(), only_slug=stack.slug)
    strays = tuple(i for i in plan.items if not in_state(i.arn, keys))
    if strays:
        op.reporter.step(f"deleting {len(strays)} resources the dead run created but never recorded in "
                         "state")
        sweep.execute(rt.aws, replace(plan, items=strays), op.reporter)
        rt.audit.append("sweep-strays", stack.slug, stack.branch,
                        detail=", ".join(i.arn for i in strays)[:2000])
