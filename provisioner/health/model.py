"""The values health works on and hands back: a stack's context and the results of its checks.

Plain frozen dataclasses, so a use case can store them in a record, print them as JSON, or show
them on the board without knowing how they were computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["passing", "failing", "unchecked"]


@dataclass(frozen=True)
class StackContext:
    """What checks and tests know about the stack: its slug, branch, PR and Terraform outputs.

    ``outputs`` are the values as recorded (sensitive outputs already masked by the engine)."""

    slug: str
    branch: str
    pr: int | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def template_vars(self) -> dict[str, Any]:
        """Template scope. Null outputs are left out, so a template that uses one fails as
        undefined (StrictUndefined) instead of rendering the text 'None' into a URL."""
        present = {k: v for k, v in self.outputs.items() if v is not None}
        return {"outputs": present, "stack": self.slug, "branch": self.branch, "pr": self.pr}


@dataclass(frozen=True)
class Outcome:
    """What one attempt of a probe found."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class CheckResult:
    """One check after its retry budget: ``ok`` is None when the check was skipped."""

    name: str
    kind: str
    ok: bool | None
    detail: str
    duration: float
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ok": self.ok, "detail": self.detail,
                "duration": round(self.duration, 3), "attempts": self.attempts}


@dataclass(frozen=True)
class HealthReport:
    """All checks of one run, in the order of the config."""

    checks: tuple[CheckResult, ...] = ()

    @property
    def status(self) -> Status:
        """failing if any check failed; passing if at least one passed and none failed;
        unchecked when there was nothing to check (no checks, or all skipped)."""
        if any(c.ok is False for c in self.checks):
            return "failing"
        if any(c.ok for c in self.checks):
            return "passing"
        return "unchecked"

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.ok is False)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape: ``status`` and ``checks`` (name, ok, detail, ...)."""
        return {"status": self.status, "checks": [c.to_json() for c in self.checks]}
