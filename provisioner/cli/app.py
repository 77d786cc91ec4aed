"""Command line: parse, make one call into the core, print.

Errors are caught in exactly one place (``main``) and mapped to exit codes; a traceback is shown
only with ``--debug``. Heavy imports (boto3, Terraform) happen inside commands, so ``--help``
stays fast. Commands are added from ``cli.commands.COMMANDS``.

``--debug``, ``--quiet`` and ``--no-color`` are the group's flags but are accepted anywhere on the
command line (``provisioner status -b x --debug``): ``main`` moves them in front of the command.
"""

from __future__ import annotations

import os
import sys

import click

from provisioner.cli.commands import COMMANDS
from provisioner.cli.context import Ctx
from provisioner.cli.helpformat import WholeHelpGroup
from provisioner.cli.output import err
from provisioner.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, Interrupted, ProvisionerError
from provisioner.support import interrupts

GLOBAL_FLAGS = ("--debug", "--quiet", "-q", "--no-color")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("staging-provisioner")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``, read from the package metadata only when asked (importlib.metadata is ~15 ms
    of every start-up otherwise)."""
    if value and not ctx.resilient_parsing:
        click.echo(f"provisioner {_version()}")
        ctx.exit()


@click.group(cls=WholeHelpGroup,
             context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="print the version and exit")
@click.option("--config", "-c", envvar="PROVISIONER_CONFIG", default=None,
              help="config file (env PROVISIONER_CONFIG; default: staging.toml here or above)")
@click.option("--debug", is_flag=True, help="show tracebacks (anywhere on the command line)")
@click.option("--quiet", "-q", is_flag=True, help="no progress and no notes on stderr; results and errors "
              "only (anywhere on the command line)")
@click.option("--no-color", is_flag=True,
              help="no colours (also: NO_COLOR set; anywhere on the command line)")
@click.pass_context
def cli(ctx: click.Context, config: str | None, debug: bool, quiet: bool, no_color: bool) -> None:
    """Ephemeral per-branch staging stacks rendered from the production baseline.

    Exit codes: 0 success; 1 failure (Terraform, AWS, the emulator); 2 bad input (arguments,
    config, baseline, overrides, a port in use); 3 refused by a guard (production, quota);
    4 the stack is busy; 5 no such stack (status, extend, keep); 130 interrupted.
    """
    ctx.obj = Ctx(config, debug, quiet=quiet)


for command in COMMANDS:
    cli.add_command(command)


def hoist_global_flags(argv: list[str]) -> list[str]:
    """The global flags moved in front of the command, wherever they were (up to a ``--``)."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in GLOBAL_FLAGS]
    rest = [a for a in argv[:end] if a not in GLOBAL_FLAGS]
    return flags + rest + argv[end:]


def main(argv: list[str] | None = None) -> None:
    args = hoist_global_flags(list(argv if argv is not None else sys.argv[1:]))
    debug = "--debug" in args
    if "--no-color" in args:
        os.environ["NO_COLOR"] = "1"   # rich and click both honour it
    interrupts.install()  # SIGINT/SIGTERM: stop Terraform gracefully, exit 130/143 (support.interrupts)
    try:
        rv = cli.main(args=args, prog_name="provisioner", standalone_mode=False)
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
