"""Run a few independent, I/O-bound calls at once in threads, and wait for every one of them.

For AWS reads and writes that do not depend on each other (the teardown's scans per service and
region, the state deletion beside the record write). boto3 clients are thread-safe and
``aws.clients.Aws.client`` builds them under a lock (sessions are not thread-safe), so the calls
may share one ``Aws``.

Every call runs to its end, whatever the others do: ``gather`` never leaves one running behind
the caller's back. When any failed, the first failure (in the order given) is raised, and each
other failure is added to it as a note, so no reason is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
MAX_THREADS = 8   # enough for loopback and AWS endpoints; more mostly waits on the GIL


class Outcome:
    """What one call gave: its value, or the exception it raised."""

    __slots__ = ("error", "value")

    def __init__(self, value: object = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error


def settle(calls: Sequence[Callable[[], object]]) -> list[Outcome]:
    """Run ``calls`` at once, at most ``MAX_THREADS`` at a time (a single call runs here, in this
    thread); one ``Outcome`` each, in order."""
    if len(calls) <= 1:
        return [_outcome(c) for c in calls]
    with ThreadPoolExecutor(max_workers=min(len(calls), MAX_THREADS),
                            thread_name_prefix="provisioner-parallel") as pool:
        futures = [pool.submit(_outcome, c) for c in calls]
        return [f.result() for f in futures]


def gather(calls: Sequence[Callable[[], T]]) -> list[T]:
    """The values of ``calls`` run at once, in order; raises the first failure, the others as notes."""
    outcomes = settle(calls)
    failures = [o.error for o in outcomes if o.error is not None]
    if failures:
        first = failures[0]
        for other in failures[1:]:
            first.add_note(f"also: {type(other).__name__}: {other}")
        raise first
    return cast(list[T], [o.value for o in outcomes])  # each value is the T its call returned


def pair(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """``(first(), second())``, the two run at once (``gather``'s failure rules)."""
    a, b = gather([first, second])
    return cast(A, a), cast(B, b)


def _outcome(call: Callable[[], object]) -> Outcome:
    try:
        return Outcome(call())
    except Exception as exc:  # noqa: BLE001  (handed back, raised by the caller in its own thread)
        return Outcome(error=exc)
