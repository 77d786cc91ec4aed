"""``cleanup``: the nightly job over every stack, planned first and then carried out."""

from __future__ import annotations

import os

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import dry_run_option, json_option
from provisioner.cli.output import err, table
from provisioner.usecases.cleanup import Plan


def _print_plan(plan: Plan, *, done: bool) -> None:
    if not plan.items:
        click.echo("nothing to clean up")
        return
    rows = [("STACK", "BRANCH", "ACTION", "REASON") + (("RESULT", "SECONDS", "ERROR") if done else ())]
    for i in plan.items:
        row = (i.slug, i.branch[:40], i.action, i.reason[:60])
        rows.append(row + ((i.result, f"{i.duration:.1f}", i.error.splitlines()[0][:60] if i.error else "")
                           if done else ()))
    table(rows)


@click.command()
@click.option("--parallel", type=click.IntRange(1, 32), default=None,
              help="teardowns at once, each in its own process (default: cleanup.parallel)")
@dry_run_option
@json_option
@pass_ctx
def cleanup(ctx: Ctx, parallel: int | None, dry_run: bool, as_json: bool) -> None:
    """The nightly job: tear down expired, idle, orphaned and closed-PR stacks; report config drift."""
    from provisioner.errors import ProvisionerError
    from provisioner.usecases import cleanup as job
    from provisioner.usecases.preview import current_digest

    rt = ctx.runtime()
    plan = job.plan_cleanup(rt, pr_state=job.pr_state_lookup(rt.settings, os.environ),
                            current_digest=current_digest(rt.settings))
    for warning in plan.warnings:
        err(f"warning: {warning}")
    if not as_json:
        _print_plan(plan, done=False)
    if not dry_run and (plan.teardowns or plan.refreshes):
        at_once = parallel or rt.settings.cleanup.parallel
        if plan.teardowns:
            err(f"==> tearing down {len(plan.teardowns)} stacks, {at_once} at once")
        plan = job.execute(rt, plan, parallel=at_once,
                           on_done=lambda i: err(f"    {i.result:<8} {i.slug} ({i.duration:.1f}s)"))
        if not as_json:
            click.echo()
            _print_plan(plan, done=True)
    if as_json:
        click.echo(job.report_json(plan, dry_run=dry_run))
    failed = [i.slug for i in plan.items if i.result == "failed"]
    if failed:
        raise ProvisionerError(f"{len(failed)} of {len(plan.teardowns)} teardowns failed: "
                               + ", ".join(failed))
