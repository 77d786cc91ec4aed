"""``render`` and ``diff``: what a branch's stack would get, computed offline."""

from __future__ import annotations

import json

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import branch_option, json_option, pr_owner_options, stack_request
from provisioner.cli.output import echo_json, err


@click.command()
@branch_option
@pr_owner_options
@json_option
@pass_ctx
def render(ctx: Ctx, branch: str | None, pr: int | None, owner: str | None, as_json: bool) -> None:
    """Print the staging variables of a branch (JSON, as written for Terraform)."""
    from provisioner.usecases.preview import preview

    stack, rendered = preview(ctx.settings, stack_request(branch, pr, owner))
    if as_json:
        echo_json({"stack": stack.slug, "branch": stack.branch, "digest": rendered.digest,
                   "variables": rendered.tfvars})
    else:
        click.echo(json.dumps(rendered.tfvars, indent=2, sort_keys=True))
    for note in rendered.notes:
        err(f"==> warning: {note}")
    for d in rendered.differences:
        if d.rule == "secret":  # never in the file: say where it comes from, not what it is
            err(f"==> {d.variable} is sensitive and not shown: {d.reason}")


@click.command()
@branch_option
@pr_owner_options
@json_option
@pass_ctx
def diff(ctx: Ctx, branch: str | None, pr: int | None, owner: str | None, as_json: bool) -> None:
    """Show every difference between the branch's staging variables and production, with reasons."""
    import msgspec

    from provisioner.render.report import format_data_differences, format_differences
    from provisioner.usecases.data import data_differences
    from provisioner.usecases.preview import preview

    stack, rendered = preview(ctx.settings, stack_request(branch, pr, owner))
    data_diffs = data_differences(ctx.settings)
    if as_json:
        echo_json({"stack": stack.slug, "digest": rendered.digest,
                   "differences": [d.to_json() for d in rendered.differences],
                   "data_differences": msgspec.to_builtins(data_diffs)})
        return
    click.echo(format_differences(rendered))
    if data_diffs:
        click.echo("\n" + format_data_differences(data_diffs))
