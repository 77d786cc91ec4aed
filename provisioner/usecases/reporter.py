"""How a use case tells the person (or the log) what it is doing: one protocol, many reporters.

The core never prints: it calls ``step`` with a sentence and ``event`` with each Terraform
resource event. The CLI hands in a live view, GitHub Actions groups or plain lines; children of
the nightly cleanup and tests hand in ``SilentReporter``.
"""

from __future__ import annotations

from typing import Protocol

from provisioner.terraform.events import ResourceEvent


class Reporter(Protocol):
    def step(self, message: str) -> None: ...

    def event(self, event: ResourceEvent) -> None: ...


class SilentReporter:
    def step(self, message: str) -> None:
        pass

    def event(self, event: ResourceEvent) -> None:
        pass
