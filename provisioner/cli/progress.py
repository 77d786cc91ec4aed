"""Progress reporters for apply and destroy (the CLI's side of ``usecases.reporter.Reporter``).

- ``PlainReporter``: one line per resource start and end (logs, pipes, non-terminals).
- ``GithubActionsReporter``: plain lines inside ``::group::``/``::endgroup::`` per Terraform
  step, and ``::error::`` annotations for failed resources and for the error that ends the run.
- ``RichReporter`` (``cli.liveview``): a live view (header, bar, estimate, rows) on a terminal.
- ``QuietReporter``: nothing (``--quiet``).

``make_reporter`` picks one from the environment. Every reporter is a context manager: leaving
it closes an open group or live view. Reporters write to the stream they are given, never print.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Protocol, TextIO

from provisioner.terraform.events import ResourceEvent


class ProgressReporter(Protocol):
    """What a command gets from ``make_reporter``: the use cases' Reporter, as a context manager."""

    def step(self, message: str) -> None: ...

    def event(self, ev: ResourceEvent) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None: ...

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


class QuietReporter(PlainReporter):
    """``--quiet``: no progress at all (errors still reach stderr through the CLI's one handler)."""

    def _write(self, line: str) -> None:
        pass


def make_reporter(stream: TextIO | None = None, env: Mapping[str, str] | None = None, *,
                  quiet: bool = False) -> ProgressReporter:
    """Nothing with --quiet; GitHub Actions when GITHUB_ACTIONS=true; a live view on a terminal;
    plain lines otherwise."""
    stream = stream if stream is not None else sys.stderr
    env = env if env is not None else os.environ
    if quiet:
        return QuietReporter(stream)
    if env.get("GITHUB_ACTIONS") == "true":
        return GithubActionsReporter(stream)
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty() and env.get("TERM") != "dumb":
        try:
            from provisioner.cli.liveview import RichReporter

            return RichReporter(stream)
        except ImportError:
            pass
    return PlainReporter(stream)
