"""Command line: parse, make one call into the core, print.

Errors are caught in exactly one place (``main``) and mapped to exit codes;
a traceback is shown only with ``--debug``. Heavy imports (boto3, Terraform)
happen inside commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from provisioner.errors import EXIT_BAD_INPUT, EXIT_FAILURE, ProvisionerError

BRANCH_ENV = "PROVISIONER_BRANCH"


class Ctx:
    def __init__(self, config: str | None, debug: bool) -> None:
        self.config_path = config
        self.debug = debug
        self._settings: Any = None

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from provisioner import config

            self._settings = config.load(self.config_path)
        return self._settings

    def runtime(self, *, start_emulator: bool = True, read_only: bool = False) -> Any:
        from provisioner.usecases.runtime import open_runtime

        rt = open_runtime(self.settings, start_emulator=start_emulator, read_only=read_only)
        for note in rt.notes:
            _err(f"==> {note}")
        return rt


def _err(message: str) -> None:
    click.echo(message, err=True)


def CliReporter() -> Any:  # noqa: N802  (kept as the name commands construct)
    """Progress on stderr (live view, GitHub Actions groups or plain lines); results go to stdout."""
    from provisioner.cli.progress import make_reporter

    return make_reporter()


# --- options defined once ----------------------------------------------------------------------

def branch_option(f: Any) -> Any:
    return click.option("--branch", "-b", default=None,
                        help=f"git branch the stack belongs to (env {BRANCH_ENV}; in a GitHub pull "
                             "request GITHUB_HEAD_REF)")(f)


def json_option(f: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="machine-readable output on stdout")(f)


def dry_run_option(f: Any) -> Any:
    return click.option("--dry-run", is_flag=True, help="show what would happen; change nothing")(f)


def pr_owner_options(f: Any) -> Any:
    f = click.option("--pr", type=click.IntRange(min=1), default=None, envvar="PROVISIONER_PR",
                     help="pull request number (env PROVISIONER_PR)")(f)
    return click.option("--owner", default=None, envvar="PROVISIONER_OWNER",
                        help="who owns the stack (default: CI actor or OS user)")(f)


def stack_request(branch: str | None, pr: int | None = None, owner: str | None = None,
                  ttl: str | None = None) -> Any:
    from provisioner.config import parse_duration
    from provisioner.usecases.stacks import StackRequest

    source = "flag"
    if branch is None and os.environ.get(BRANCH_ENV):
        branch, source = os.environ[BRANCH_ENV], "env"
    elif branch is None and os.environ.get("GITHUB_HEAD_REF"):
        branch, source = os.environ["GITHUB_HEAD_REF"], "pr"
    ttl_seconds = None
    if ttl is not None:
        try:
            ttl_seconds = parse_duration(ttl)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--ttl") from None
    return StackRequest(branch=branch, pr=pr, owner=owner, ttl_seconds=ttl_seconds, source=source)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


# --- commands ----------------------------------------------------------------------------------

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", envvar="PROVISIONER_CONFIG", default=None,
              help="config file (env PROVISIONER_CONFIG; default: staging.toml here or above)")
@click.option("--debug", is_flag=True, help="show tracebacks")
@click.pass_context
def cli(ctx: click.Context, config: str | None, debug: bool) -> None:
    """Ephemeral per-branch staging stacks rendered from the production baseline."""
    ctx.obj = Ctx(config, debug)


# Registers the commands on `cli` (each module adds its own).
from provisioner.cli.commands import fleet as _fleet, ops as _ops, pr as _pr, stack as _stack  # noqa: E402,F401,I001

# isort: split
from provisioner.cli.commands import sweep as cli_sweep  # noqa: E402,F401  (registers `sweep`)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        rv = cli.main(args=argv, prog_name="provisioner", standalone_mode=False)
    except click.exceptions.Abort:
        _err("aborted")
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code else EXIT_BAD_INPUT)
    except ProvisionerError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _err(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
