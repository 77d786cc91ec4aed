"""``provisioner sweep``: delete resources tagged by us whose stack has no live record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import dry_run_option, json_option, reporter
from provisioner.cli.output import echo_json

if TYPE_CHECKING:  # loads when the command runs, not for --help
    from provisioner.sweep.plan import SweepReport


def _table(report: SweepReport) -> None:
    rows = [(r.action, r.type, r.stack, r.arn, r.error) for r in report.results]
    heads = ("ACTION", "TYPE", "STACK")
    widths = [max([len(h)] + [len(row[n]) for row in rows]) for n, h in enumerate(heads)]
    click.echo(f"{'ACTION':<{widths[0]}}  {'TYPE':<{widths[1]}}  {'STACK':<{widths[2]}}  ARN")
    for action, kind, stack, arn, error in rows:
        line = f"{action:<{widths[0]}}  {kind:<{widths[1]}}  {stack:<{widths[2]}}  {arn}"
        click.echo(line + (f"  ({error})" if error else ""))


def _summary(report: SweepReport) -> str:
    counts = report.to_json()["counts"]
    return ", ".join(f"{n} {action}" for action, n in counts.items() if n) or "nothing to sweep"


@click.command()
@click.option("--all-stacks", is_flag=True,
              help="also stacks this registry has no record of (another project's, or a lost registry); "
                   "by default only stacks with a destroyed record here are swept")
@dry_run_option
@json_option
@pass_ctx
def sweep(ctx: Ctx, all_stacks: bool, dry_run: bool, as_json: bool) -> int:
    """Delete resources tagged managed-by=staging-provisioner whose stack has no live record."""
    from provisioner.usecases import sweep as use

    rt = ctx.runtime()
    plan = use.plan(rt, all_stacks=all_stacks)
    preview = plan.preview()
    if not as_json:
        _table(preview)
        click.echo(("dry run: " if dry_run else "plan: ") + _summary(preview))
    if dry_run:
        if as_json:
            echo_json(preview.to_json())
        return 0
    with reporter() as progress:
        report = use.carry_out(rt, plan, progress)
    if as_json:
        echo_json(report.to_json())
    else:
        if report.failed:
            _table(report)
        click.echo(_summary(report))
    return 1 if report.failed else 0
