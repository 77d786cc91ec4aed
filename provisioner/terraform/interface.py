"""What every engine offers (``Engine``): the Terraform commands the tool runs, each returning a
``RunResult`` or raising ``TerraformError``. The retrying wrapper and the lock recovery depend on
this, not on an implementation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from provisioner.terraform.events import (
    EventCallback,
    RunResult,
    StrPath,
)


class Engine(Protocol):
    """What the rest of the tool may ask of Terraform."""

    def init(self, workdir: StrPath, *, backend_config: Sequence[str] = ()) -> RunResult: ...

    def plan(self, workdir: StrPath, *, destroy: bool = False, on_event: EventCallback | None = None,
             var_files: Sequence[str] = ()) -> RunResult: ...

    def apply(self, workdir: StrPath, *, on_event: EventCallback | None = None,
              var_files: Sequence[str] = ()) -> RunResult: ...

    def destroy(self, workdir: StrPath, *, on_event: EventCallback | None = None,
                var_files: Sequence[str] = ()) -> RunResult: ...

    def refresh_plan(self, workdir: StrPath, plan_file: str, *,
                     var_files: Sequence[str] = ()) -> RunResult: ...

    def show_plan(self, workdir: StrPath, plan_file: str) -> dict[str, Any]: ...

    def output(self, workdir: StrPath, *, mask_sensitive: bool = False) -> dict[str, Any]: ...

    def state_list(self, workdir: StrPath) -> list[str]: ...

    def state_pull(self, workdir: StrPath) -> dict[str, Any]: ...

    def force_unlock(self, workdir: StrPath, lock_id: str) -> None: ...

    def state_push(self, workdir: StrPath, state_file: str) -> None: ...

    def select_workspace(self, workdir: StrPath, name: str) -> None: ...

    def version(self) -> str: ...
