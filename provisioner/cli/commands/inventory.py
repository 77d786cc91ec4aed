"""``list`` and ``status``: what exists, read from the registry (creating nothing)."""

from __future__ import annotations

import json
import time

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import branch_option, json_option, stack_request
from provisioner.cli.output import age, echo_json, table, until


@click.command("list")
@click.option("--all", "include_destroyed", is_flag=True, help="include destroyed stacks")
@json_option
@pass_ctx
def list_cmd(ctx: Ctx, include_destroyed: bool, as_json: bool) -> None:
    """List staging environments."""
    # Straight from the registry: importing the use cases (and what they import) is ~40 ms of a
    # command meant to be instant.
    records = [r for r in ctx.runtime(read_only=True).registry.all() if include_destroyed or r.live]
    if as_json:
        echo_json({"environments": [r.to_json() for r in records]})
        return
    if not records:
        click.echo("no staging environments")
        return
    rows = [("STACK", "BRANCH", "PR", "OWNER", "STATUS", "AGE", "EXPIRES")]
    now = time.time()
    for r in records:
        rows.append((r.slug, r.branch[:40], str(r.pr or "-"), r.owner[:20], r.status,
                     age(now - r.created_at), until(r.expires_at)))
    table(rows)


@click.command()
@branch_option
@json_option
@pass_ctx
def status(ctx: Ctx, branch: str | None, as_json: bool) -> None:
    """Show one environment: record, outputs, age, expiry."""
    from provisioner.errors import ProvisionerError
    from provisioner.render.cost import format_view
    from provisioner.usecases.lifetime import status as run
    from provisioner.usecases.preview import cost_of

    stack, rec = run(ctx.runtime(read_only=True), stack_request(branch))
    view = cost_of(ctx.settings, stack.branch, rec)
    if as_json:
        echo_json({"stack": stack.slug, "branch": stack.branch, "record": rec.to_json() if rec else None,
                   "cost": view.to_json()})
        return
    if rec is None:
        raise ProvisionerError(f"no environment for branch {stack.branch!r} ({stack.slug})")
    now = time.time()
    click.echo(f"stack:    {rec.slug}\nbranch:   {rec.branch} (from {rec.branch_source})\n"
               f"pr:       {rec.pr or '-'}\nowner:    {rec.owner}\nstatus:   {rec.status}\n"
               f"age:      {age(now - rec.created_at)}\nexpires:  {until(rec.expires_at)}\n"
               f"applied:  {age(now - rec.last_applied_at) + ' ago' if rec.last_applied_at else '-'}")
    if rec.error:
        click.echo(f"error:    {rec.error}")
    for name, value in sorted(rec.outputs.items()):
        click.echo(f"  {name} = {json.dumps(value)}")
    for d in rec.datasets:
        click.echo(f"data:     {d['dataset']}: {d['rows']} rows in {d['store']} (version {d['digest']}, "
                   f"loaded {age(now - float(d['loaded_at'] or now))} ago)")
    click.echo("scale-down from production (per hour, rough list prices):")
    click.echo("\n".join(format_view(view)))
