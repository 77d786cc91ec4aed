"""``data plan | seed | reset``: a stack's datasets; one call each into ``usecases.data``."""

from __future__ import annotations

import click

from provisioner.cli.context import Ctx, pass_ctx
from provisioner.cli.options import branch_option, json_option, reporter, stack_request
from provisioner.cli.output import echo_json, table

dataset_option = click.option("--dataset", "only", multiple=True,
                              help="only this dataset (repeatable; default: all)")


@click.group("data")
def data_group() -> None:
    """A stack's staging data: synthetic and anonymised datasets (plan, seed, reset)."""


@data_group.command("plan")
@branch_option
@json_option
@pass_ctx
def plan(ctx: Ctx, branch: str | None, as_json: bool) -> None:
    """Datasets, sources, row counts and field rules; writes nothing."""
    import msgspec

    from provisioner.usecases.data import plan_data

    run = plan_data(ctx.runtime(), stack_request(branch))
    assert run.plan is not None
    if as_json:
        echo_json({"stack": run.stack.slug, "switched_off": list(run.switched_off),
                   "datasets": msgspec.to_builtins(run.plan.datasets)})
        return
    click.echo(f"data plan for {run.stack.slug} (nothing is written)")
    for d in run.plan.datasets:
        rows = "?" if d.rows is None else str(d.rows)
        prod = f" (production {d.production_rows})" if d.production_rows is not None else ""
        click.echo(f"\n{d.name}: {d.action}; {rows} rows{prod} -> {d.store}\n  source:  {d.source}\n"
                   f"  reason:  {d.reason}\n  refresh: {d.refresh}; version {d.digest[:12]}")
        if d.rules:
            click.echo("  rules:   " + ", ".join(f"{f}={r}" for f, r in d.rules.items()))
        click.echo("  kept as is (production values reach staging): " + (", ".join(d.keep_fields) or "none"))
    for name in run.switched_off:
        click.echo(f"\n{name}: switched off by the stack (its target output is empty)")


def _loaded(ctx: Ctx, branch: str | None, only: tuple[str, ...], as_json: bool, reset: bool) -> None:
    import msgspec

    from provisioner.usecases.data import seed_data

    with reporter() as progress:
        run = seed_data(ctx.runtime(), stack_request(branch), progress, reset=reset, only=only or None)
    result = run.result
    assert result is not None
    if as_json:
        echo_json({"stack": run.stack.slug, "loaded": msgspec.to_builtins(result.loaded),
                   "skipped": list(result.skipped), "emptied": list(result.emptied),
                   "switched_off": list(run.switched_off), "rows_written": result.rows_written})
        return
    verb = "reset" if reset else "seeded"
    click.echo(f"{run.stack.slug}: {verb} {len(result.loaded)} datasets, {result.rows_written} rows written"
               + (f"; up to date: {', '.join(result.skipped)}" if result.skipped else ""))
    rows = [("DATASET", "ROWS", "STORE", "VERSION", "SECONDS")]
    rows += [(v.dataset, str(v.rows), v.store, v.digest[:12], f"{v.load_seconds:.1f}") for v in result.loaded]
    if len(rows) > 1:
        table(rows)


@data_group.command("seed")
@branch_option
@dataset_option
@json_option
@pass_ctx
def seed(ctx: Ctx, branch: str | None, only: tuple[str, ...], as_json: bool) -> None:
    """Load what is not loaded at its current version.

    Seeding twice writes nothing."""
    _loaded(ctx, branch, only, as_json, reset=False)


@data_group.command("reset")
@branch_option
@dataset_option
@json_option
@pass_ctx
def reset(ctx: Ctx, branch: str | None, only: tuple[str, ...], as_json: bool) -> None:
    """Empty the datasets' stores and load the pristine data again."""
    _loaded(ctx, branch, only, as_json, reset=True)


