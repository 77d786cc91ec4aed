"""Progress reporters for apply and destroy (the CLI's side of ``usecases.reporter.Reporter``).

- ``PlainReporter``: one line per resource start and end (logs, pipes, non-terminals).
- ``GithubActionsReporter``: plain lines inside ``::group::``/``::endgroup::`` per Terraform
  step, and ``::error::`` annotations for failed resources and for the error that ends the run.
- ``RichReporter``: a live table (pending, creating, done, failed, elapsed) on a terminal.

``make_reporter`` picks one from the environment. Every reporter is a context manager: leaving
it closes an open group or live view. Reporters write to the stream they are given, never print.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

VERBS = {"create": "creating", "update": "updating", "delete": "destroying", "replace": "replacing",
         "read": "reading"}


def _verb(action: str) -> str:
    return VERBS.get(action, action)


class PlainReporter:
    """Progress on a stream, resource by resource."""

    def __init__(self, stream: TextIO | None = None, clock: Any = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._started: dict[str, float] = {}

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.close(exc)

    def close(self, exc: BaseException | None = None) -> None:
        pass

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def step(self, message: str) -> None:
        self._write(f"==> {message}")

    def _took(self, ev: Any) -> float:
        if ev.elapsed is not None:
            self._started.pop(ev.address, None)
            return float(ev.elapsed)
        return float(self._clock() - self._started.pop(ev.address, self._clock()))

    def event(self, ev: Any) -> None:
        if ev.phase == "start":
            self._started[ev.address] = self._clock()
            self._write(f"    {_verb(ev.action):<10} {ev.address}")
        elif ev.phase in ("complete", "errored"):
            took = self._took(ev)
            mark = "done" if ev.phase == "complete" else "FAILED"
            self._write(f"    {mark:<10} {ev.address} ({took:.1f}s)")


def gha_escape(text: str) -> str:
    """Escape a workflow command's message (GitHub's rules: %, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


class GithubActionsReporter(PlainReporter):
    """Plain lines, grouped per Terraform step, with error annotations."""

    def __init__(self, stream: TextIO | None = None, clock: Any = time.monotonic) -> None:
        super().__init__(stream, clock)
        self._group_open = False

    def _end_group(self) -> None:
        if self._group_open:
            self._write("::endgroup::")
            self._group_open = False

    def step(self, message: str) -> None:
        self._end_group()
        if message.startswith("terraform "):
            self._write(f"::group::{gha_escape(message)}")
            self._group_open = True
            return
        super().step(message)

    def event(self, ev: Any) -> None:
        super().event(ev)
        if ev.phase == "errored":
            detail = f": {ev.message}" if ev.message else ""
            self._write(f"::error title=terraform {gha_escape(_verb(ev.action))} failed::"
                        f"{gha_escape(ev.address + detail)}")

    def close(self, exc: BaseException | None = None) -> None:
        self._end_group()
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            self._write(f"::error title=provisioner::{gha_escape(str(exc))}")


class RichReporter(PlainReporter):
    """A live table of resources: pending, creating/destroying, done, failed, with elapsed time."""

    def __init__(self, stream: TextIO | None = None, clock: Any = time.monotonic) -> None:
        super().__init__(stream, clock)
        from rich.console import Console

        self.console = Console(file=self.stream)
        self._rows: dict[str, dict[str, Any]] = {}
        self._live: Any = None

    def step(self, message: str) -> None:
        self._stop_live()
        self.console.print(f"[bold]==>[/bold] {message}", highlight=False, markup=True)

    def event(self, ev: Any) -> None:
        row = self._rows.setdefault(ev.address, {"action": ev.action, "state": "pending",
                                                 "start": None, "took": None})
        if ev.phase == "planned":
            row["action"] = ev.action
        elif ev.phase == "start":
            row.update(action=ev.action, state=_verb(ev.action), start=self._clock())
        elif ev.phase in ("complete", "errored"):
            start = row["start"] if row["start"] is not None else self._clock()
            row.update(state="done" if ev.phase == "complete" else "failed",
                       took=float(ev.elapsed) if ev.elapsed is not None else self._clock() - start)
        else:
            return
        self._refresh()

    def table(self) -> Any:
        from rich.table import Table

        styles = {"pending": "dim", "done": "green", "failed": "bold red"}
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("status", "resource", "elapsed"):
            table.add_column(column)
        now = self._clock()
        for address, row in self._rows.items():
            took = row["took"] if row["took"] is not None else (
                now - row["start"] if row["start"] is not None else None)
            table.add_row(row["state"], address, "" if took is None else f"{took:.1f}s",
                          style=styles.get(row["state"], "yellow"))
        return table

    def _refresh(self) -> None:
        if self._live is None:
            from rich.live import Live

            self._live = Live(self.table(), console=self.console, refresh_per_second=4,
                              get_renderable=self.table)
            self._live.start()
        else:
            self._live.update(self.table())

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            self._rows = {}

    def close(self, exc: BaseException | None = None) -> None:
        self._stop_live()


def make_reporter(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> PlainReporter:
    """GitHub Actions when GITHUB_ACTIONS=true; a live view on a terminal; plain lines otherwise."""
    stream = stream if stream is not None else sys.stderr
    env = env if env is not None else os.environ
    if env.get("GITHUB_ACTIONS") == "true":
        return GithubActionsReporter(stream)
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty() and env.get("TERM") != "dumb":
        try:
            return RichReporter(stream)
        except ImportError:
            pass
    return PlainReporter(stream)
