"""``spinup`` and ``teardown``: one call each into the use case, then the result printed."""

from __future__ import annotations

import json
import os

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import (
    branch_option,
    dry_run_option,
    json_option,
    pr_owner_options,
    reporter,
    stack_request,
)
from provisioner.cli.output import counts, echo_json, err


@click.command()
@branch_option
@pr_owner_options
@click.option("--ttl", default=None, help="time to live, e.g. 48h (capped by stacks.max_ttl)")
@click.option("--reset", is_flag=True, help="destroy the stack first, then create it afresh")
@click.option("--no-health-gate", "no_gate", is_flag=True,
              help="exit 0 even when the health checks or tests fail (the stack is kept either way)")
@click.option("--no-data", "no_data", is_flag=True, help="do not seed the stack's datasets after the apply")
@click.option("--refresh", is_flag=True, help="run the full Terraform plan even when the inputs are those of "
              "the last apply (which is skipped for stacks.refresh_after; default: skip when unchanged)")
@dry_run_option
@json_option
@pass_ctx
def spinup(ctx: Ctx, branch: str | None, pr: int | None, owner: str | None, ttl: str | None,
           reset: bool, no_gate: bool, no_data: bool, refresh: bool, dry_run: bool, as_json: bool) -> None:
    """Create or update the staging stack of a branch (idempotent)."""
    from provisioner.usecases.expiryview import capped_note, expires_text
    from provisioner.usecases.skip import unchanged_note
    from provisioner.usecases.spinup import spinup as run

    req = stack_request(branch, pr, owner, ttl)
    with reporter() as progress:
        result = run(ctx.runtime(), req, progress, dry_run=dry_run, reset=reset, health_gate=not no_gate,
                     seed=not no_data, refresh=refresh)
    rec = result.record
    if as_json:
        echo_json({"stack": result.stack.slug, "branch": result.stack.branch, "dry_run": result.dry_run,
                   "no_changes": result.no_changes, "skipped_since": result.skipped_since,
                   "changes": None if result.counts is None else result.counts.to_json(),
                   "record": rec.to_json() if rec and not dry_run else None,
                   "data": rec.datasets if rec and not dry_run else []})
        return
    if dry_run or rec is None:
        click.echo(f"dry run for {result.stack.slug}: {counts(result.counts)}; nothing was applied")
        return
    headline = (unchanged_note(result.skipped_since) if result.skipped_since is not None else
                "no changes" if result.no_changes else counts(result.counts))
    click.echo(f"stack {rec.slug} is {rec.status}: {headline}; health {rec.health_status}"
               + ("" if rec.tests is None else f", tests {rec.tests_status}"))
    for name, value in sorted(rec.outputs.items()):
        click.echo(f"  {name} = {json.dumps(value)}")
    for d in rec.datasets:
        click.echo(f"  data {d['dataset']}: {d['rows']} rows in {d['store']}")
    note = capped_note(ctx.settings, rec, ttl, "--ttl")
    if note:
        click.echo(note)
    click.echo(f"expires {expires_text(ctx.settings, rec)}; remove it with: provisioner teardown --branch "
               f"{json.dumps(rec.branch)}")


@click.command()
@branch_option
@click.option("--stack", "slug", default=None, help="the stack id instead of the branch (e.g. a state "
              "without a record)")
@click.option("--reason", default=None, envvar="PROVISIONER_TEARDOWN_REASON", show_envvar=True,
              help="why, for the comment of the stack's pull requests (the nightly matrix passes the "
                   "plan's reason); one line, at most 200 characters")
@dry_run_option
@json_option
@pass_ctx
def teardown(ctx: Ctx, branch: str | None, slug: str | None, reason: str | None, dry_run: bool,
             as_json: bool) -> None:
    """Destroy a branch's stack, verify nothing tagged remains, delete its state."""
    from provisioner.usecases.teardown import teardown as run

    if slug and branch:
        raise click.UsageError("give --branch or --stack, not both")
    if reason is not None:
        from provisioner.usecases.notify import check_reason

        try:
            reason = check_reason(reason)
        except ValueError as exc:
            hint = "'--reason' / PROVISIONER_TEARDOWN_REASON"
            raise click.BadParameter(f"the reason {exc}", param_hint=hint) from None
    rt = ctx.runtime()
    with reporter() as progress:
        result = run(rt, stack_request(branch, slug=slug), progress, dry_run=dry_run)
    if result.action == "destroyed":  # in GitHub Actions (token and repository): tell the stack's PRs
        from provisioner.usecases.notify import after_teardown

        for line in after_teardown(rt, result.stack.slug, os.environ, reason):
            err(f"==> github: {line}")
    if as_json:
        echo_json({"stack": result.stack.slug, "branch": result.stack.branch, "action": result.action,
                   "changes": None if result.counts is None else result.counts.to_json(),
                   "state_objects_deleted": result.state_objects_deleted, "reason": reason,
                   "suggestions": list(result.suggestions)})
        return
    if result.action == "nothing":
        near = f"; did you mean {' or '.join(repr(b) for b in result.suggestions)}?" if result.suggestions \
            else "; `provisioner list` shows the live ones"
        click.echo(f"nothing to tear down: branch {result.stack.branch!r} ({result.stack.slug}) matched no "
                   f"live stack and no state{near}")
    elif result.action == "dry-run":
        click.echo(f"dry run: {result.stack.slug} would be destroyed")
    else:
        click.echo(f"stack {result.stack.slug} destroyed ({counts(result.counts)}); nothing tagged with it "
                   "remains; state deleted")
