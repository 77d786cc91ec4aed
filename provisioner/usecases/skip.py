"""Skip Terraform when a spinup would hand it exactly what the last successful apply had.

The most common spinup is a push that changes no infrastructure input; a plan then costs a refresh
of every resource (seconds for the example, minutes for a big stack) to say "no changes". The
record keeps a digest per input kind after each successful apply (``terraform.fingerprint``); a
spinup skips init, plan and apply, and only refreshes the record (expiry, last active), when

- every digest is the same (module tree, variables and secrets, provider settings with their
  tags, backend settings, engine and provider versions),
- the record is ``ready`` (applied, checks and tests passing; never after a failed, interrupted or
  unhealthy run, never while another run's work is unfinished),
- the last apply is less than ``stacks.refresh_after`` ago (changes made outside Terraform are
  found by the next full plan at the latest then), and
- no drift check since that apply found resources changed outside Terraform (``drifted_at``).

``spinup --refresh`` always takes the full path. Datasets and health checks still run on a skipped
spinup: seeding loads only datasets whose version changed (nothing, usually), and the checks and
tests run as after an apply, so a stack that stopped working is still reported.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from provisioner.config import Settings
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.state import backend
from provisioner.terraform import fingerprint, workspace
from provisioner.terraform.rootmodule import read_root_module
from provisioner.usecases.runtime import Runtime

HEALTHY = ("ready",)


def input_digests(rt: Runtime, stack: StackId, tfvars: dict[str, Any],
                  tag_values: dict[str, str]) -> dict[str, str]:
    """The digests of what an apply of ``stack`` would hand Terraform now (as ``prepare_workspace``
    writes it), without writing anything."""
    root = read_root_module(rt.settings.root_module)
    providers, _notes = workspace.provider_block(rt.settings, tag_values, rt.endpoint, root)
    loc = backend.location(rt.settings, stack.slug)
    backend_settings = workspace.backend_override(root, backend.backend_block(rt.settings, loc, rt.endpoint))
    return fingerprint.digests(rt.settings, tfvars=tfvars, secrets=rt.secret_values(), salt=stack.slug,
                               providers=providers, backend=backend_settings)


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def why_not(settings: Settings, record: Record | None, digests: dict[str, str], now: float) -> str | None:
    """Why this spinup must run Terraform (None: it may skip it)."""
    if record is None or not record.live:
        return "no applied stack yet"
    if record.status not in HEALTHY:
        return f"the stack is {record.status}, not ready"
    if not record.inputs or record.last_applied_at is None:
        return "the last apply recorded no input digests"
    age = now - record.last_applied_at
    limit = settings.stacks.refresh_after_seconds
    if age >= limit or age < 0:
        return (f"the last apply was {_ago(age)} ago (stacks.refresh_after = "
                f"{settings.stacks.refresh_after})")
    if record.drifted_at is not None:
        return f"drift was found outside Terraform at {when(record.drifted_at)}"
    changed = fingerprint.changed(record.inputs, digests)
    if changed:
        return "inputs changed since the last apply: " + ", ".join(fingerprint.LABELS[k] for k in changed)
    return None


def skipped_record(record: Record, planned: Record) -> Record:
    """The record of a skipped spinup: the planned one (expiry, last active, PRs, owner) with the
    applied state's status, error, change counts and apply time kept."""
    return replace(planned, status=record.status, error=record.error, changes=record.changes,
                   last_applied_at=record.last_applied_at)


def when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def unchanged_note(since: float) -> str:
    """What a skipped spinup says instead of the plan's change counts."""
    return f"no infrastructure changes (inputs unchanged since {when(since)}; --refresh to check AWS anyway)"
