"""Use cases: spinup, teardown, status, list.

Each use case first computes what it will do (rendered variables, the record
it will write), then carries it out; ``--dry-run`` stops after planning.
Progress goes to a ``Reporter``; the core never prints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from provisioner.domain import expiry, naming
from provisioner.domain.record import Record
from provisioner.domain.tags import default_tags
from provisioner.errors import BadInput, LockTimeout, ProvisionerError, RefusedError, TerraformError
from provisioner.safety import guard, secrets
from provisioner.state import backend
from provisioner.state import leases as lease
from provisioner.state.audit import audited, user
from provisioner.sweep import plan as sweep
from provisioner.sweep.account import find_tagged
from provisioner.terraform import locks, workspace
from provisioner.usecases.runtime import Runtime


class Reporter(Protocol):
    def step(self, message: str) -> None: ...

    def event(self, event: Any) -> None: ...


class SilentReporter:
    def step(self, message: str) -> None:
        pass

    def event(self, event: Any) -> None:
        pass


@dataclass(frozen=True)
class StackRequest:
    branch: str | None
    pr: int | None = None
    owner: str | None = None
    ttl_seconds: int | None = None
    source: str = "flag"
    slug: str | None = None   # act on a stack by its id (the nightly cleanup; state without a record)


@dataclass(frozen=True)
class SpinupResult:
    stack: naming.StackId
    record: Record | None
    counts: Any
    dry_run: bool
    differences: tuple
    tfvars: dict = field(default_factory=dict)  # the rendered staging variables (for the cost view)

    @property
    def no_changes(self) -> bool:
        c = self.counts
        return c is not None and c.add == 0 and c.change == 0 and c.remove == 0


@dataclass(frozen=True)
class TeardownResult:
    stack: naming.StackId
    action: str          # "destroyed" | "nothing" | "dry-run"
    counts: Any = None
    state_objects_deleted: int = 0


def default_owner() -> str:
    """The owner of a stack nobody named: the CI actor, else the OS user."""
    return user()


def resolve_stack(rt: Runtime, req: StackRequest) -> naming.StackId:
    if req.slug is None:
        return naming.stack_id(req.branch, limit=rt.settings.stacks.name_limit, source=req.source)
    if not naming.is_slug(req.slug):
        raise BadInput(f"{req.slug!r} is not a stack id (lower-case letters, digits and hyphens)")
    record = rt.registry.get(req.slug)
    branch = record.branch if record else f"(unknown: state {req.slug} has no record)"
    return naming.StackId(branch=branch, slug=req.slug, source=record.branch_source if record else "flag")


def render_stack(rt: Runtime, stack: naming.StackId, pr: int | None, owner: str) -> Any:
    """Baseline + overrides -> Rendered, for this stack."""
    from provisioner.render.baseline import load_baseline
    from provisioner.render.core import render
    from provisioner.render.model import Guards, RenderContext
    from provisioner.render.modulevars import module_variables
    from provisioner.render.overrides import load_overrides

    s = rt.settings
    baseline = load_baseline(str(s.path(s.project.baseline)))
    overrides = load_overrides(str(s.path(s.project.overrides)))
    module_vars = module_variables(str(s.root_module))
    ctx = RenderContext(stack=stack, pr=pr, owner=owner)
    injected = {s.project.name_variable: (stack.slug, "stack name derived from the branch")}
    guards = Guards(identifiers=s.production.forbidden, secrets=s.secrets, source=s.source)
    return render(baseline, overrides, module_vars, ctx, injected=injected, guards=guards)


def _scrubbed(rt: Runtime, exc: ProvisionerError) -> ProvisionerError:
    """``exc`` with every secret value masked in its message (a copy when anything changed)."""
    text = secrets.redact(exc.message, rt.read_secrets.values())
    if text == exc.message:
        return exc
    clean = type(exc).__new__(type(exc))  # same class (same exit code), same fields; no __init__ re-run
    clean.__dict__.update(exc.__dict__)
    clean.message, clean.args = text, (text,)
    return clean


def _check_owner_of_slug(record: Record | None, stack: naming.StackId) -> None:
    if record and record.branch != stack.branch:
        raise BadInput(f"stack id {stack.slug} already belongs to branch {record.branch!r}; "
                       f"refusing to reuse it for {stack.branch!r}", slug=stack.slug)


def _policy(rt: Runtime) -> expiry.Policy:
    st = rt.settings.stacks
    return expiry.Policy(st.default_ttl_seconds, st.max_ttl_seconds, st.idle_ttl_seconds)


def _with_expiry(rt: Runtime, rec: Record, *, fixed: float | None, active_at: float | None) -> Record:
    """``rec`` with its fixed and idle clocks set and the effective expiry derived from them."""
    eff = expiry.effective(fixed, active_at, rec.created_at, rec.keep, _policy(rt))
    return replace(rec, fixed_expires_at=fixed, active_at=active_at, expires_at=eff)


def tag_expiry(rec: Record | None) -> float | None:
    """What the ``expires-at`` tag says: the fixed expiry (None: "kept").

    Not the idle expiry: that moves on every spinup and would turn every re-run into an update of
    every resource's tags; it is shown by list and status and enforced by the nightly cleanup."""
    if rec is None or rec.keep:
        return None
    return rec.fixed_expires_at if rec.fixed_expires_at is not None else rec.expires_at


