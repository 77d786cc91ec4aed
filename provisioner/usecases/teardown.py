"""``teardown``: destroy a stack, sweep what remains tagged with it, verify nothing tagged remains,
delete its state, mark the record destroyed. A record is never marked destroyed while resources
may exist: any failure leaves it ``failed`` with the reason.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from provisioner.aws.errors import must
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.domain.tags import default_tags
from provisioner.errors import ProvisionerError
from provisioner.safety import guard
from provisioner.state import backend
from provisioner.support.parallel import pair, settle
from provisioner.sweep import plan as sweep
from provisioner.sweep.account import accounts, find_tagged, tagged_in
from provisioner.terraform import workspace
from provisioner.terraform.events import ChangeCounts
from provisioner.usecases.data import drop_stack_data
from provisioner.usecases.lookup import suggestions
from provisioner.usecases.operation import (
    Operation,
    failed,
    operation,
    push_rescued,
    rescued_state,
    resumed,
    unlocked,
)
from provisioner.usecases.preview import render_stack
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import (
    StackRequest,
    check_owner_of_slug,
    check_providers,
    default_owner,
    init,
    prepare_workspace,
    resolve_stack,
    stack_regions,
    tag_expiry,
)


@dataclass(frozen=True)
class TeardownResult:
    stack: StackId
    action: str          # "destroyed" | "nothing" | "dry-run"
    counts: ChangeCounts | None = None
    state_objects_deleted: int = 0
    suggestions: tuple[str, ...] = ()   # "nothing": the live branches nearest to the one asked for


def teardown(rt: Runtime, req: StackRequest, reporter: Reporter, *, dry_run: bool = False) -> TeardownResult:
    stack = resolve_stack(rt, req)
    loc = backend.location(rt.settings, stack.slug)
    guard.check(rt.settings, rt.aws, loc.key)
    record, has_state = _record_and_state(rt, stack, loc)
    if nothing_to_destroy(record, has_state):
        if not dry_run:
            workspace.remove(rt.settings, stack.slug)  # a stack with no live record keeps no local files
        return TeardownResult(stack, "nothing", suggestions=tuple(suggestions(rt, stack)))
    if dry_run:
        reporter.step(f"would destroy stack {stack.slug} (record: {record.status if record else 'none'}, "
                      f"state: {'yes' if has_state else 'no'})")
        return TeardownResult(stack, "dry-run")
    if has_state:
        check_providers(rt, reporter)
        rt.secret_values()  # Terraform destroy needs them too; read before anything is written
    with operation(rt, "teardown", stack, reporter) as op:
        return teardown_held(op)


def _record_and_state(rt: Runtime, stack: StackId, loc: backend.StateLocation) -> tuple[Record | None, bool]:
    """The stack's record and whether it has a state, read at once; refused when the slug's record
    belongs to another branch. Read before the lease is taken and again under it."""
    record, has_state = pair(lambda: rt.registry.get(stack.slug), lambda: backend.state_exists(rt.aws, loc))
    check_owner_of_slug(record, stack)
    return record, has_state


def nothing_to_destroy(record: Record | None, has_state: bool) -> bool:
    return (record is None or not record.live) and not has_state


def teardown_held(op: Operation) -> TeardownResult:
    """Destroy, sweep what remains tagged with the stack, verify, delete state, mark destroyed.

    The caller holds the stack's lease."""
    rt, stack = op.rt, op.stack
    loc = backend.location(rt.settings, stack.slug)
    record, has_state = _record_and_state(rt, stack, loc)
    if nothing_to_destroy(record, has_state):
        workspace.remove(rt.settings, stack.slug)
        return TeardownResult(stack, "nothing")
    resumed(record, op.reporter)
    op.reporter.step(f"stack {stack.slug} for branch {stack.branch!r}: teardown")
    base = record or Record(slug=stack.slug, branch=stack.branch, created_at=time.time(),
                            branch_source=stack.source)
    working = rt.registry.put(replace(base, status="destroying", error=""), expected=record)
    try:
        counts, dropped = _destroy_beside(op, working, has_state)
        if dropped:
            op.reporter.step(f"dropped the PostgreSQL database of {stack.slug}")
        _sweep_leftovers(op)
    except ProvisionerError as exc:
        raise failed(rt, working, exc) from None
    deleted = _closed(rt, working, loc)
    return TeardownResult(stack, "destroyed", counts, deleted)


