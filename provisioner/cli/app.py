"""Command line: parse, make one call into the core, print.

Errors are caught in exactly one place (``main``) and mapped to exit codes; a traceback is shown
only with ``--debug``. Heavy imports (boto3, Terraform) happen inside commands, so ``--help``
stays fast. Commands are added from ``cli.commands.COMMANDS``.
"""

from __future__ import annotations

import sys

import click

from provisioner.cli.commands import COMMANDS
from provisioner.cli.context import Ctx
from provisioner.cli.output import err
from provisioner.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, Interrupted, ProvisionerError
from provisioner.support import interrupts


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", envvar="PROVISIONER_CONFIG", default=None,
              help="config file (env PROVISIONER_CONFIG; default: staging.toml here or above)")
@click.option("--debug", is_flag=True, help="show tracebacks")
@click.pass_context
def cli(ctx: click.Context, config: str | None, debug: bool) -> None:
    """Ephemeral per-branch staging stacks rendered from the production baseline."""
    ctx.obj = Ctx(config, debug)


for command in COMMANDS:
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    interrupts.install()  # SIGINT/SIGTERM: stop Terraform gracefully, exit 130/143 (support.interrupts)
    try:
        rv = cli.main(args=argv, prog_name="provisioner", standalone_mode=False)
    except click.exceptions.Abort:
        err("aborted")
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code else EXIT_BAD_INPUT)
    except Interrupted as exc:
        err(str(exc))
        for note in getattr(exc, "__notes__", ()):
            err(f"note: {note}")
        sys.exit(exc.exit_code)
    except ProvisionerError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        err(f"error: {exc}")
        for note in getattr(exc, "__notes__", ()):
            err(f"note: {note}")
        sys.exit(exc.exit_code)
    except OSError as exc:  # a local file the core did not expect to fail (disk full, read-only)
        if debug:
            import traceback

            traceback.print_exc()
        err(f"error: {exc}")
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else EXIT_OK)
