"""The live progress view of apply and destroy on a terminal (rich's ``Live`` and ``Progress``).

What it shows, top to bottom:

- a header: the stack, the operation and the phase (a spinner while ``terraform init`` runs);
- a bar: ``done/total`` resources (the total is the plan's count), the total elapsed time, and an
  estimate of what is left from that count and the rate so far;
- the resources, failed first, then running, pending and done, cut to what fits the terminal's
  height: every failed row stays, the rest is summarised in one line of counts.

Steps (``==> ...``) print above the view. After a failure the view stays on screen and one line
says what to do next. Elapsed times: ``0.4s``, ``12s``, ``2m05s``, ``1h03m``.
"""

from __future__ import annotations

import ast
import re
import shlex
import time
from typing import Any, TextIO

# Terraform's actions as the running row says them (as cli.progress says them: this module is
# imported by that one, so it cannot import it back).
VERBS = {"create": "creating", "update": "updating", "delete": "destroying", "replace": "replacing",
         "read": "reading"}
ORDER = {"failed": 0, "running": 1, "pending": 2, "done": 3}
STYLES = {"pending": "dim", "done": "green", "failed": "bold red", "running": "yellow"}
FIXED_LINES = 6   # header, bar, blank, column header, summary line, the cursor's line
_STACK = re.compile(r"^stack (\S+) for branch ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


def natural(address: str) -> list[Any]:
    """``q[2]`` before ``q[10]``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", address)]


def elapsed_text(seconds: float | None) -> str:
    """Sensible precision: tenths under 10 s, then seconds, minutes, hours."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"


def estimate(done: int, total: int, spent: float) -> str:
    """What is left, from the rate so far: '' until one resource is done."""
    if total <= 0 or done >= total:
        return ""
    if done == 0 or spent <= 0:
        return "estimating..."
    return f"about {elapsed_text(spent / done * (total - done))} left"


class RichReporter:
    """One live view per operation: header, bar, the resources that fit."""

    def __init__(self, stream: TextIO | None = None, clock: Any = time.monotonic,
                 height: int | None = None) -> None:
        import sys

        from rich.console import Console

        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.console = Console(file=self.stream, height=height)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=30),
                                 MofNCompleteColumn(), TextColumn("{task.fields[timing]}"),
                                 console=self.console, get_time=clock, auto_refresh=False)
        self._task = self.progress.add_task("resources", total=None, timing="")
        self._rows: dict[str, dict[str, Any]] = {}
        self._live: Any = None
        self._begun = clock()
        self._first_start: float | None = None
        self.stack = ""
        self.branch: str | None = None
        self.phase = "starting"
        self.operation = "spinup"
        self._final = False

    def __enter__(self) -> RichReporter:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.close(exc)

    # -- what the use case tells us -------------------------------------------------------------
    def step(self, message: str) -> None:
        m = _STACK.match(message)
        if m:
            self.stack = m.group(1)
            self.branch = ast.literal_eval(m.group(2))
            self.operation = "teardown" if message.endswith(": teardown") else "spinup"
        if message.startswith("terraform "):
            self.phase = message.split()[1].rstrip(":")
            if self.phase in ("apply", "destroy", "plan"):
                self._rows, self._first_start = {}, None
            if message.startswith("terraform init: skipped"):
                self.phase = "init (cached)"
        self.console.print(f"[bold]==>[/bold] {message}", highlight=False, markup=True)
        self._refresh()

    def event(self, ev: Any) -> None:
        row = self._rows.setdefault(ev.address, {"action": ev.action, "state": "pending", "verb": "",
                                                 "start": None, "took": None, "message": ""})
        if ev.phase == "planned":
            row["action"] = ev.action
        elif ev.phase == "start":
            row.update(action=ev.action, state="running", verb=VERBS.get(ev.action, ev.action),
                       start=self._clock())
            if self._first_start is None:
                self._first_start = self._clock()
        elif ev.phase in ("complete", "errored"):
            # our own clock where we saw the start: Terraform's elapsed_seconds is whole seconds
            took = self._clock() - row["start"] if row["start"] is not None else float(ev.elapsed or 0)
            row.update(state="done" if ev.phase == "complete" else "failed", took=took,
                       message=ev.message if ev.phase == "errored" else "")
        else:
            return
        self._refresh()

    # -- what the person sees -------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ORDER, 0)
        for row in self._rows.values():
            out[row["state"]] += 1
        return out

    def header(self) -> Any:
        from rich.spinner import Spinner
        from rich.text import Text

        title = Text.assemble((f"{self.operation} ", "bold"), (self.stack or "...", "bold cyan"),
                              f"  phase: {self.phase}")
        if self.phase == "init":
            return Spinner("dots", text=Text.assemble(title, "  (installing providers, reading state)"))
        return title

    def bar(self) -> Any:
        c = self.counts()
        total, finished = len(self._rows), c["done"] + c["failed"]
        spent = self._clock() - self._first_start if self._first_start is not None else 0.0
        timing = f"elapsed {elapsed_text(self._clock() - self._begun)}"
        left = estimate(finished, total, spent)
        timing += f"  {left}" if left else ""
        timing += f"  [bold red]{c['failed']} failed[/]" if c["failed"] else ""
        self.progress.update(self._task, total=total or None, completed=c["done"], timing=timing)
        return self.progress.get_renderable()

    def table(self) -> Any:
        from rich.console import Group
        from rich.table import Table

        budget = max(1, self.console.size.height - FIXED_LINES)
        rows = sorted(self._rows.items(), key=lambda kv: (ORDER[kv[1]["state"]], natural(kv[0])))
        failed = [kv for kv in rows if kv[1]["state"] == "failed"]
        rest = [] if self._final else [kv for kv in rows if kv[1]["state"] != "failed"]
        room = max(0, budget - len(failed))
        shown = failed + rest[:room - 1 if len(rest) > room else room]
        hidden = [kv for kv in rows if kv not in shown]
        if self._final and not failed:
            return Group(self.header(), self.bar(), *self._summary(hidden))
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=False)
        for column in ("status", "resource", "elapsed"):
            table.add_column(column, no_wrap=True, overflow="ellipsis")
        now = self._clock()
        for address, row in shown:
            took = row["took"] if row["took"] is not None else (
                now - row["start"] if row["start"] is not None else None)
            label = row["verb"] if row["state"] == "running" else row["state"]
            table.add_row(label, address, elapsed_text(took), style=STYLES[row["state"]])
        return Group(self.header(), self.bar(), table, *self._summary(hidden))

    def _summary(self, hidden: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        from rich.text import Text

        if not hidden:
            return []
        left: dict[str, int] = {}
        for _, row in hidden:
            left[row["state"]] = left.get(row["state"], 0) + 1
        return [Text("  + " + ", ".join(f"{n} {s}" for s, n in sorted(
            left.items(), key=lambda kv: ORDER[kv[0]])) + " not shown", style="dim")]

    def next_step(self, exc: BaseException) -> str:
        branch = f" --branch {shlex.quote(self.branch)}" if self.branch is not None else ""
        if self.operation == "teardown":
            return (f"next: fix the cause above, then run `provisioner teardown{branch}` again "
                    "(it resumes; nothing is marked destroyed while resources remain)")
        return (f"next: fix the cause above and re-run `provisioner spinup{branch}` (Terraform kept what "
                f"it created), or remove the stack with `provisioner teardown{branch}`")

    def _refresh(self) -> None:
        if self._live is None:
            from rich.live import Live

            self._live = Live(console=self.console, refresh_per_second=4, get_renderable=self.table,
                              vertical_overflow="crop")
            self._live.start()
        else:
            self._live.refresh()

    def close(self, exc: BaseException | None = None) -> None:
        if self._live is not None:
            self._final = True   # what stays on screen: the header, the counts, every failed row
            self.phase = f"{self.phase} " + ("failed" if exc is not None else "done")
            self._live.refresh()
            self._live.stop()
            self._live = None
        if exc is not None and not isinstance(exc, KeyboardInterrupt) and self.stack:
            self.console.print(self.next_step(exc), style="bold", highlight=False, markup=False)
