"""Run a command in a real pseudo-terminal of a given size and read the screen a person would see.

The child gets a pty as stdin, stdout and stderr (so ``isatty()`` is true and the terminal size is
the one set with TIOCSWINSZ); every byte it writes is fed to pyte, a VT100 emulator, whose screen is
returned line by line, together with every screen seen along the way (``frames``).
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass, field


@dataclass
class Run:
    returncode: int
    screen: list[str]
    raw: bytes
    frames: list[list[str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen)


def run_in_terminal(argv: list[str], *, columns: int, lines: int, env: dict[str, str] | None = None,
                    cwd: str | None = None, timeout: float = 300) -> Run:
    import pyte

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(lines),
                **(env or {})}
    if full_env.get("PYTHONPATH"):   # the child runs elsewhere (cwd): keep PYTHONPATH=. meaning this tree
        paths = full_env["PYTHONPATH"].split(os.pathsep)
        full_env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in paths)
    for name in ("GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR", "GITHUB_HEAD_REF"):
        full_env.pop(name, None)
    proc = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, env=full_env, cwd=cwd,
                            start_new_session=True)
    os.close(follower)
    screen = pyte.Screen(columns, lines)
    stream = pyte.ByteStream(screen)
    raw, frames = bytearray(), []
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{argv} still running after {timeout}s; screen:\n"
                                 + "\n".join(screen.display))
        ready, _, _ = select.select([leader], [], [], 0.2)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:   # EIO: the child closed the terminal
            break
        if not chunk:
            break
        raw += chunk
        stream.feed(chunk)
        frames.append(list(screen.display))
    os.close(leader)
    return Run(proc.wait(timeout=30), list(screen.display), bytes(raw), frames)