def _destroy_beside(op: Operation, working: Record, has_state: bool) -> tuple[ChangeCounts | None, bool]:
    """Terraform destroy (when there is state), and beside it, in a thread, what does not wait for
    it: the stack's PostgreSQL database is dropped (it is no Terraform resource) and the clients of
    the nothing-tagged check are built. Returns the counts and whether a database was dropped; a
    failure of either side is raised (the other's, if both failed, as a note on it).

    Not ``support.parallel.pair``, which runs both calls in pool threads: the destroy stays on this
    thread, where Python delivers SIGINT and SIGTERM (``support.interrupts`` raises ``Interrupted``
    or passes the signal to Terraform from here)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="teardown-beside") as pool:
        beside = pool.submit(_beside_destroy, op.rt, working)
        try:
            counts = _destroy(op, working) if has_state else None
        except BaseException as exc:
            side = beside.exception()  # waits: nothing is left running behind the error
            if side is not None:
                exc.add_note(f"also, beside the destroy: {type(side).__name__}: {side}")
            raise
        return counts, beside.result()


def _beside_destroy(rt: Runtime, working: Record) -> bool:
    for service in CHECK_SERVICES:
        rt.aws.client(service)
    return drop_stack_data(rt, working)


# The clients the nothing-tagged check and the state deletion use (sweep.account, state.backend).
CHECK_SERVICES = ("resourcegroupstaggingapi", "iam", "rds", "s3")


def _closed(rt: Runtime, working: Record, loc: backend.StateLocation) -> int:
    """Nothing tagged remains (verified): delete the state, mark the record destroyed and remove the
    local directory, at once; returns how many state objects were deleted.

    The record may say destroyed before the state is gone: it speaks of resources, and those are
    verified gone. When the state deletion fails, the record is then marked failed with the reason
    (a later teardown or the nightly cleanup deletes it); when the record write fails, the error is
    raised as it is (the record still says ``destroying``, which the next run takes over)."""
    # a destroyed stack has no expiry: none is shown or stored
    destroyed = replace(working, status="destroyed", outputs={}, error="", expires_at=None, data={})
    state, record, local = settle([
        lambda: must(f"delete the state of {loc.slug} (s3://{loc.bucket}/{loc.directory}/)",
                     lambda: backend.delete_state(rt.aws, loc), slug=loc.slug),
        lambda: rt.registry.put(destroyed, expected=working),
        lambda: workspace.remove(rt.settings, loc.slug),
    ])
    if record.error is not None:
        raise record.error
    if state.error is not None:
        exc = state.error if isinstance(state.error, ProvisionerError) else \
            ProvisionerError(f"deleting the state of {loc.slug}: {state.error}", slug=loc.slug)
        raise failed(rt, record.value, exc) from state.error  # type: ignore[arg-type]
    if local.error is not None:
        raise local.error
    deleted: int = state.value  # type: ignore[assignment]
    return deleted


def _sweep_leftovers(op: Operation) -> None:
    """Nothing tagged with the stack may remain: sweep it, then verify.

    Every region is scanned at once (and in each, the tagging API, IAM and RDS at once). When that
    scan finds nothing, it is the verification: nothing was done since that could change its answer.
    After a sweep, everything is scanned again."""
    rt, stack = op.rt, op.stack
    regions = stack_regions(rt.settings)
    found_in = accounts(rt.aws, regions)  # aliased providers may work in other regions
    swept = False
    for account, found in zip(found_in, tagged_in(found_in, stack.slug), strict=True):
        plan = sweep.build_plan(found, set(), only_slug=stack.slug)
        if plan.items:
            op.reporter.step(f"sweeping {len(plan.items)} resources tagged {stack.slug} in "
                             f"{account.aws.region} that Terraform did not destroy (not in its state)")
            sweep.execute(account, plan, op.reporter)
            swept = True
    leftovers = find_tagged(rt.aws, stack.slug, regions) if swept else []
    if leftovers:
        raise ProvisionerError(f"{len(leftovers)} resources tagged {stack.slug} remain after destroy: "
                               + ", ".join(leftovers[:10]), leftovers=leftovers)


def _inputs_for_teardown(op: Operation, record: Record | None) -> dict:
    rt, stack = op.rt, op.stack
    stored = backend.get_inputs(rt.aws, backend.location(rt.settings, stack.slug))
    if stored is not None:
        inputs: dict = json.loads(stored)
        return inputs
    op.reporter.step("no stored inputs beside the state; rendering them again")
    owner = record.owner if record else default_owner()
    return render_stack(rt.settings, stack, record.pr if record else None, owner).tfvars


def _destroy(op: Operation, record: Record) -> ChangeCounts | None:
    rt, stack = op.rt, op.stack
    tfvars = _inputs_for_teardown(op, record)
    tag_values = default_tags(stack, pr=record.pr, owner=record.owner, expires_at=tag_expiry(record))
    ws = prepare_workspace(rt, stack, tfvars, tag_values)
    with rescued_state(rt, ws):
        init(rt, ws, op.engine, op.reporter)
        push_rescued(op, ws)
        op.reporter.step("terraform destroy")
        wd = str(ws.module_dir)
        return unlocked(op, wd, lambda engine: engine.destroy(wd, on_event=op.reporter.event)).counts
