"""CLI conventions: every option described (with its default), no help cut off with "...", global
flags anywhere on the line, --version, shell completion, documented exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioner import errors
from provisioner.cli.app import cli, hoist_global_flags

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    yield prefix, group
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_every_option_has_help():
    missing = [f"{' '.join(path)} {p.opts[0]}" for path, cmd in _commands(cli) for p in cmd.params
               if isinstance(p, click.Option) and not p.help]
    assert not missing, f"options without help: {missing}"


@pytest.mark.parametrize("path", [path for path, _ in _commands(cli)], ids=lambda p: " ".join(p) or "cli")
def test_help_is_not_cut_off(path):
    out = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80).output
    assert "..." not in out.replace("[ARGS]...", ""), out


def test_defaults_are_shown():
    out = CliRunner().invoke(cli, ["board", "--help"], terminal_width=80).output
    assert "[default: 8080;" in out and "[default: 127.0.0.1]" in out


def test_global_flags_are_moved_in_front():
    assert hoist_global_flags(["status", "-b", "x", "--debug", "--no-color"]) == \
        ["--debug", "--no-color", "status", "-b", "x"]
    assert hoist_global_flags(["render", "--", "--debug"]) == ["render", "--", "--debug"]


def test_version():
    out = CliRunner().invoke(cli, ["--version"]).output
    assert re.fullmatch(r"provisioner \S+\n", out)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell):
    out = CliRunner().invoke(cli, ["completion", shell]).output
    assert "_PROVISIONER_COMPLETE" in out


def test_exit_codes_are_documented():
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    text = README.read_text()
    section = text[text.index("Exit codes"):][:1200]
    for code in codes:
        assert f"`{code}`" in section, f"exit code {code} is not in README's exit codes"
