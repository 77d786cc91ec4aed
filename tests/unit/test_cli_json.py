"""Every command that reports data offers --json (the schema is documented in README "JSON output")."""

from __future__ import annotations

import click

from provisioner.cli.app import cli

# Commands without --json, and why:
NO_JSON = {
    "mirror build",   # an install step (make install); prints the mirror path on stderr, no data
    "completion",     # prints a shell script to source, not data
}


def _commands(group: click.Group, prefix: str = ""):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def test_every_data_command_has_json():
    missing = [name for name, cmd in _commands(cli) if name not in NO_JSON
               and not any(isinstance(p, click.Option) and "--json" in p.opts for p in cmd.params)]
    assert not missing, f"commands without --json: {missing}"


def test_exemptions_are_real_commands():
    names = {name for name, _ in _commands(cli)}
    assert "mirror build" in names
