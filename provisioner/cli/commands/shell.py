"""``completion``: the shell completion script (click's), to source from the shell's startup file."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    Add one line to the shell's startup file: bash `eval "$(provisioner completion bash)"` in
    ~/.bashrc, zsh `eval "$(provisioner completion zsh)"` in ~/.zshrc, fish
    `provisioner completion fish | source` in ~/.config/fish/config.fish.
    """
    from click.shell_completion import get_completion_class

    root = click.get_current_context().find_root()
    cls = get_completion_class(shell)
    assert cls is not None   # every name in SHELLS is one of click's own
    click.echo(cls(root.command, {}, "provisioner", "_PROVISIONER_COMPLETE").source())
