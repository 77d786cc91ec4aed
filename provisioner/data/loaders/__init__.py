"""Stores the data tier writes into. Each store knows three things: load rows (streamed), remove
one dataset's rows (a new version replaces the old) and empty itself (reset)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

Row = dict[str, Any]
Columns = list[tuple[str, str]]   # (name, PostgreSQL type) in order


class Store(Protocol):
    description: str

    def validate(self) -> None:
        """Refuse (TargetError) before anything is written when the store cannot take the data."""

    def load(self, rows: Iterable[Row]) -> int:
        """Write the rows; returns how many were written."""

    def remove(self) -> None:
        """Delete this dataset's rows, leaving other datasets of the same store alone."""

    def empty(self) -> None:
        """Delete everything in the store (the table, the prefix), whoever wrote it."""
