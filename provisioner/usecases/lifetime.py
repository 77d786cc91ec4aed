"""How long a stack lives: its status, keeping it (exempt from expiry), extending it."""

from __future__ import annotations

import time
from dataclasses import replace

from provisioner.domain import expiry
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.usecases.operation import operation
from provisioner.usecases.reporter import Reporter, SilentReporter
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import (
    StackRequest,
    check_owner_of_slug,
    expiry_policy,
    resolve_stack,
    with_expiry,
)


def status(rt: Runtime, req: StackRequest) -> tuple[StackId, Record | None]:
    stack = resolve_stack(rt, req)
    return stack, rt.registry.get(stack.slug)


def set_keep(rt: Runtime, req: StackRequest, keep: bool, reporter: Reporter | None = None) -> Record | None:
    """Mark a live stack as kept (exempt from expiry) or not; None when there is no live stack."""
    stack = resolve_stack(rt, req)
    record = rt.registry.get(stack.slug)
    if record is None or not record.live:
        return None
    check_owner_of_slug(record, stack)
    with operation(rt, "keep" if keep else "keep --off", stack, reporter or SilentReporter()):
        record = rt.registry.get(stack.slug)
        if record is None or not record.live or record.keep == keep:
            return record
        return rt.registry.put(with_expiry(rt.settings, replace(record, keep=keep), fixed=record.fixed_expiry,
                                           active_at=record.active_at), expected=record)


def extend(rt: Runtime, req: StackRequest, by: int, reporter: Reporter | None = None) -> Record | None:
    """Push a live stack's expiry out by ``by`` seconds (capped by stacks.max_ttl); resets the idle clock.

    The new expiry reaches the ``expires-at`` tag on the next apply."""
    stack = resolve_stack(rt, req)
    with operation(rt, "extend", stack, reporter or SilentReporter()):
        record = rt.registry.get(stack.slug)
        if record is None or not record.live:
            return None
        check_owner_of_slug(record, stack)
        fixed, active_at = expiry.extended(record.created_at, record.fixed_expiry, time.time(), by,
                                           expiry_policy(rt.settings))
        return rt.registry.put(with_expiry(rt.settings, record, fixed=fixed, active_at=active_at),
                               expected=record)