def expiry_reason(rt: Runtime, rec: Record, now: float) -> str | None:
    """'expired', 'idle' or None for a live record (kept records never expire)."""
    fixed = rec.fixed_expires_at if rec.fixed_expires_at is not None else rec.expires_at
    return expiry.reason(fixed, rec.active_at, rec.created_at, rec.keep, now, _policy(rt))


@contextmanager
def _operation(rt: Runtime, name: str, stack: naming.StackId, reporter: Reporter) -> Iterator[Any]:
    """Audit the operation and hold the stack's lease (waiting, with a message, while another run does)."""
    with audited(rt.audit, name, stack.slug, stack.branch) as outcome, lease.held(
            rt.leases, stack.slug, name, wait=rt.settings.stacks.lease_wait_seconds,
            on_wait=lambda other: reporter.step(lease.describe(other))):
        rt.lease_since = time.time()
        rt.on_retry = lambda n: reporter.step(
            f"terraform {n.command} hit a transient error ({n.pattern}); attempt {n.attempt + 1} of "
            f"{n.attempts} in {n.wait:.0f}s")
        try:
            yield outcome
        finally:
            rt.lease_since = None


def _unlocked(rt: Runtime, stack: naming.StackId, workdir: str, call: Callable[[], Any],
              reporter: Reporter) -> Any:
    """Run a Terraform command; if a dead run's state lock blocks it, break the lock and run it again.

    Runs only under the stack's lease: every run of this tool takes the lease before it touches the
    state, so a lock taken before our lease began belongs to a run that died. A lock newer than our
    lease is someone else's live Terraform and is never broken."""
    try:
        return call()
    except TerraformError as err:
        info = locks.parse_lock_info(err)
        since = rt.lease_since
        if info is None or since is None:
            raise
        if not locks.recover_lock(rt.engine, workdir, err, lambda who: info.created_at is None
                                  or info.created_at >= since):
            raise LockTimeout(f"the state of {stack.slug} is locked by {info.who} ({info.operation}) "
                              "since after this run began; not breaking a live lock",
                              slug=stack.slug) from err
        reporter.step(f"broke the state lock {info.id} left by {info.who} ({info.operation}), "
                      "a run that died")
        rt.audit.append("break-lock", stack.slug, stack.branch,
                        detail=f"lock {info.id} by {info.who} ({info.operation}, created {info.created})")
        return call()


def _resumed(record: Record | None, reporter: Reporter) -> bool:
    """Under the lease, a busy record means the run that set it died: say so and carry on."""
    if record and record.busy:
        reporter.step(f"the previous run died while {record.status} stack {record.slug}; taking over")
        return True
    return False


def _state_keys(state: dict) -> set[str]:
    """Every arn and id recorded in a Terraform state document."""
    keys: set[str] = set()
    for resource in state.get("resources", []):
        for instance in resource.get("instances", []):
            attrs = instance.get("attributes") or {}
            keys.update(str(attrs[k]) for k in ("arn", "id") if attrs.get(k))
    return keys


def _in_state(arn: str, keys: set[str]) -> bool:
    bare = arn.removesuffix(":*")
    return bool({arn, bare, bare.rsplit(":", 1)[-1], bare.rsplit("/", 1)[-1]} & keys)


