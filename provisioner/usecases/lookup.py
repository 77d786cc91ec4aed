"""When a branch names no live stack: which live stacks it was probably meant to name."""

from __future__ import annotations

from provisioner.domain import suggest
from provisioner.domain.naming import StackId
from provisioner.errors import NoSuchStack
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import StackRequest, resolve_stack


def suggestions(rt: Runtime, stack: StackId) -> list[str]:
    """The branches of the live stacks nearest to ``stack`` (its branch or its id), best first."""
    near = suggest.nearest(stack.branch, rt.registry.all()) or suggest.nearest(stack.slug, rt.registry.all())
    return [r.branch for r in near if r.slug != stack.slug]


def no_such_stack(rt: Runtime, req: StackRequest | StackId) -> NoSuchStack:
    """The error for a branch with no live stack, naming the nearest live ones."""
    stack = req if isinstance(req, StackId) else resolve_stack(rt, req)
    near = suggestions(rt, stack)
    hint = f"; did you mean {' or '.join(repr(b) for b in near)}?" if near else \
        "; `provisioner list` shows the live ones"
    return NoSuchStack(stack.branch, stack.slug, near, hint)
