"""``health``, ``test`` and ``drift``: is a stack working, do its tests pass, was it changed by hand?"""

from __future__ import annotations

import json

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import branch_option, json_option, reporter, stack_request
from provisioner.cli.output import echo_json

EXIT_DRIFTED = 2   # as `terraform plan -detailed-exitcode` says "changes"


@click.command()
@branch_option
@json_option
@pass_ctx
def health(ctx: Ctx, branch: str | None, as_json: bool) -> int:
    """Run the stack's [health] checks now (exit 1 when one fails)."""
    from provisioner.usecases.health import health as run

    with reporter() as progress:
        result = run(ctx.runtime(), stack_request(branch), progress)
    report = result.found.health
    if as_json:
        echo_json({"stack": result.stack.slug, "branch": result.stack.branch, **report.to_json()})
    else:
        click.echo(f"stack {result.stack.slug} is {report.status}")
        for c in report.checks:
            mark = "skip" if c.ok is None else "ok" if c.ok else "FAIL"
            click.echo(f"  {mark:<4}  {c.name:<20}  {c.detail}")
    return 1 if report.status == "failing" else 0


@click.command("test")
@branch_option
@json_option
@pass_ctx
def test_cmd(ctx: Ctx, branch: str | None, as_json: bool) -> int:
    """Run the [tests] command against the stack now (its outputs in STAGING_OUTPUT_*)."""
    from provisioner.usecases.health import test as run

    with reporter() as progress:
        result = run(ctx.runtime(), stack_request(branch), progress)
    tests = result.found.tests
    assert tests is not None
    if as_json:
        echo_json({"stack": result.stack.slug, "branch": result.stack.branch,
                   "health": result.found.health.to_json(), "tests": tests.to_json()})
    else:
        click.echo(tests.output_tail.rstrip())
        state = "passed" if tests.ok else f"FAILED ({tests.error or f'exit {tests.exit_code}'})"
        click.echo(f"tests of {result.stack.slug} {state} in {tests.duration:.1f}s")
    return 0 if tests.ok else 1


@click.command()
@branch_option
@click.option("--all", "every", is_flag=True, help="every applied stack, in parallel (cleanup.parallel)")
@click.option("--fix", is_flag=True, help="re-apply each drifted stack (puts its resources back)")
@json_option
@pass_ctx
def drift(ctx: Ctx, branch: str | None, every: bool, fix: bool, as_json: bool) -> int:
    """Resources changed outside Terraform, and configuration changed since the apply (exit 2: drift)."""
    from provisioner.usecases.drift import drift as run

    if every and branch:
        raise click.UsageError("give --branch or --all, not both")
    with reporter() as progress:
        stacks = run(ctx.runtime(), None if every else stack_request(branch), progress, fix=fix)
    if as_json:
        echo_json({"fix": fix, "stacks": [s.to_json() for s in stacks]})
    else:
        if not stacks:
            click.echo("no applied stacks")
        for s in stacks:
            _print_stack(s)
    if any(s.error for s in stacks):
        return 1
    return EXIT_DRIFTED if any(s.any_drift for s in stacks) else 0


def _print_stack(s: object) -> None:
    from provisioner.usecases.drift import StackDrift

    assert isinstance(s, StackDrift)
    if s.error:
        click.echo(f"{s.slug}: error: {s.error}")
        return
    cfg = s.config_drift
    if not s.any_drift:
        click.echo(f"{s.slug}: no drift")
    for res in s.drifted:
        click.echo(f"{s.slug}: {res['address']} {res['action']} outside Terraform")
        for c in res["changes"]:
            click.echo(f"    {c['path']}: {json.dumps(c['before'])} -> {json.dumps(c['after'])}")
    if cfg.get("drifted"):
        names = [*cfg.get("changed", []), *cfg.get("added", []), *cfg.get("removed", [])]
        what = ", ".join(names) or "baseline or overrides"
        click.echo(f"{s.slug}: configuration changed since the apply: {what}")
    if s.fixed:
        click.echo(f"{s.slug}: re-applied")
