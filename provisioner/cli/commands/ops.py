"""Operator commands: doctor (is everything in place?), board (the status board), bootstrap."""

from __future__ import annotations

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import json_option
from provisioner.cli.output import echo_json, err


@click.command()
@click.option("--start-emulator", is_flag=True, help="start the local emulator when it is not running")
@json_option
@pass_ctx
def doctor(ctx: Ctx, start_emulator: bool, as_json: bool) -> int:
    """Check config, engine, provider, AWS identity, state bucket, registry table and emulator."""
    from provisioner import config
    from provisioner.usecases import doctor as doc

    report = doc.diagnose(lambda: config.load(ctx.config_path), start_emulator=start_emulator)
    if as_json:
        echo_json(report.to_json())
    else:
        width = max(len(r.name) for r in report.results)
        for r in report.results:
            click.echo(f"{'ok' if r.ok else 'FAIL':<4}  {r.name:<{width}}  {r.detail}")
            if not r.ok and r.advice:
                click.echo(f"{'':<4}  {'':<{width}}  -> {r.advice}")
        failed = sum(not r.ok for r in report.results)
        click.echo("everything is in place" if not failed else f"{failed} check(s) failed")
    return 0 if report.ok else 1


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="port to listen on (0: a free one, printed at start)")
@click.option("--export", "export", default=None, type=click.Path(dir_okay=False),
              help="write the page as static HTML to FILE and exit")
@json_option
@pass_ctx
def board(ctx: Ctx, host: str, port: int, export: str | None, as_json: bool) -> None:
    """Status board of live environments: a web page and /api/environments (or --export FILE)."""
    from provisioner.cli import board as b
    from provisioner.usecases.preview import details_of_many

    rt = ctx.runtime(read_only=True)

    def load_rows() -> list[dict]:
        listing = rt.registry.live()
        for warning in listing.warnings:
            err(f"warning: {warning}")
        return b.environments(listing, details_of_many(rt.settings))   # files read once per load

    if as_json:
        echo_json({"environments": load_rows()})
        return
    if export:
        from pathlib import Path

        from provisioner.support.files import write_text

        # 0644 on purpose: the export is a page to publish; sensitive outputs are masked in it
        write_text(Path(export), b.render_page(load_rows(), standalone=True), 0o644)
        click.echo(f"wrote {export}", err=True)
        return
    import uvicorn

    sock = b.listen(host, port)   # bound here, so --port 0 can say which port it got
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"status board at http://{shown}:{sock.getsockname()[1]}/ (Ctrl-C to stop)", err=True)
    server = uvicorn.Server(uvicorn.Config(b.app(load_rows), log_level="warning"))
    server.run(sockets=[sock])


@click.command()
@json_option
@pass_ctx
def bootstrap(ctx: Ctx, as_json: bool) -> None:
    """Create the state bucket, lock table and registry table where missing (idempotent)."""
    from provisioner.state import backend

    rt = ctx.runtime()
    done = backend.bootstrap(rt.settings, rt.aws)
    if as_json:
        echo_json({"created": done})
        return
    click.echo("\n".join(done) if done else "everything was already in place")
