"""The local target: a moto server on loopback, started and stopped by the tool.

Its pid and port live in ``<state_dir>/emulator.json`` (0600). State inside moto is in memory;
moto's recorder (``aws.recording``) appends every request to ``<state_dir>/emulator-recording.jsonl``
and a new emulator replays it on start, so a stopped or crashed emulator comes back with its
stacks. A recorded emulator whose process is alive but does not answer (stalled, swapping,
SIGSTOPped) is waited for, bounded, and never replaced while its pid lives.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from provisioner.aws import recording
from provisioner.errors import EmulatorError
from provisioner.support.files import write_private_json

HOST = "127.0.0.1"
STATE_FILE = "emulator.json"
START_LOCK = "emulator.lock"
START_TIMEOUT = 30.0
STALL_WAIT = 120.0   # how long a recorded emulator that is alive but silent is waited for


@dataclass(frozen=True)
class EmulatorInfo:
    pid: int
    port: int
    started_at: float
    log: str
    restore: dict[str, Any] = field(default_factory=dict)   # what recording.restore did at start
    starter: int = 0   # pid of the command that started it (0: recorded before this field)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when something speaking moto's API answers at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    except ChildProcessError:
        pass
    return not _pid_alive(pid)


def read_info(state_dir: Path) -> EmulatorInfo | None:
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
        known = {f.name for f in fields(EmulatorInfo)}  # a key a newer version added is not "no emulator"
        return EmulatorInfo(**{k: v for k, v in data.items() if k in known})
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def status(state_dir: Path) -> EmulatorInfo | None:
    """The running emulator recorded under ``state_dir``, or None."""
    info = read_info(state_dir)
    if info and _pid_alive(info.pid) and answers(info.url):
        return info
    return None


def poll(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> bool:
    """Call ``predicate`` until it is true or ``timeout`` passes; returns its last answer."""
    from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed  # only when waiting

    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(interval),
           retry=retry_if_result(lambda ok: not ok), retry_error_callback=lambda _state: False)
    def attempt() -> bool:
        return bool(predicate())

    return attempt()


def _is_emulator(pid: int) -> bool:
    """The live process ``pid`` is a moto server (not a reused pid); True where /proc cannot tell."""
    try:
        return b"moto" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True


def wait_for_recorded(state_dir: Path, on_wait: Callable[[str], None], timeout: float = STALL_WAIT
                      ) -> EmulatorInfo | None:
    """The recorded emulator once it answers; None when there is none or its process is gone.

    One whose process lives but does not answer is waited for up to ``timeout`` (telling
    ``on_wait`` once), then EmulatorError: it still holds every stack, so it is never replaced."""
    info = read_info(state_dir)
    if info is None or not _pid_alive(info.pid) or not _is_emulator(info.pid):
        return None
    if answers(info.url):
        return info
    on_wait(f"the local AWS emulator (pid {info.pid}) at {info.url} does not answer; waiting up to "
            f"{timeout:.0f}s (it is alive and holds the stacks, so it is not replaced)")
    if poll(lambda: answers(info.url) or not _pid_alive(info.pid), timeout, interval=0.25) \
            and _pid_alive(info.pid):
        return info
    if not _pid_alive(info.pid):
        return None
    raise EmulatorError(f"the local AWS emulator (pid {info.pid}) at {info.url} has not answered for "
                        f"{timeout:.0f}s; it is still running, so it is not replaced. Resume it, or stop "
                        "it with `provisioner emulator stop` (a new one replays the recording)",
                        url=info.url, pid=info.pid)


def _wait_until_up(url: str, proc: subprocess.Popen) -> None:
    poll(lambda: proc.poll() is not None or answers(url, timeout=0.5), START_TIMEOUT)
    if proc.poll() is not None or not answers(url):
        raise EmulatorError(f"the AWS emulator did not start at {url}; see its log", url=url)


@contextmanager
def _start_lock(state_dir: Path, on_wait: Callable[[str], None]) -> Iterator[None]:
    """One command at a time decides to start an emulator for ``state_dir``. Without it two
    commands that found none both started one: both replayed the recording, then both appended to
    it, and ``emulator.json`` named only the second while the first lived on serving whoever had
    its URL. The lock is the kernel's (``flock``): a command that dies lets go of it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / START_LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait("another command is starting the local AWS emulator; waiting for it")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _discard(proc: subprocess.Popen) -> None:
    """Stop an emulator that never got into ``emulator.json`` (its start failed or was interrupted):
    nothing would ever find it again, and a later one would replay the recording beside it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start(state_dir: Path, port: int = 0, on_wait: Callable[[str], None] = lambda _m: None
          ) -> EmulatorInfo:
    """Start moto on loopback unless one of ours is alive (waited for while it stalls); returns its
    info. A new one replays the recording of its predecessor (``restored`` in the info). Commands
    that find none at the same time start one between them (``_start_lock``)."""
    running = wait_for_recorded(state_dir, on_wait)
    if running:
        return running
    try:
        import moto.server  # noqa: F401  (only to give a clear error when the extra is missing)
    except ImportError as exc:
        raise EmulatorError("the local target needs the emulator: pip install 'staging-provisioner[local]'") \
            from exc
    with _start_lock(state_dir, on_wait):
        running = wait_for_recorded(state_dir, on_wait)  # started by the command that held the lock
        return running or _launch(state_dir, port)


def _launch(state_dir: Path, port: int) -> EmulatorInfo:
    previous = read_info(state_dir)  # recorded, but its process is gone
    port = port or free_port()
    log_path = state_dir / "emulator.log"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "provisioner.aws.motoserve", HOST, str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, **recording.server_env(state_dir)},
        )
    info = EmulatorInfo(pid=proc.pid, port=port, started_at=time.time(), log=str(log_path),
                        starter=os.getpid())
    try:  # until emulator.json names it, a failure or a signal must not leave it running
        _wait_until_up(info.url, proc)
        restored = recording.restore(state_dir, info.url)
        info = replace(info, restore={**restored, "previous_pid": previous.pid if previous else None})
        write_private_json(state_dir / STATE_FILE, asdict(info))
    except BaseException:
        _discard(proc)
        raise
    return info


def stop(state_dir: Path) -> EmulatorInfo | None:
    """Stop the recorded emulator; returns what was stopped (None if nothing ran)."""
    info = read_info(state_dir)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    if not info or not _pid_alive(info.pid):
        return None
    os.kill(info.pid, signal.SIGTERM)
    if not poll(lambda: _reaped(info.pid), timeout=10, interval=0.05):
        os.kill(info.pid, signal.SIGKILL)
    return info
