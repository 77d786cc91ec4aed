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
from provisioner.errors import BadInput, RefusedError, TerraformError
from provisioner.safety import guard
from provisioner.state import backend
from provisioner.state.audit import user
from provisioner.state.registry import Registry
from provisioner.terraform import workspace
from provisioner.terraform.events import ChangeCounts
from provisioner.terraform.interface import Engine
from provisioner.terraform.rootmodule import read_root_module, unquote
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
    root = read_root_module(rt.settings.root_module)
    providers, _notes = workspace.provider_block(rt.settings, tag_values, rt.endpoint, root)
    return workspace.prepare(
        rt.settings, stack.slug, tfvars=tfvars, provider=providers, root=root,
        backend=backend.backend_block(rt.settings, loc, rt.endpoint),
    )


def stack_regions(settings: Settings) -> tuple[str, ...]:
    """Every region a stack's provider blocks name, besides the target's (none when the root module
    cannot be read: the sweep and the teardown check then cover the target's region only)."""
    try:
        return read_root_module(settings.root_module).regions
    except BadInput:
        return ()


def check_providers(rt: Runtime, reporter: Reporter) -> None:
    """Before any plan: every provider block's credentials (the aws target refuses a role or profile
    in a production account, exit 3); on the local target say what the override neutralises."""
    root = read_root_module(rt.settings.root_module)
    roles = [(f"{b.label} in {b.file}", raw, unquote(raw)) for b in root.providers for raw in b.role_arns]
    profiles = [(f"{b.label} in {b.file}", b.profile, unquote(b.profile)) for b in root.providers
                if b.profile is not None]
    guard.check_provider_credentials(rt.settings, rt.aws, roles, profiles)
    if rt.endpoint:
        for note in workspace.provider_block(rt.settings, {}, rt.endpoint, root)[1]:
            reporter.step(f"note: {note.block.label} in {note.block.file}: {note.what} is not used on the "
                          "local target (the stack runs with the emulator's credentials)")


def init(rt: Runtime, ws: workspace.Workspace, engine: Engine, reporter: Reporter) -> None:
    """``terraform init`` unless the working directory is already initialised for the same inputs;
    then the stack's own Terraform workspace (its slug) is selected, created when missing."""
    if workspace.initialised(rt.settings, ws):
        reporter.step("terraform init: skipped (working directory already initialised)")
        return
    reporter.step("terraform init")
    workspace.forget_init(ws)
    (ws.module_dir / ".terraform" / "environment").unlink(missing_ok=True)  # init in "default"
    with workspace.init_lock(rt.settings):
        try:
            engine.init(str(ws.module_dir))
        except TerraformError as exc:
            if not any(sign in str(exc) for sign in _LOCK_REJECTED):
                raise
            reporter.step("note: Terraform rejected the stack's copy of .terraform.lock.hcl "
                          f"({_first_line(exc)}); rebuilding it once (the repository's file is not touched)")
            workspace.lock_rebuilt(rt.settings, ws)
            engine.init(str(ws.module_dir))
    engine.select_workspace(str(ws.module_dir), ws.root.name)
    workspace.mark_initialised(rt.settings, ws)


# How Terraform says it will not use the (stack's copy of the) lock file.
_LOCK_REJECTED = ("does not match any of the checksums", "dependency lock file", "lock file",
                  "previously-selected version")


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines()[1:] if line.strip()]
    return (lines[0] if lines else str(exc))[:300]


def counts_dict(counts: ChangeCounts | None) -> dict[str, int]:
    if counts is None:
        return {}
    return {"add": counts.add, "change": counts.change, "remove": counts.remove}
