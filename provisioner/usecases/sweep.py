"""``sweep``: delete resources tagged by us whose stack has no live record. Compute the plan from
the registry's records first (printed as a preview, or all a dry run does), then carry it out."""

from __future__ import annotations

from provisioner.sweep import plan as sw
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime


def plan(rt: Runtime, *, all_stacks: bool) -> sw.SweepPlan:
    """What a sweep would delete: stacks without a live record, and (without ``all_stacks``) only
    stacks this registry knows; nothing is changed."""
    live, within = sw.scope_from_records(rt.registry.all(), all_stacks=all_stacks)
    return sw.plan_sweep(rt.aws, live, within=within)


def carry_out(rt: Runtime, swept: sw.SweepPlan, reporter: Reporter) -> sw.SweepReport:
    """Delete the plan's resources in order (each re-checked first); failures are reported, not raised."""
    return sw.execute(rt.aws, swept, reporter)