def _sweep_strays(rt: Runtime, stack: naming.StackId, workdir: str, reporter: Reporter) -> None:
    """Delete what a killed apply created but never wrote to state (Terraform saves state only every
    ~20 s mid-apply): such resources carry our tags but would make the re-run fail as "already
    exists". Run only when taking over from a dead run, under the lease."""
    keys = _state_keys(rt.engine.state_pull(workdir))
    plan = sweep.plan_sweep(rt.aws, set(), only_slug=stack.slug)
    strays = tuple(i for i in plan.items if not _in_state(i.arn, keys))
    if strays:
        reporter.step(f"deleting {len(strays)} resources the dead run created but never recorded in state")
        sweep.execute(rt.aws, replace(plan, items=strays), reporter)
        rt.audit.append("sweep-strays", stack.slug, stack.branch,
                        detail=", ".join(i.arn for i in strays)[:2000])


def _check_quota(rt: Runtime, stack: naming.StackId, fresh: bool) -> None:
    quota = rt.settings.stacks.max_live
    if not quota or not fresh:
        return
    live = [r for r in rt.registry.all() if r.live and r.slug != stack.slug]
    if len(live) >= quota:
        oldest = ", ".join(f"{r.slug} ({r.branch!r}, {r.owner or '?'})" for r in live[:5])
        raise RefusedError(f"the quota of {quota} live staging stacks is used up "
                           f"(stacks.max_live in {rt.settings.source}); oldest: {oldest}. Tear one down "
                           "first", quota=quota, live=[r.slug for r in live])


def _prepare(rt: Runtime, stack: naming.StackId, tfvars: dict, tag_values: dict) -> workspace.Workspace:
    loc = backend.location(rt.settings, stack.slug)
    return workspace.prepare(
        rt.settings, stack.slug, tfvars=tfvars,
        provider=workspace.provider_block(rt.settings, tag_values, rt.endpoint),
        backend=backend.backend_block(rt.settings, loc, rt.endpoint),
    )


def spinup(rt: Runtime, req: StackRequest, reporter: Reporter, *, dry_run: bool = False,
           reset: bool = False) -> SpinupResult:
    """Create or update a stack (``reset``: destroy it first). Everything is checked before anything
    is written: guard, render, secrets, slug ownership."""
    stack = resolve_stack(rt, req)
    guard.check(rt.settings, rt.aws, backend.location(rt.settings, stack.slug).key)
    owner = req.owner or default_owner()
    rendered = render_stack(rt, stack, req.pr, owner)
    rt.secret_values()  # every secret is read before anything is written
    _check_owner_of_slug(rt.registry.get(stack.slug), stack)
    if dry_run:
        return _plan_only(rt, stack, req, owner, rendered, reporter)
    with _operation(rt, "spinup --reset" if reset else "spinup", stack, reporter) as outcome:
        if reset:
            _teardown_held(rt, stack, reporter)
        result = _apply(rt, stack, req, owner, rendered, reporter)
        outcome.detail = "no changes" if result.no_changes else json.dumps(_counts_dict(result.counts))
        return result


def _plan_only(rt: Runtime, stack: naming.StackId, req: StackRequest, owner: str, rendered: Any,
               reporter: Reporter) -> SpinupResult:
    record = rt.registry.get(stack.slug)
    live = record is not None and record.status != "destroyed"
    now = time.time()
    tag_values = default_tags(stack, pr=req.pr, owner=owner, expires_at=tag_expiry(record) if live
                              else expiry.fixed_expiry(now, now, req.ttl_seconds, _policy(rt)))
    ws = _prepare(rt, stack, rendered.tfvars, tag_values)
    _init(rt, ws, reporter)
    reporter.step("terraform plan (dry run: nothing is applied)")
    plan = rt.engine.plan(str(ws.module_dir), on_event=reporter.event)
    return SpinupResult(stack, record, plan.counts, True, rendered.differences, rendered.tfvars)


