"""``list`` and ``status``: what exists, read from the registry (creating nothing)."""

from __future__ import annotations

import json
import time

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import branch_option, json_option, stack_request
from provisioner.cli.output import age, echo_json, err, health_cell, health_lines, table


@click.command("list")
@click.option("--all", "include_destroyed", is_flag=True, help="include destroyed stacks")
@json_option
@pass_ctx
def list_cmd(ctx: Ctx, include_destroyed: bool, as_json: bool) -> None:
    """List staging environments."""
    # Straight from the registry: importing the use cases (and what they import) is ~40 ms of a
    # command meant to be instant.
    from provisioner.usecases.expiryview import expires_text

    registry = ctx.runtime(read_only=True).registry
    listing = registry.all() if include_destroyed else registry.live()   # live: the index, no scan
    records = list(listing)
    if as_json:
        echo_json({"environments": [r.to_json() for r in records], "warnings": list(listing.warnings)})
        return
    for warning in listing.warnings:
        err(f"warning: {warning}")
    if not records:
        click.echo("no staging environments")
        return
    rows = [("STACK", "BRANCH", "PR", "OWNER", "STATUS", "HEALTH", "AGE", "EXPIRES")]
    now = time.time()
    for r in records:
        rows.append((r.slug, r.branch[:40], str(r.pr or "-"), r.owner[:20], r.status, health_cell(r),
                     age(now - r.created_at), expires_text(ctx.settings, r, now)))
    table(rows)


@click.command()
@branch_option
@json_option
@pass_ctx
def status(ctx: Ctx, branch: str | None, as_json: bool) -> None:
    """Show one environment: record, outputs, age, expiry (exit 5 when the branch has no stack)."""
    from provisioner.render.cost import format_view
    from provisioner.usecases.expiryview import expires_text, expiry_view
    from provisioner.usecases.lifetime import status as run
    from provisioner.usecases.lookup import no_such_stack
    from provisioner.usecases.preview import cost_of

    rt = ctx.runtime(read_only=True)
    stack, rec = run(rt, stack_request(branch))
    view = cost_of(ctx.settings, stack.branch, rec)
    missing = no_such_stack(rt, stack) if rec is None else None
    if as_json:
        echo_json({"stack": stack.slug, "branch": stack.branch, "record": rec.to_json() if rec else None,
                   "cost": view.to_json(), "suggestions": missing.suggestions if missing else [],
                   "expiry": expiry_view(rt.settings, rec) if rec else None})
    if missing is not None:
        raise missing   # the same exit code (5) with and without --json
    if as_json or rec is None:
        return
    now = time.time()
    click.echo(f"stack:    {rec.slug}\nbranch:   {rec.branch} (from {rec.branch_source})\n"
               f"pr:       {rec.pr or '-'}\nowner:    {rec.owner}\nstatus:   {rec.status}\n"
               f"age:      {age(now - rec.created_at)}\nexpires:  {expires_text(rt.settings, rec)}\n"
               f"applied:  {age(now - rec.last_applied_at) + ' ago' if rec.last_applied_at else '-'}")
    if rec.error:
        click.echo(f"error:    {rec.error}")
    click.echo("\n".join(health_lines(rec)))
    for name, value in sorted(rec.outputs.items()):
        click.echo(f"  {name} = {json.dumps(value)}")
    for d in rec.datasets:
        click.echo(f"data:     {d['dataset']}: {d['rows']} rows in {d['store']} (version {d['digest']}, "
                   f"loaded {age(now - float(d['loaded_at'] or now))} ago)")
    click.echo("scale-down from production (per hour, rough list prices):")
    click.echo("\n".join(format_view(view)))
