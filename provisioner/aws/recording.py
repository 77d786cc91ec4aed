"""The local emulator keeps its state: moto's recorder, replayed by the next emulator.

moto is in memory. Started with ``MOTO_RECORDER_FILEPATH``, the emulator (``aws.motoserve``) appends
every request it has answered (method, URL, headers, body; in moto's recording format, plus the
response ``status``) to ``<state_dir>/emulator-recording.jsonl``, in the order it handled them; a
new emulator is first seeded (``/moto-api/seed``: moto's generated ids - vpc-..., subnet-... - are
then the same for the same requests, in the same order: ``aws.motoserve`` serves one at a time),
then the file is replayed into it in order before anything else talks to it (what
``/moto-api/recorder/replay-recording`` does, on one kept-alive connection and without recording the
replay again), then ``/moto-api/recorder/start-recording`` resumes recording. The registry, the
state bucket, Terraform's state and the stacks' resources come back with the ids the state refers to.

The file holds everything the emulator was sent, Terraform state and secret values included: it is
the emulator's disk, kept 0600 in the 0700 state directory.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from provisioner.support.files import write_private_text

RECORDING = "emulator-recording.jsonl"
SEED = 20261201


def path(state_dir: Path) -> Path:
    return state_dir / RECORDING


def server_env(state_dir: Path) -> dict[str, str]:
    """Environment of a moto server that records into the state directory (file made 0600 first).
    Recording starts only after the replay (``restore``): the replay itself is not recorded again."""
    target = path(state_dir)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)
    return {"MOTO_RECORDER_FILEPATH": str(target.resolve())}


def _post(url: str, timeout: float) -> None:
    req = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        resp.read()


def _entries(target: Path) -> tuple[list[dict[str, Any]], int]:
    """The recorded requests; unreadable lines (a SIGKILL mid-write can leave half of the last line:
    that request is treated as never done) are dropped from the file, which is replaced whole
    (0600) so a crash while rewriting it loses nothing. Returns (entries, lines dropped)."""
    lines = target.read_text(encoding="utf-8", errors="replace").splitlines() if target.is_file() else []
    good: list[str] = []
    entries: list[dict[str, Any]] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            good.append(line)
            entries.append(entry)
    dropped = len(lines) - len(good)
    if dropped:
        write_private_text(target, "".join(f"{line}\n" for line in good))
    return entries, dropped


SKIP_HEADERS = {"content-length", "transfer-encoding", "connection", "host"}


def _replay(url: str, entries: list[dict[str, Any]]) -> int:
    """Send each recorded AWS request to ``url`` in order, on one kept-alive connection (moto's own
    replay opens one per request). Returns how many were sent."""
    target = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body: no 40 ms ack wait
    sent = 0
    try:
        for entry in entries:
            parts = urllib.parse.urlsplit(entry["url"])
            if parts.path.startswith("/moto-api/") and not parts.path.startswith("/moto-api/seed"):
                continue
            body: Any = entry.get("body") or b""
            body = base64.b64decode(body) if entry.get("body_encoded") else str(body).encode()
            headers = {k: v for k, v in (entry.get("headers") or {}).items() if k.lower() not in SKIP_HEADERS}
            headers["Host"] = target.netloc
            conn.request(entry.get("method", "GET"), parts.path + (f"?{parts.query}" if parts.query else ""),
                         body=body, headers=headers)
            conn.getresponse().read()
            sent += 1
    finally:
        conn.close()
    return sent


def restore(state_dir: Path, url: str) -> dict[str, Any]:
    """Seed a fresh emulator, replay the recording into it, then start recording. Returns what
    happened: ``requests`` replayed, ``seconds`` it took, ``dropped`` unreadable lines, ``error``."""
    entries, dropped = _entries(path(state_dir))
    started = time.monotonic()
    try:
        _post(f"{url}/moto-api/seed?a={SEED}", 10)
        sent = _replay(url, entries)
        _post(f"{url}/moto-api/recorder/start-recording", 10)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return {"requests": 0, "dropped": dropped, "error": f"replay of {path(state_dir)} failed: {exc}"}
    aws = sum(1 for e in entries if "/moto-api/" not in e["url"])
    return {"requests": aws, "sent": sent, "dropped": dropped,
            "seconds": round(time.monotonic() - started, 3)}


def forget(state_dir: Path) -> None:
    """Start the next emulator empty (``emulator stop --forget``)."""
    path(state_dir).unlink(missing_ok=True)
