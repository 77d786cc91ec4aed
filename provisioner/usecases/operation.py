"""One run of a use case on one stack: audited, under the stack's lease, with its own retry listener.

``operation`` yields an ``Operation`` value that the steps inside share (the engine that tells the
reporter about re-runs, when the lease was taken); nothing is set on the shared ``Runtime``.
``unlocked`` runs a Terraform command and, if a state lock left by a dead run blocks it, breaks
that lock (never a live one) and runs it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TypeVar

from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.errors import Interrupted, LockTimeout, ProvisionerError, TerraformError
from provisioner.safety import secrets
from provisioner.state import leases
from provisioner.state.audit import Outcome, audited
from provisioner.terraform import locks, workspace
from provisioner.terraform.interface import Engine
from provisioner.terraform.retrying import RetryNotice
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime

T = TypeVar("T")


@dataclass(frozen=True)
class Operation:
    """What the steps of one audited, leased run share."""

    rt: Runtime
    name: str
    stack: StackId
    reporter: Reporter
    engine: Engine        # Terraform, telling this run's reporter about each re-run
    lease_since: float    # when this run took the lease: a state lock older than that is a dead run's
    outcome: Outcome      # what the audit entry will say; the block may fill in its detail


def _retry_line(n: RetryNotice) -> str:
    return (f"terraform {n.command} hit a transient error ({n.pattern}); attempt {n.attempt + 1} of "
            f"{n.attempts} in {n.wait:.0f}s")


@contextmanager
def operation(rt: Runtime, name: str, stack: StackId, reporter: Reporter) -> Iterator[Operation]:
    """Audit the operation and hold the stack's lease (waiting, with a message, while another run does)."""
    with audited(rt.audit, name, stack.slug, stack.branch) as outcome, leases.held(
            rt.leases, stack.slug, name, wait=rt.settings.stacks.lease_wait_seconds,
            on_wait=lambda other: reporter.step(leases.describe(other))):
        engine = rt.terraform(on_retry=lambda n: reporter.step(_retry_line(n)))
        try:
            yield Operation(rt, name, stack, reporter, engine, time.time(), outcome)
        except Interrupted as exc:
            exc.on_a_stack()  # the same error, now saying how to resume
            raise


def unlocked(op: Operation, workdir: str, call: Callable[[Engine], T]) -> T:
    """``call(engine)``; if a dead run's state lock blocks it, break the lock and call again.

    Runs only under the stack's lease: every run of this tool takes the lease before it touches the
    state, so a lock taken before our lease began belongs to a run that died. A lock newer than our
    lease is someone else's live Terraform and is never broken."""
    try:
        return call(op.engine)
    except TerraformError as err:
        info = locks.parse_lock_info(err)
        if info is None:
            raise
        since = op.lease_since
        if not locks.recover_lock(op.engine, workdir, err, lambda who: info.created_at is None
                                  or info.created_at >= since):
            raise LockTimeout(f"the state of {op.stack.slug} is locked by {info.who} ({info.operation}) "
                              "since after this run began; not breaking a live lock",
                              slug=op.stack.slug) from err
        op.reporter.step(f"broke the state lock {info.id} left by {info.who} ({info.operation}), "
                         "a run that died")
        op.rt.audit.append("break-lock", op.stack.slug, op.stack.branch,
                           detail=f"lock {info.id} by {info.who} ({info.operation}, created {info.created})")
        return call(op.engine)


def push_rescued(op: Operation, ws: workspace.Workspace) -> None:
    """Before Terraform runs on the stack: push the state an earlier run could not save (its backend
    died at the end of an apply or destroy: ``rescued_state`` kept it), newest first.

    That state knows what the run did; the backend's copy is older. With the emulator's recording
    holding every answered request, the replayed emulator agrees with the kept state, not with the
    backend's: refreshing the older one against it made the provider wait minutes for resources the
    dead run had already deleted. Terraform itself refuses a state of another lineage or older than
    the backend's (no ``-force``): then the file is left where it is and the run says so."""
    kept = workspace.rescued(op.rt.settings, ws)
    if not kept:
        return
    newest, wd = kept[-1], str(ws.module_dir)
    try:
        unlocked(op, wd, lambda engine: engine.state_push(wd, str(newest)))
    except TerraformError as exc:
        first = next((d.summary for d in exc.diagnostics), str(exc).splitlines()[0])
        op.reporter.step(f"did not push the state kept at {newest} ({first}); it stays there")
        return
    for path in kept:
        path.unlink(missing_ok=True)
    op.reporter.step(f"pushed the state the previous run could not save ({newest.name}) to the backend")
    op.rt.audit.append("push-state", op.stack.slug, op.stack.branch, detail=newest.name)


def scrubbed(rt: Runtime, exc: ProvisionerError) -> ProvisionerError:
    """``exc`` with every secret value masked in its message (a copy when anything changed)."""
    text = secrets.redact(exc.message, rt.read_secrets.values())
    if text == exc.message:
        return exc
    clean = type(exc).__new__(type(exc))  # same class (same exit code), same fields; no __init__ re-run
    clean.__dict__.update(exc.__dict__)
    clean.message, clean.args = text, (text,)
    return clean


def failed(rt: Runtime, working: Record, exc: ProvisionerError) -> ProvisionerError:
    """Record the failure (secrets scrubbed) on the stack's record; returns the error to raise.

    An interruption is recorded as ``interrupted``. When the record cannot be written (the registry
    is unreachable too), the original error is still the one returned, with a note saying so."""
    clean = scrubbed(rt, exc)
    status = "interrupted" if isinstance(exc, Interrupted) else "failed"
    reason = (f"interrupted by signal {exc.signum}" if isinstance(exc, Interrupted) else str(clean))
    try:
        rt.registry.put(replace(working, status=status, error=reason[:4000]), expected=working)
    except ProvisionerError as secondary:
        clean.add_note(f"the record of {working.slug} could not be updated and still says "
                       f"{working.status!r}: {secondary}")
    return clean


def resumed(record: Record | None, reporter: Reporter) -> bool:
    """Under the lease, a busy record means the run that set it died: say so and carry on."""
    if record and record.busy:
        reporter.step(f"the previous run died while {record.status} stack {record.slug}; taking over")
        return True
    return False


@contextmanager
def rescued_state(rt: Runtime, ws: workspace.Workspace) -> Iterator[None]:
    """Run Terraform in ``ws``; whatever happens, no state file stays in the stack directory: one
    Terraform left there (``errored.tfstate``: the backend was unreachable) is moved, 0600, under the
    state dir, and the error that ends the run says where and how to push it back."""
    try:
        yield
    except ProvisionerError as exc:
        kept = workspace.rescue_state(rt.settings, ws)
        if kept is not None:
            exc.add_note(workspace.recovery_note(kept, ws.module_dir))
        raise
    kept = workspace.rescue_state(rt.settings, ws)
    if kept is not None:
        raise ProvisionerError(workspace.recovery_note(kept, ws.module_dir), path=str(kept))
