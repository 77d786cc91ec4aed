"""The local target: a moto server on loopback, started and stopped by the tool.

Its pid and port live in ``<state_dir>/emulator.json``. State inside moto is
in memory: stopping the emulator forgets every stack, record and state file
it held (the registry and state bucket are bootstrapped again on next use).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provisioner.errors import EmulatorError

HOST = "127.0.0.1"
STATE_FILE = "emulator.json"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class EmulatorInfo:
    pid: int
    port: int
    started_at: float
    log: str

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
        return EmulatorInfo(**data)
    except (OSError, ValueError, TypeError):
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


def _wait_until_up(url: str, proc: subprocess.Popen) -> None:
    poll(lambda: proc.poll() is not None or answers(url, timeout=0.5), START_TIMEOUT)
    if proc.poll() is not None or not answers(url):
        raise EmulatorError(f"the AWS emulator did not start at {url}; see its log", url=url)


def start(state_dir: Path, port: int = 0) -> EmulatorInfo:
    """Start moto on loopback unless one of ours already answers; returns its info."""
    running = status(state_dir)
    if running:
        return running
    try:
        import moto.server  # noqa: F401  (only to give a clear error when the extra is missing)
    except ImportError as exc:
        raise EmulatorError("the local target needs the emulator: pip install 'staging-provisioner[local]'") \
            from exc
    state_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = state_dir / "emulator.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    info = EmulatorInfo(pid=proc.pid, port=port, started_at=time.time(), log=str(log_path))
    _wait_until_up(info.url, proc)
    (state_dir / STATE_FILE).write_text(json.dumps(asdict(info)))
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