def _apply(rt: Runtime, stack: naming.StackId, req: StackRequest, owner: str, rendered: Any,
           reporter: Reporter) -> SpinupResult:
    now = time.time()
    record = rt.registry.get(stack.slug)  # read again under the lease
    _check_owner_of_slug(record, stack)
    took_over = _resumed(record, reporter)
    fresh = record is None or record.status == "destroyed"
    _check_quota(rt, stack, fresh)
    base = Record(slug=stack.slug, branch=stack.branch, created_at=now) if fresh else record
    pr = req.pr if req.pr is not None else base.pr
    fixed = expiry.fixed_expiry(base.created_at, now, req.ttl_seconds, _policy(rt),
                                current=None if fresh else base.fixed_expires_at)
    working = rt.registry.put(_with_expiry(rt, replace(
        base, pr=pr, owner=owner, branch_source=stack.source, status="creating", error="",
        keep=False if fresh else base.keep), fixed=fixed, active_at=now), expected=record)
    reporter.step(f"stack {stack.slug} for branch {stack.branch!r} ({len(rendered.differences)} "
                  "differences from production)")
    tag_values = default_tags(stack, pr=pr, owner=owner, expires_at=tag_expiry(working))
    ws = _prepare(rt, stack, rendered.tfvars, tag_values)
    backend.put_inputs(rt.aws, backend.location(rt.settings, stack.slug),
                       json.dumps(rendered.tfvars, sort_keys=True).encode())
    try:
        wd = str(ws.module_dir)
        _init(rt, ws, reporter)
        if took_over:
            _sweep_strays(rt, stack, wd, reporter)
        reporter.step("terraform apply")
        result = _unlocked(rt, stack, wd, lambda: rt.engine.apply(wd, on_event=reporter.event), reporter)
        # the apply's own outputs message (sensitive values masked); `output` only if it had none
        outputs = result.outputs or rt.engine.output(wd, mask_sensitive=True)
    except ProvisionerError as exc:
        clean = _scrubbed(rt, exc)
        rt.registry.put(replace(working, status="failed", error=str(clean)[:4000]), expected=working)
        raise clean from None
    done = rt.registry.put(replace(
        working, status="ready", outputs=outputs, digest=rendered.digest, last_applied_at=time.time(),
        changes=_counts_dict(result.counts)), expected=working)
    return SpinupResult(stack, done, result.counts, False, rendered.differences, rendered.tfvars)


def _init(rt: Runtime, ws: workspace.Workspace, reporter: Reporter) -> None:
    """``terraform init`` unless the working directory is already initialised for the same inputs."""
    if workspace.initialised(rt.settings, ws):
        reporter.step("terraform init: skipped (working directory already initialised)")
        return
    reporter.step("terraform init")
    workspace.forget_init(ws)
    with workspace.init_lock(rt.settings):
        rt.engine.init(str(ws.module_dir))
    workspace.mark_initialised(rt.settings, ws)


def _counts_dict(counts: Any) -> dict[str, int]:
    if counts is None:
        return {}
    return {"add": counts.add, "change": counts.change, "remove": counts.remove}


def _inputs_for_teardown(rt: Runtime, stack: naming.StackId, record: Record | None,
                         reporter: Reporter) -> dict:
    stored = backend.get_inputs(rt.aws, backend.location(rt.settings, stack.slug))
    if stored is not None:
        return json.loads(stored)
    reporter.step("no stored inputs beside the state; rendering them again")
    owner = record.owner if record else default_owner()
    return render_stack(rt, stack, record.pr if record else None, owner).tfvars


def teardown(rt: Runtime, req: StackRequest, reporter: Reporter, *, dry_run: bool = False) -> TeardownResult:
    stack = resolve_stack(rt, req)
    loc = backend.location(rt.settings, stack.slug)
    guard.check(rt.settings, rt.aws, loc.key)
    record = rt.registry.get(stack.slug)
    _check_owner_of_slug(record, stack)
    has_state = backend.state_exists(rt.aws, loc)
    if _nothing_to_destroy(record, has_state):
        reporter.step(f"nothing to tear down for branch {stack.branch!r} ({stack.slug})")
        return TeardownResult(stack, "nothing")
    if dry_run:
        reporter.step(f"would destroy stack {stack.slug} (record: {record.status if record else 'none'}, "
                      f"state: {'yes' if has_state else 'no'})")
        return TeardownResult(stack, "dry-run")
    if has_state:
        rt.secret_values()  # Terraform destroy needs them too; read before anything is written
    with _operation(rt, "teardown", stack, reporter):
        return _teardown_held(rt, stack, reporter)


def _nothing_to_destroy(record: Record | None, has_state: bool) -> bool:
    return (record is None or record.status == "destroyed") and not has_state


