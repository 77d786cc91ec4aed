"""``cleanup``: the nightly job over every stack, planned first and then carried out."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import dry_run_option, json_option, reporter
from provisioner.cli.output import err, table

if TYPE_CHECKING:  # the use case (boto3, Terraform) loads when the command runs, not for --help
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
@click.option("--plan-json", "plan_json", is_flag=True,
              help="plan only: print the teardowns as a GitHub Actions matrix "
                   "{\"include\": [{\"slug\": \"<stack id>\"}]} (at most 256 entries) on stdout, for a "
                   "matrix job of `teardown --stack`")
@click.option("--report", "report_file", default=None, type=click.Path(dir_okay=False, writable=True),
              help="write the night's audit report (Markdown) to FILE")
@click.option("--no-drift", is_flag=True, help="skip the refresh-only plans (health is still checked)")
@dry_run_option
@json_option
@pass_ctx
def cleanup(ctx: Ctx, parallel: int | None, plan_json: bool, report_file: str | None, no_drift: bool,
            dry_run: bool, as_json: bool) -> None:
    """The nightly job: tear down expired, idle, orphaned and closed-PR stacks; report failing health,
    drift and config drift (never destroyed for that); --report FILE writes the audit."""
    from provisioner.errors import ProvisionerError
    from provisioner.usecases import audit_report as audit
    from provisioner.usecases import cleanup as job
    from provisioner.usecases import notify
    from provisioner.usecases.preview import current_digest

    rt = ctx.runtime()
    plan = job.plan_cleanup(rt, pr_state=job.pr_state_lookup(rt.settings, os.environ),
                            current_digest=current_digest(rt.settings))
    if plan_json:  # the planning job of a matrix: no health checks, no refresh plans
        entries, warnings = notify.matrix(plan)
        for warning in (*plan.warnings, *warnings):
            err(f"warning: {warning}")
        click.echo(json.dumps(entries, sort_keys=True))
        return
    with reporter() as progress:
        found = audit.inspect(rt, plan, progress, with_drift=not no_drift)
    plan = audit.with_findings(plan, found)
    for warning in plan.warnings:
        err(f"warning: {warning}")
    if not as_json:
        _print_plan(plan, done=False)
    if not dry_run:  # also with nothing to tear down: execute prunes local stack directories
        at_once = parallel or rt.settings.cleanup.parallel
        if plan.teardowns:
            err(f"==> tearing down {len(plan.teardowns)} stacks, {at_once} at once")
        before = plan.warnings
        plan = job.execute(rt, plan, parallel=at_once,
                           on_done=lambda i: err(f"    {i.result:<8} {i.slug} ({i.duration:.1f}s)"))
        for note in plan.warnings[len(before):]:
            err(f"==> {note}")
        for line in notify.tell_github(rt, plan, os.environ):
            err(f"    github   {line}")
        if not as_json and plan.teardowns:
            click.echo()
            _print_plan(plan, done=True)
    night = audit.build(rt, plan, found, dry_run=dry_run)
    if report_file:
        audit.write(report_file, night)
        err(f"audit report written to {report_file}")
    if as_json:
        click.echo(job.report_json(plan, dry_run=dry_run, audit=audit.as_json(night)))
    failed = [i.slug for i in plan.items if i.result == "failed"]
    if failed:
        raise ProvisionerError(f"{len(failed)} of {len(plan.teardowns)} teardowns failed: "
                               + ", ".join(failed))
