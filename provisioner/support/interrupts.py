"""SIGINT/SIGTERM for the CLI process: stop gracefully, never leave Terraform half-killed.

The CLI installs ``install()`` once. A signal then

- with Terraform running (a child registered by ``running``): forwards one SIGINT to it (Terraform's
  own graceful stop: it finishes the resources in flight and saves its state), remembers the signal
  and lets the command end; a Terraform that has not ended ``GRACE`` seconds later is killed. The
  engine raises ``Interrupted`` when the child has ended;
- while a Terraform child is being started (``spawning``): remembers it; ``running`` forwards it to
  the child as soon as the child is registered;
- otherwise: raises ``Interrupted`` at once (as Python's own KeyboardInterrupt would).

A second signal while the first is being handled sends Terraform a second SIGINT (its "exit now").
Inside ``deferred`` (a ``terraform`` binary run by python-terraform, which shares this process
group) a signal is remembered, SIGTERM passed on to it as SIGINT, and raised when it has ended.
Terraform children run in their own process group, so a terminal's Ctrl-C reaches them once,
through this module, and not twice (a second SIGINT would make Terraform exit without saving).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from provisioner.errors import Interrupted

GRACE = 60.0   # seconds Terraform gets to save its state after the forwarded SIGINT

_children: list[subprocess.Popen] = []
_lock = threading.Lock()
_state: dict[str, int | None] = {"signum": None}
_installed: dict[str, bool] = {"on": False}


def requested() -> int | None:
    """The signal received so far (None: none)."""
    return _state["signum"]


def check(terraform_ran: bool = False) -> None:
    """Raise ``Interrupted`` if a signal arrived."""
    signum = _state["signum"]
    if signum is not None:
        raise Interrupted(signum, terraform_ran=terraform_ran)


def _kill_late(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()


def _forward(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGINT)
    except ProcessLookupError:
        return
    timer = threading.Timer(GRACE, _kill_late, args=(proc,))
    timer.daemon = True
    timer.start()


def _group_children() -> list[int]:
    """This process's direct children in its own process group (a ``terraform`` binary run by
    python-terraform; not the emulator, which has its own session)."""
    pids: list[int] = []
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as handle:
                pids += [int(p) for p in handle.read().split()]
        return [p for p in pids if os.getpgid(p) == os.getpgrp()]
    except (OSError, ValueError):
        return pids


def _handle(signum: int, _frame: FrameType | None) -> None:
    first = _state["signum"] is None
    if first:
        _state["signum"] = signum
    with _lock:
        children = list(_children)
    for proc in children:
        _forward(proc)
    if _deferred["depth"]:
        # a binary Terraform shares our process group: a terminal's Ctrl-C reached it already (a
        # second SIGINT would make it exit without saving); SIGTERM is passed on as its SIGINT
        if signum == signal.SIGTERM and first:
            for pid in _group_children():
                os.kill(pid, signal.SIGINT)
        return
    if first and not children and not _spawning["depth"]:
        raise Interrupted(signum)


_deferred = {"depth": 0}
_spawning = {"depth": 0}


@contextmanager
def spawning() -> Iterator[None]:
    """Around starting a Terraform child and registering it with ``running``: a signal in between
    is remembered, not raised, and ``running`` passes it on to the child as soon as it is registered.
    Raised there, it would leave the CLI while the child it had just started runs on, without the
    SIGINT that makes Terraform save its state and release the state lock (the child then dies with
    the CLI, lock held: seen when a SIGTERM came right after "terraform destroy" was printed)."""
    _spawning["depth"] += 1
    try:
        yield
    finally:
        _spawning["depth"] -= 1


@contextmanager
def deferred() -> Iterator[None]:
    """For a block that runs Terraform in a child this module cannot register (python-terraform's):
    a signal is remembered and passed on, not raised; ``check`` afterwards raises it."""
    _deferred["depth"] += 1
    try:
        yield
    finally:
        _deferred["depth"] -= 1


def install() -> None:
    """Handle SIGINT and SIGTERM as above (main thread of the CLI process only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _handle)
    _installed["on"] = True


def installed() -> bool:
    return _installed["on"]


def own_group() -> bool:
    """Whether Terraform children get their own process group: only when this module forwards
    signals to them (otherwise a terminal's Ctrl-C must reach them directly), from the main thread
    (the child is tied to the life of the thread that starts it)."""
    return _installed["on"] and threading.current_thread() is threading.main_thread()


@contextmanager
def running(proc: subprocess.Popen) -> Iterator[None]:
    """Register a Terraform child for the duration of the block (signals are forwarded to it)."""
    with _lock:
        _children.append(proc)
    try:
        if _state["signum"] is not None:  # a signal arrived between spawn and registration
            _forward(proc)
        yield
    finally:
        with _lock:
            _children.remove(proc)


def reset() -> None:
    """Forget a handled signal (tests and long-lived processes)."""
    _state["signum"] = None

