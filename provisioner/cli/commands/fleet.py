"""Commands over many stacks and their lifetimes: cleanup, extend, keep, audit."""

from __future__ import annotations

import os
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
    stack_request,
)
from provisioner.cli.commands.stack import _until

pass_ctx = click.make_pass_decorator(Ctx)


def _pr_state(settings: Any) -> Any:
    """PR state lookups when a token and the repository are known (the GitHub Actions environment)."""
    token, repo = os.environ.get("GITHUB_TOKEN", ""), os.environ.get("GITHUB_REPOSITORY", "")
    if not (token and repo):
        return None
    from provisioner.github.api import GitHubClient, api_url

    client = GitHubClient(token, api_url(settings.github.api_url, os.environ.get("GITHUB_API_URL")))
    return lambda number: client.pr_state(repo, number)


def _current_digest(settings: Any) -> str:
    from provisioner.render.baseline import load_baseline
    from provisioner.render.core import inputs_digest
    from provisioner.render.overrides import load_overrides

    return inputs_digest(load_baseline(str(settings.path(settings.project.baseline))),
                         load_overrides(str(settings.path(settings.project.overrides))))


def _print_plan(plan: Any, *, done: bool) -> None:
    if not plan.items:
        click.echo("nothing to clean up")
        return
    rows = [("STACK", "BRANCH", "ACTION", "REASON") + (("RESULT", "SECONDS", "ERROR") if done else ())]
    for i in plan.items:
        row = (i.slug, i.branch[:40], i.action, i.reason[:60])
        rows.append(row + ((i.result, f"{i.duration:.1f}", i.error.splitlines()[0][:60] if i.error else "")
                           if done else ()))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@cli.command()
@click.option("--parallel", type=click.IntRange(1, 32), default=None,
              help="teardowns at once, each in its own process (default: cleanup.parallel)")
@dry_run_option
@json_option
@pass_ctx
def cleanup(ctx: Ctx, parallel: int | None, dry_run: bool, as_json: bool) -> None:
    """The nightly job: tear down expired, idle, orphaned and closed-PR stacks; report config drift."""
    from provisioner.usecases import cleanup as job

    rt = ctx.runtime()
    plan = job.plan_cleanup(rt, pr_state=_pr_state(rt.settings), current_digest=_current_digest(rt.settings))
    for warning in plan.warnings:
        _err(f"warning: {warning}")
    if not as_json:
        _print_plan(plan, done=False)
    if not dry_run and plan.teardowns:
        at_once = parallel or rt.settings.cleanup.parallel
        _err(f"==> tearing down {len(plan.teardowns)} stacks, {at_once} at once")
        plan = job.execute(rt, plan, parallel=at_once,
                           on_done=lambda i: _err(f"    {i.result:<8} {i.slug} ({i.duration:.1f}s)"))
        if not as_json:
            click.echo()
            _print_plan(plan, done=True)
    if as_json:
        click.echo(job.report_json(plan, dry_run=dry_run))
    failed = [i.slug for i in plan.items if i.result == "failed"]
    if failed:
        from provisioner.errors import ProvisionerError

        raise ProvisionerError(f"{len(failed)} of {len(plan.teardowns)} teardowns failed: "
                               + ", ".join(failed))


@cli.command()
@branch_option
@click.option("--by", "by", required=True, help="how much longer, e.g. 24h (capped by stacks.max_ttl)")
@json_option
@pass_ctx
def extend(ctx: Ctx, branch: str | None, by: str, as_json: bool) -> None:
    """Push a stack's expiry out (the expires-at tag follows on the next apply)."""
    from provisioner.config import parse_duration
    from provisioner.errors import ProvisionerError
    from provisioner.usecases import stacks as lifecycle

    try:
        seconds = parse_duration(by)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--by") from None
    with CliReporter() as reporter:
        rec = lifecycle.extend(ctx.runtime(), stack_request(branch), seconds, reporter)
    if rec is None:
        raise ProvisionerError(f"no live environment for branch {branch!r}")
    if as_json:
        _echo_json({"stack": rec.slug, "expires_at": rec.expires_at, "record": rec.to_json()})
        return
    click.echo(f"stack {rec.slug} now expires {_until(rec.expires_at)}")


@cli.command()
@branch_option
@click.option("--off", is_flag=True, help="make the stack expire normally again")
@json_option
@pass_ctx
def keep(ctx: Ctx, branch: str | None, off: bool, as_json: bool) -> None:
    """Exempt a stack from expiry (or, with --off, no longer)."""
    from provisioner.errors import ProvisionerError
    from provisioner.usecases import stacks as lifecycle

    with CliReporter() as reporter:
        rec = lifecycle.set_keep(ctx.runtime(), stack_request(branch), not off, reporter)
    if rec is None:
        raise ProvisionerError(f"no live environment for branch {branch!r}")
    if as_json:
        _echo_json({"stack": rec.slug, "keep": rec.keep, "record": rec.to_json()})
        return
    click.echo(f"stack {rec.slug} is " + ("kept: exempt from expiry" if rec.keep
                                          else f"no longer kept; expires {_until(rec.expires_at)}"))


@cli.command()
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
        _echo_json({"entries": [e.to_json() for e in entries]})
        return
    if not entries:
        click.echo("no audit entries")
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at))
        detail = f"  {e.detail.splitlines()[0][:80]}" if e.detail else ""
        click.echo(f"{when}Z  {e.who:<20} {e.operation:<14} {e.slug:<24} {e.result:<12} "
                   f"{e.duration:6.1f}s{detail}")
