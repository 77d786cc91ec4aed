"""The object every command gets: the config path and debug flag, settings loaded on first use,
and the runtime (emulator, AWS, engine) opened on demand, its notes printed once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from provisioner.config import Settings
    from provisioner.usecases.runtime import Runtime


class Ctx:
    def __init__(self, config: str | None, debug: bool, *, quiet: bool = False) -> None:
        self.config_path = config
        self.debug = debug
        self.quiet = quiet
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from provisioner import config

            self._settings = config.load(self.config_path)
        return self._settings

    def runtime(self, *, start_emulator: bool = True, read_only: bool = False) -> Runtime:
        from provisioner.cli.output import err
        from provisioner.usecases.runtime import open_runtime

        rt = open_runtime(self.settings, start_emulator=start_emulator, read_only=read_only,
                          on_wait=lambda message: err(f"==> {message}"))
        for note in () if self.quiet else rt.notes:
            err(f"==> {note}")
        return rt


pass_ctx = click.make_pass_decorator(Ctx)
