"""``provisioner pr-event``: a GitHub Actions event -> the preview stack, the PR comment, deployments.

This is the edge: it reads the GitHub Actions environment (GITHUB_TOKEN,
GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID) and
hands plain values to the core (``provisioner.github``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import dry_run_option, json_option, reporter
from provisioner.cli.output import echo_json, err

MAX_EVENT_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB


def _read_event(path: str) -> Any:
    from provisioner.errors import BadInput

    p = Path(path)
    try:
        if p.stat().st_size > MAX_EVENT_BYTES:
            raise BadInput(f"{path}: event payload larger than {MAX_EVENT_BYTES} bytes", path=path)
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{path}: cannot read the event payload: {exc}", path=path) from None


def _show(outcome: Any) -> None:
    d = outcome.decision
    click.echo(f"{d.action}: {d.reason}")
    if outcome.stack is not None:
        click.echo(f"stack {outcome.stack.slug}: {outcome.detail}")
        url = outcome.record.outputs.get("environment_url") if outcome.record else None
        if url and outcome.record.status == "ready":
            click.echo(f"environment_url = {json.dumps(url)}")
    if outcome.comment_result:
        click.echo(f"comment: {outcome.comment_result}")


def _as_json(outcome: Any) -> dict[str, Any]:
    return {"decision": asdict(outcome.decision), "dry_run": False,
            "stack": outcome.stack.slug if outcome.stack else None, "detail": outcome.detail,
            "record": outcome.record.to_json() if outcome.record else None,
            "comment": outcome.comment, "comment_result": outcome.comment_result or None}


def _dry_run(event: Any, policy: Any, as_json: bool) -> None:
    from provisioner.github.events import decide

    d = decide(event, policy)
    if as_json:
        echo_json({"decision": asdict(d), "dry_run": True})
        return
    click.echo(f"dry run: would {d.action}" + (f" branch {json.dumps(d.branch)}" if d.branch else "")
               + f": {d.reason}")


@click.command("pr-event")
@click.option("--event-file", envvar="GITHUB_EVENT_PATH", required=True,
              type=click.Path(dir_okay=False), help="the event payload (env GITHUB_EVENT_PATH)")
@click.option("--event-name", envvar="GITHUB_EVENT_NAME", required=True,
              help="pull_request, workflow_dispatch or schedule (env GITHUB_EVENT_NAME)")
@click.option("--comment-out", type=click.Path(dir_okay=False), default=None,
              help="write the PR comment to FILE (without a token it is printed on stdout otherwise)")
@dry_run_option
@json_option
@pass_ctx
def pr_event(ctx: Ctx, event_file: str, event_name: str, comment_out: str | None, dry_run: bool,
             as_json: bool) -> None:
    """Act on a GitHub Actions event: spin up, tear down, keep or unkeep the PR's preview stack."""
    from provisioner.github import events as github_events
    from provisioner.usecases import pullrequest

    event = github_events.parse_event(event_name, _read_event(event_file))
    settings = ctx.settings
    if dry_run:
        _dry_run(event, settings.github, as_json)
        return
    bodies: list[str] = []
    env = dict(os.environ)
    if not env.get("GITHUB_TOKEN"):
        err("==> no GITHUB_TOKEN: the stack is handled, the comment is written instead of posted")
    try:
        with pullrequest.publisher_from_env(settings, env, bodies.append,
                                            copy=bool(comment_out)) as publisher:
            outcome = pullrequest.handle(event, settings.github, ctx.runtime, publisher, reporter(),
                                         run_url=pullrequest.run_url(env),
                                         output_names=settings.github.comment_outputs)
    finally:
        # with --json the comment is in the JSON document; stdout carries nothing else
        _write_comments(bodies, comment_out, env.get("GITHUB_ACTIONS") == "true", quiet=as_json)
    if as_json:
        echo_json(_as_json(outcome))
    else:
        _show(outcome)


def _write_comments(bodies: list[str], comment_out: str | None, in_actions: bool, *, quiet: bool) -> None:
    """The comment to --comment-out, else stdout; in Actions, fenced off from workflow commands."""
    if not bodies:
        return
    if comment_out:
        Path(comment_out).write_text(bodies[-1], encoding="utf-8")
        err(f"==> comment written to {comment_out}")
        return
    if quiet:
        return
    from secrets import token_hex

    stop = token_hex(16)
    if in_actions:  # a line of strangers' text starting with "::" must not become a workflow command
        click.echo(f"::stop-commands::{stop}")
    click.echo(bodies[-1])
    if in_actions:
        click.echo(f"::{stop}::")
