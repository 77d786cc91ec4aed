"""``extend``, ``keep`` and ``audit``: a stack's lifetime and its history."""

from __future__ import annotations

import time

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import branch_option, duration, json_option, reporter, stack_request
from provisioner.cli.output import echo_json


@click.command()
@branch_option
@click.option("--by", "by", required=True, help="how much longer, e.g. 24h (capped by stacks.max_ttl)")
@json_option
@pass_ctx
def extend(ctx: Ctx, branch: str | None, by: str, as_json: bool) -> None:
    """Push a stack's expiry out (the expires-at tag follows on the next apply)."""
    from provisioner.usecases.expiryview import capped_note, expires_text, expiry_view
    from provisioner.usecases.lifetime import extend as run
    from provisioner.usecases.lookup import no_such_stack

    seconds = duration(by, "--by")
    rt = ctx.runtime()
    with reporter() as progress:
        rec = run(rt, stack_request(branch), seconds, progress)
    if rec is None:
        raise no_such_stack(rt, stack_request(branch))
    note = capped_note(rt.settings, rec, by, "extend --by")
    if as_json:
        echo_json({"stack": rec.slug, "expires_at": rec.expires_at, "record": rec.to_json(),
                   "capped": note is not None, "expiry": expiry_view(rt.settings, rec)})
        return
    if note:
        click.echo(note)
    click.echo(f"stack {rec.slug} now expires {expires_text(rt.settings, rec)}")


@click.command()
@branch_option
@click.option("--off", is_flag=True, help="make the stack expire normally again")
@json_option
@pass_ctx
def keep(ctx: Ctx, branch: str | None, off: bool, as_json: bool) -> None:
    """Exempt a stack from expiry (or, with --off, no longer)."""
    from provisioner.usecases.expiryview import expires_text
    from provisioner.usecases.lifetime import set_keep
    from provisioner.usecases.lookup import no_such_stack

    rt = ctx.runtime()
    with reporter() as progress:
        rec = set_keep(rt, stack_request(branch), not off, progress)
    if rec is None:
        raise no_such_stack(rt, stack_request(branch))
    if as_json:
        echo_json({"stack": rec.slug, "keep": rec.keep, "record": rec.to_json()})
        return
    click.echo(f"stack {rec.slug} is " + ("kept: exempt from expiry" if rec.keep
                                          else f"no longer kept; expires {expires_text(rt.settings, rec)}"))


@click.command()
@branch_option
@json_option
@pass_ctx
def audit(ctx: Ctx, branch: str | None, as_json: bool) -> None:
    """Who did what to which stack, when, with what result."""
    from provisioner.domain.naming import stack_id

    rt = ctx.runtime(read_only=True)
    slug = stack_id(branch, limit=rt.settings.stacks.name_limit).slug if branch else None
    entries = rt.audit.entries(slug)
    if as_json:
        echo_json({"entries": [e.to_json() for e in entries]})
        return
    if not entries:
        click.echo("no audit entries")
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at))
        detail = f"  {e.detail.splitlines()[0][:80]}" if e.detail else ""
        click.echo(f"{when}Z  {e.who:<20} {e.operation:<14} {e.slug:<24} {e.result:<12} "
                   f"{e.duration:6.1f}s{detail}")
