"""One difference between a stack's staging value and production, with its rule and reason.

Made by the render, shown by ``diff``, the PR comment and the board: a pure value, with the
masking of sensitive and production-only values defined here once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class _Unset(enum.Enum):
    """Sentinel: the variable is not set, so Terraform uses the module default."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    __str__ = __repr__


UNSET: Any = _Unset.UNSET


@dataclass(frozen=True)
class Difference:
    """One variable whose staging value differs by declaration. ``UNSET`` means module default."""

    variable: str
    production: Any
    staging: Any
    rule: str
    reason: str
    sensitive: bool = False
    production_only: bool = False   # the production value itself must not travel (reports, PR comments)
    origin: str = ""                # the variable file the production value came from (when several)

    def mask(self, column: str) -> str | None:
        """The label that replaces the value in ``column`` ("production"/"staging"), or None to show it."""
        if self.sensitive:
            return "(sensitive)"
        if column == "production" and self.production_only:
            return "(production-only)"
        return None

    def to_json(self) -> dict:
        """JSON-ready form: sensitive and production-only values hidden, ``UNSET`` spelled out."""
        def shown(column: str, value: Any, unset: str) -> Any:
            if value is UNSET:
                return unset
            return self.mask(column) or value
        return {"variable": self.variable, "production": shown("production", self.production, "(not set)"),
                "staging": shown("staging", self.staging, "(module default)"), "rule": self.rule,
                "reason": self.reason, "sensitive": self.sensitive, "production_only": self.production_only,
                "origin": self.origin}
