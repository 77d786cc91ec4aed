"""Use cases: spinup, teardown, status, list.

Each use case first computes what it will do (rendered variables, the record
it will write), then carries it out; ``--dry-run`` stops after planning.
Progress goes to a ``Reporter``; the core never prints.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from . import backend, guard, naming, secrets, sweep, workspace
from .errors import BadInput, LockTimeout, ProvisionerError
from .registry import BUSY, Record
from .runtime import Runtime
from .tags import default_tags

# A record stuck in creating/destroying longer than this belongs to a dead run.
STALE_BUSY_SECONDS = 3600


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
    for var in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def resolve_stack(rt: Runtime, req: StackRequest) -> naming.StackId:
    return naming.stack_id(req.branch, limit=rt.settings.stacks.name_limit, source=req.source)


def render_stack(rt: Runtime, stack: naming.StackId, pr: int | None, owner: str) -> Any:
    """Baseline + overrides -> Rendered, for this stack."""
    from . import render

    s = rt.settings
    baseline = render.load_baseline(str(s.path(s.project.baseline)))
    overrides = render.load_overrides(str(s.path(s.project.overrides)))
    module_vars = render.module_variables(str(s.root_module))
    ctx = render.RenderContext(stack=stack, pr=pr, owner=owner)
    injected = {s.project.name_variable: (stack.slug, "stack name derived from the branch")}
    guards = render.Guards(identifiers=s.production.forbidden, secrets=s.secrets, source=s.source)
    return render.render(baseline, overrides, module_vars, ctx, injected=injected, guards=guards)


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


def _check_not_busy(record: Record | None, now: float) -> None:
    if record and record.status in BUSY and now - record.updated_at < STALE_BUSY_SECONDS:
        raise LockTimeout(f"stack {record.slug} is {record.status} by another run since "
                          f"{time.strftime('%H:%M:%S', time.gmtime(record.updated_at))} UTC; try again "
                          "when it has finished", slug=record.slug)


def _expiry(rt: Runtime, record: Record | None, ttl: int | None, now: float) -> float:
    st = rt.settings.stacks
    if record and record.status != "destroyed" and record.expires_at and ttl is None:
        return record.expires_at
    created = record.created_at if record and record.status != "destroyed" else now
    wanted = now + (ttl or st.default_ttl_seconds)
    return min(wanted, created + st.max_ttl_seconds)


def _prepare(rt: Runtime, stack: naming.StackId, tfvars: dict, tag_values: dict) -> workspace.Workspace:
    loc = backend.location(rt.settings, stack.slug)
    return workspace.prepare(
        rt.settings, stack.slug, tfvars=tfvars,
        provider=workspace.provider_block(rt.settings, tag_values, rt.endpoint),
        backend=backend.backend_block(rt.settings, loc, rt.endpoint),
    )


def spinup(rt: Runtime, req: StackRequest, reporter: Reporter, *, dry_run: bool = False) -> SpinupResult:
    now = time.time()
    stack = resolve_stack(rt, req)
    guard.check(rt.settings, rt.aws, backend.location(rt.settings, stack.slug).key)
    owner = req.owner or default_owner()
    rendered = render_stack(rt, stack, req.pr, owner)
    rt.secret_values()  # every secret is read before anything is written
    record = rt.registry.get(stack.slug)
    _check_owner_of_slug(record, stack)
    _check_not_busy(record, now)
    expires_at = _expiry(rt, record, req.ttl_seconds, now)
    pr = req.pr if req.pr is not None else (record.pr if record else None)
    tag_values = default_tags(stack, pr=pr, owner=owner, expires_at=expires_at)
    reporter.step(f"stack {stack.slug} for branch {stack.branch!r} ({len(rendered.differences)} "
                  "differences from production)")
    ws = _prepare(rt, stack, rendered.tfvars, tag_values)
    reporter.step("terraform init")
    rt.engine.init(str(ws.module_dir))
    if dry_run:
        reporter.step("terraform plan (dry run: nothing is applied)")
        plan = rt.engine.plan(str(ws.module_dir), on_event=reporter.event)
        return SpinupResult(stack, record, plan.counts, True, rendered.differences, rendered.tfvars)
    fresh = record is None or record.status == "destroyed"
    base = Record(slug=stack.slug, branch=stack.branch, created_at=now) if fresh else record
    working = rt.registry.put(replace(
        base, pr=pr, owner=owner, branch_source=stack.source, status="creating", expires_at=expires_at,
        error="", created_at=now if fresh else base.created_at), expected=record)
    loc = backend.location(rt.settings, stack.slug)
    backend.put_inputs(rt.aws, loc, json.dumps(rendered.tfvars, sort_keys=True).encode())
    reporter.step("terraform apply")
    try:
        result = rt.engine.apply(str(ws.module_dir), on_event=reporter.event)
        outputs = rt.engine.output(str(ws.module_dir), mask_sensitive=True)
    except ProvisionerError as exc:
        clean = _scrubbed(rt, exc)
        rt.registry.put(replace(working, status="failed", error=str(clean)[:4000]), expected=working)
        raise clean from None
    counts = result.counts
    done = rt.registry.put(replace(
        working, status="ready", outputs=outputs, digest=rendered.digest, last_applied_at=time.time(),
        changes=_counts_dict(counts)), expected=working)
    return SpinupResult(stack, done, counts, False, rendered.differences, rendered.tfvars)


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
    now = time.time()
    stack = resolve_stack(rt, req)
    loc = backend.location(rt.settings, stack.slug)
    guard.check(rt.settings, rt.aws, loc.key)
    record = rt.registry.get(stack.slug)
    _check_owner_of_slug(record, stack)
    _check_not_busy(record, now)
    has_state = backend.state_exists(rt.aws, loc)
    live = record is not None and record.status != "destroyed"
    if not live and not has_state:
        reporter.step(f"nothing to tear down for branch {stack.branch!r} ({stack.slug})")
        return TeardownResult(stack, "nothing")
    if dry_run:
        reporter.step(f"would destroy stack {stack.slug} (record: {record.status if record else 'none'}, "
                      f"state: {'yes' if has_state else 'no'})")
        return TeardownResult(stack, "dry-run")
    if has_state:
        rt.secret_values()  # Terraform destroy needs them too; read before anything is written
    base = record or Record(slug=stack.slug, branch=stack.branch, created_at=now, branch_source=stack.source)
    working = rt.registry.put(replace(base, status="destroying", error=""), expected=record)
    try:
        counts = _destroy(rt, stack, working, reporter) if has_state else None
        leftovers = sweep.find_tagged(rt.aws, stack.slug)
        if leftovers:
            raise ProvisionerError(f"{len(leftovers)} resources tagged {stack.slug} remain after destroy: "
                                   + ", ".join(leftovers[:10]), leftovers=leftovers)
    except ProvisionerError as exc:
        clean = _scrubbed(rt, exc)
        rt.registry.put(replace(working, status="failed", error=str(clean)[:4000]), expected=working)
        raise clean from None
    deleted = backend.delete_state(rt.aws, loc)
    rt.registry.put(replace(working, status="destroyed", outputs={}, error=""), expected=working)
    workspace.remove(rt.settings, stack.slug)
    return TeardownResult(stack, "destroyed", counts, deleted)


def _destroy(rt: Runtime, stack: naming.StackId, record: Record, reporter: Reporter) -> Any:
    tfvars = _inputs_for_teardown(rt, stack, record, reporter)
    expires_at = record.expires_at or time.time()
    tag_values = default_tags(stack, pr=record.pr, owner=record.owner, expires_at=expires_at)
    ws = _prepare(rt, stack, tfvars, tag_values)
    reporter.step("terraform init")
    rt.engine.init(str(ws.module_dir))
    reporter.step("terraform destroy")
    return rt.engine.destroy(str(ws.module_dir), on_event=reporter.event).counts


def status(rt: Runtime, req: StackRequest) -> tuple[naming.StackId, Record | None]:
    stack = resolve_stack(rt, req)
    return stack, rt.registry.get(stack.slug)


def list_records(rt: Runtime, *, include_destroyed: bool = False) -> list[Record]:
    return [r for r in rt.registry.all() if include_destroyed or r.status != "destroyed"]


def set_keep(rt: Runtime, req: StackRequest, keep: bool) -> Record | None:
    """Mark a live stack as kept (exempt from expiry) or not; None when there is no live stack."""
    stack = resolve_stack(rt, req)
    record = rt.registry.get(stack.slug)
    if record is None or record.status == "destroyed":
        return None
    _check_owner_of_slug(record, stack)
    _check_not_busy(record, time.time())
    if record.keep == keep:
        return record
    return rt.registry.put(replace(record, keep=keep), expected=record)
