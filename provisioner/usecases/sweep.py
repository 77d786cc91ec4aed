"""``sweep``: delete resources tagged by us whose stack has no live record. Compute the plan from
the registry's records first (printed as a preview, or all a dry run does), then carry it out.

Stacks may hold resources in every region their provider blocks name (aliased providers), so the
sweep looks in each of them besides the target's region."""

from __future__ import annotations

from dataclasses import replace

from provisioner.sweep import plan as sw
from provisioner.sweep.account import accounts, in_region
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import stack_regions


def plan(rt: Runtime, *, all_stacks: bool) -> sw.SweepPlan:
    """What a sweep would delete: stacks without a live record, and (without ``all_stacks``) only
    stacks this registry knows; nothing is changed."""
    live, within = sw.scope_from_records(rt.registry.all(), all_stacks=all_stacks)
    regions = stack_regions(rt.settings)
    found = [pair for account in accounts(rt.aws, regions) for pair in account.tagged(None)]
    return sw.build_plan(found, live, within=within)


def _region(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else default


def carry_out(rt: Runtime, swept: sw.SweepPlan, reporter: Reporter) -> sw.SweepReport:
    """Delete the plan's resources in order (each re-checked first, each in its own region);
    failures are reported, not raised."""
    regions = dict.fromkeys(_region(i.arn, rt.aws.region) for i in swept.items)
    results: list[sw.SweepResult] = []
    for region in regions:
        items = tuple(i for i in swept.items if _region(i.arn, rt.aws.region) == region)
        results += sw.execute(in_region(rt.aws, region), replace(swept, items=items), reporter).results
    return sw.SweepReport(tuple(results))
