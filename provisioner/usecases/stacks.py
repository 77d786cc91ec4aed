"""What every use case on one stack shares: the request, the stack it names, the record's expiry
clocks, and the stack's working directory.

``StackRequest`` is what a command asks for (a branch, or a stack id for state without a record);
``resolve_stack`` turns it into the ``StackId`` every later step uses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from provisioner.config import Settings
from provisioner.domain import expiry, naming
from provisioner.domain.record import Record
from provisioner.errors import BadInput, RefusedError
from provisioner.state import backend
from provisioner.state.audit import user
from provisioner.state.registry import Registry
from provisioner.terraform import workspace
from provisioner.terraform.events import ChangeCounts
from provisioner.terraform.interface import Engine
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime


@dataclass(frozen=True)
class StackRequest:
    branch: str | None
    pr: int | None = None
    owner: str | None = None
    ttl_seconds: int | None = None
    source: str = "flag"
    slug: str | None = None   # act on a stack by its id (the nightly cleanup; state without a record)


def default_owner() -> str:
    """The owner of a stack nobody named: the CI actor, else the OS user."""
    return user()


def stack_of(settings: Settings, req: StackRequest) -> naming.StackId:
    """The stack a branch names, without reading anything (render, diff)."""
    return naming.stack_id(req.branch, limit=settings.stacks.name_limit, source=req.source)


def resolve_stack(rt: Runtime, req: StackRequest) -> naming.StackId:
    if req.slug is None:
        return stack_of(rt.settings, req)
    if not naming.is_slug(req.slug):
        raise BadInput(f"{req.slug!r} is not a stack id (lower-case letters, digits and hyphens)")
    record = rt.registry.get(req.slug)
    branch = record.branch if record else f"(unknown: state {req.slug} has no record)"
    return naming.StackId(branch=branch, slug=req.slug, source=record.branch_source if record else "flag")


def check_owner_of_slug(record: Record | None, stack: naming.StackId) -> None:
    if record and record.branch != stack.branch:
        raise BadInput(f"stack id {stack.slug} already belongs to branch {record.branch!r}; "
                       f"refusing to reuse it for {stack.branch!r}", slug=stack.slug)


def expiry_policy(settings: Settings) -> expiry.Policy:
    st = settings.stacks
    return expiry.Policy(st.default_ttl_seconds, st.max_ttl_seconds, st.idle_ttl_seconds)


def with_expiry(settings: Settings, rec: Record, *, fixed: float | None, active_at: float | None) -> Record:
    """``rec`` with its fixed and idle clocks set and the effective expiry derived from them."""
    eff = expiry.effective(fixed, active_at, rec.created_at, rec.keep, expiry_policy(settings))
    return replace(rec, fixed_expires_at=fixed, active_at=active_at, expires_at=eff)


def tag_expiry(rec: Record | None) -> float | None:
    """What the ``expires-at`` tag says: the fixed expiry (None: "kept").

    Not the idle expiry: that moves on every spinup and would turn every re-run into an update of
    every resource's tags; it is shown by list and status and enforced by the nightly cleanup."""
    if rec is None or rec.keep:
        return None
    return rec.fixed_expiry


def expiry_reason(settings: Settings, rec: Record, now: float) -> str | None:
    """'expired', 'idle' or None for a live record (kept records never expire)."""
    return expiry.reason(rec.fixed_expiry, rec.active_at, rec.created_at, rec.keep, now,
                         expiry_policy(settings))


def check_quota(settings: Settings, registry: Registry, stack: naming.StackId, fresh: bool) -> None:
    quota = settings.stacks.max_live
    if not quota or not fresh:
        return
    live = [r for r in registry.all() if r.live and r.slug != stack.slug]
    if len(live) >= quota:
        oldest = ", ".join(f"{r.slug} ({r.branch!r}, {r.owner or '?'})" for r in live[:5])
        raise RefusedError(f"the quota of {quota} live staging stacks is used up "
                           f"(stacks.max_live in {settings.source}); oldest: {oldest}. Tear one down "
                           "first", quota=quota, live=[r.slug for r in live])


def prepare_workspace(rt: Runtime, stack: naming.StackId, tfvars: dict, tag_values: dict[str, str]
                      ) -> workspace.Workspace:
    loc = backend.location(rt.settings, stack.slug)
    return workspace.prepare(
        rt.settings, stack.slug, tfvars=tfvars,
        provider=workspace.provider_block(rt.settings, tag_values, rt.endpoint),
        backend=backend.backend_block(rt.settings, loc, rt.endpoint),
    )


def init(rt: Runtime, ws: workspace.Workspace, engine: Engine, reporter: Reporter) -> None:
    """``terraform init`` unless the working directory is already initialised for the same inputs."""
    if workspace.initialised(rt.settings, ws):
        reporter.step("terraform init: skipped (working directory already initialised)")
        return
    reporter.step("terraform init")
    workspace.forget_init(ws)
    with workspace.init_lock(rt.settings):
        engine.init(str(ws.module_dir))
    workspace.mark_initialised(rt.settings, ws)


def counts_dict(counts: ChangeCounts | None) -> dict[str, int]:
    if counts is None:
        return {}
    return {"add": counts.add, "change": counts.change, "remove": counts.remove}
