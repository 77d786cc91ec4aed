"""Options defined once and shared by the commands, with the environment variables CI sets."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from provisioner.cli.progress import ProgressReporter
    from provisioner.usecases.stacks import StackRequest

BRANCH_ENV = "PROVISIONER_BRANCH"
F = TypeVar("F", bound=Callable[..., Any])


def branch_option(f: F) -> F:
    return click.option("--branch", "-b", default=None,
                        help=f"git branch the stack belongs to (env {BRANCH_ENV}; in a GitHub pull "
                             "request GITHUB_HEAD_REF)")(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="machine-readable output on stdout")(f)


def dry_run_option(f: F) -> F:
    return click.option("--dry-run", is_flag=True, help="show what would happen; change nothing")(f)


def pr_owner_options(f: F) -> F:
    f = click.option("--pr", type=click.IntRange(min=1), default=None, envvar="PROVISIONER_PR",
                     help="pull request number (env PROVISIONER_PR)")(f)
    return click.option("--owner", default=None, envvar="PROVISIONER_OWNER",
                        help="who owns the stack (default: CI actor or OS user)")(f)


def duration(text: str, flag: str) -> int:
    """A duration option ('48h') in seconds; a bad one is a usage error naming the flag."""
    from provisioner.config import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=flag) from None


def stack_request(branch: str | None, pr: int | None = None, owner: str | None = None,
                  ttl: str | None = None, slug: str | None = None) -> StackRequest:
    """The request the options make: the branch from --branch, else the environment CI sets."""
    from provisioner.usecases.stacks import StackRequest

    source = "flag"
    if branch is None and os.environ.get(BRANCH_ENV):
        branch, source = os.environ[BRANCH_ENV], "env"
    elif branch is None and os.environ.get("GITHUB_HEAD_REF"):
        branch, source = os.environ["GITHUB_HEAD_REF"], "pr"
    ttl_seconds = duration(ttl, "--ttl") if ttl is not None else None
    return StackRequest(branch=branch, pr=pr, owner=owner, ttl_seconds=ttl_seconds, source=source, slug=slug)


def reporter() -> ProgressReporter:
    """Progress on stderr (live view, GitHub Actions groups or plain lines; nothing with --quiet);
    results go to stdout."""
    from provisioner.cli.progress import make_reporter

    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx is not None and getattr(ctx.find_root().obj, "quiet", False))
    return make_reporter(quiet=quiet)