def _teardown_held(rt: Runtime, stack: naming.StackId, reporter: Reporter) -> TeardownResult:
    """Destroy, sweep what remains tagged with the stack, verify, delete state, mark destroyed.

    The caller holds the stack's lease."""
    loc = backend.location(rt.settings, stack.slug)
    record = rt.registry.get(stack.slug)
    _check_owner_of_slug(record, stack)
    has_state = backend.state_exists(rt.aws, loc)
    if _nothing_to_destroy(record, has_state):
        return TeardownResult(stack, "nothing")
    _resumed(record, reporter)
    base = record or Record(slug=stack.slug, branch=stack.branch, created_at=time.time(),
                            branch_source=stack.source)
    working = rt.registry.put(replace(base, status="destroying", error=""), expected=record)
    try:
        counts = _destroy(rt, stack, working, reporter) if has_state else None
        _sweep_leftovers(rt, stack, reporter)
    except ProvisionerError as exc:
        clean = _scrubbed(rt, exc)
        rt.registry.put(replace(working, status="failed", error=str(clean)[:4000]), expected=working)
        raise clean from None
    deleted = backend.delete_state(rt.aws, loc)
    rt.registry.put(replace(working, status="destroyed", outputs={}, error=""), expected=working)
    workspace.remove(rt.settings, stack.slug)
    return TeardownResult(stack, "destroyed", counts, deleted)


def _sweep_leftovers(rt: Runtime, stack: naming.StackId, reporter: Reporter) -> None:
    """Nothing tagged with the stack may remain: sweep it, then verify."""
    plan = sweep.plan_sweep(rt.aws, set(), only_slug=stack.slug)
    if plan.items:
        reporter.step(f"sweeping {len(plan.items)} resources tagged {stack.slug} that Terraform did not "
                      "destroy (not in its state)")
        sweep.execute(rt.aws, plan, reporter)
    leftovers = find_tagged(rt.aws, stack.slug)
    if leftovers:
        raise ProvisionerError(f"{len(leftovers)} resources tagged {stack.slug} remain after destroy: "
                               + ", ".join(leftovers[:10]), leftovers=leftovers)


def _destroy(rt: Runtime, stack: naming.StackId, record: Record, reporter: Reporter) -> Any:
    tfvars = _inputs_for_teardown(rt, stack, record, reporter)
    tag_values = default_tags(stack, pr=record.pr, owner=record.owner, expires_at=tag_expiry(record))
    ws = _prepare(rt, stack, tfvars, tag_values)
    _init(rt, ws, reporter)
    reporter.step("terraform destroy")
    wd = str(ws.module_dir)
    return _unlocked(rt, stack, wd, lambda: rt.engine.destroy(wd, on_event=reporter.event), reporter).counts


def status(rt: Runtime, req: StackRequest) -> tuple[naming.StackId, Record | None]:
    stack = resolve_stack(rt, req)
    return stack, rt.registry.get(stack.slug)


def set_keep(rt: Runtime, req: StackRequest, keep: bool, reporter: Reporter | None = None) -> Record | None:
    """Mark a live stack as kept (exempt from expiry) or not; None when there is no live stack."""
    stack = resolve_stack(rt, req)
    record = rt.registry.get(stack.slug)
    if record is None or record.status == "destroyed":
        return None
    _check_owner_of_slug(record, stack)
    with _operation(rt, "keep" if keep else "keep --off", stack, reporter or SilentReporter()):
        record = rt.registry.get(stack.slug)
        if record is None or record.status == "destroyed" or record.keep == keep:
            return record
        fixed = record.fixed_expires_at if record.fixed_expires_at is not None else record.expires_at
        return rt.registry.put(_with_expiry(rt, replace(record, keep=keep), fixed=fixed,
                                            active_at=record.active_at), expected=record)


def extend(rt: Runtime, req: StackRequest, by: int, reporter: Reporter | None = None) -> Record | None:
    """Push a live stack's expiry out by ``by`` seconds (capped by stacks.max_ttl); resets the idle clock.

    The new expiry reaches the ``expires-at`` tag on the next apply."""
    stack = resolve_stack(rt, req)
    with _operation(rt, "extend", stack, reporter or SilentReporter()):
        record = rt.registry.get(stack.slug)
        if record is None or record.status == "destroyed":
            return None
        _check_owner_of_slug(record, stack)
        now = time.time()
        current = record.fixed_expires_at if record.fixed_expires_at is not None else record.expires_at
        fixed, active_at = expiry.extended(record.created_at, current, now, by, _policy(rt))
        return rt.registry.put(_with_expiry(rt, record, fixed=fixed, active_at=active_at), expected=record)
