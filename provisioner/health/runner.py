"""Run the team's tests against a stack: ``[tests] command`` without a shell, in its own
process group, with the stack's outputs in the environment.

The environment is built by a pure function (``build_env``) so it can be checked from a table:
every output becomes ``STAGING_OUTPUT_<NAME>`` (upper case, anything but [A-Z0-9] turned into
``_``; strings as they are, everything else as JSON), next to ``STAGING_STACK_ID``,
``STAGING_BRANCH``, ``STAGING_PR`` and the AWS variables the caller hands in (``aws_test_env``:
region, credentials and, for the emulator, ``AWS_ENDPOINT_URL``, which boto3 and the AWS CLI
honour without code in the tests).

On timeout the whole process group is killed (SIGTERM, then SIGKILL after a grace period): a
test runner's children (a browser, a port-forward) must not outlive the run. The result keeps
the exit code, the duration and a bounded tail of the output in which every secret value handed
in is replaced before the tail is cut, so no part of a secret lands in a record or a PR comment.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.aws.clients import Aws
from provisioner.config.health import TestsSpec
from provisioner.errors import BadInput
from provisioner.health.model import StackContext

OUTPUT_PREFIX = "STAGING_OUTPUT_"
MASK = "***"
MIN_SECRET_CHARS = 8      # shorter values (the emulator's "test" credentials) are not secrets
KILL_GRACE_SECONDS = 5.0
_INHERITED_DROPPED = ("STAGING_", "AWS_")


@dataclass(frozen=True)
class TestRun:
    """What one run of the test command did. ``exit_code`` is None when it could not start or
    was killed on timeout."""

    __test__ = False   # not a pytest test class, despite the name

    command: str
    exit_code: int | None
    duration: float
    output_tail: str
    output_bytes: int = 0
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "ok": self.ok, "exit_code": self.exit_code,
                "timed_out": self.timed_out, "duration": round(self.duration, 3),
                "output_tail": self.output_tail, "output_bytes": self.output_bytes, "error": self.error}


def output_env_name(name: str) -> str:
    return OUTPUT_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def output_env(outputs: Mapping[str, Any]) -> dict[str, str]:
    """``STAGING_OUTPUT_<NAME>`` for every output; two outputs that map to one name are refused
    (``queue-url`` and ``queue_url``), since one would silently hide the other."""
    env: dict[str, str] = {}
    origin: dict[str, str] = {}
    for name in sorted(outputs):
        key = output_env_name(name)
        if key in env:
            raise BadInput(f"outputs {origin[key]!r} and {name!r} both become {key}", variable=key,
                           outputs=(origin[key], name))
        env[key], origin[key] = _env_value(outputs[name]), name
    return env


def aws_test_env(aws: Aws) -> dict[str, str]:
    """Region and credentials from the factory, plus the emulator's endpoint where there is one."""
    env = aws.terraform_env()
    if aws.endpoint:
        env["AWS_ENDPOINT_URL"] = aws.endpoint
    return env


def build_env(ctx: StackContext, *, aws_env: Mapping[str, str], extra: Mapping[str, str] | None = None,
             inherit: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test command's whole environment. From ``inherit`` (typically os.environ: PATH, HOME)
    every ``STAGING_*`` and ``AWS_*`` variable is dropped, so a stale output or a profile of the
    caller can never point the tests somewhere else; then ``extra`` ([tests] env), the stack's
    variables and ``aws_env`` (the tool's own values win)."""
    base = {k: v for k, v in (inherit or {}).items() if not k.startswith(_INHERITED_DROPPED)}
    stack = {"STAGING_STACK_ID": ctx.slug, "STAGING_BRANCH": ctx.branch,
             "STAGING_PR": "" if ctx.pr is None else str(ctx.pr)}
    return {**base, **(extra or {}), **output_env(ctx.outputs), **stack, **dict(aws_env)}


def secret_values(env: Mapping[str, str], more: Iterable[str] = ()) -> tuple[str, ...]:
    """The values to mask in the output: AWS secrets from ``env`` plus ``more``, longest first."""
    found = {env.get("AWS_SECRET_ACCESS_KEY", ""), env.get("AWS_SESSION_TOKEN", ""), *more}
    return tuple(sorted((s for s in found if len(s) >= MIN_SECRET_CHARS), key=len, reverse=True))


class _Tail:
    """Collects a process's output, keeping only the last ``keep`` bytes."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.data = bytearray()
        self.total = 0

    def drain(self, fd: int) -> None:
        while chunk := os.read(fd, 65536):
            self.total += len(chunk)
            self.data += chunk
            if len(self.data) > 2 * self.keep:
                del self.data[: len(self.data) - self.keep]

    def text(self, limit: int, secrets: tuple[str, ...]) -> str:
        data = bytes(self.data)
        for secret in secrets:
            data = data.replace(secret.encode(), MASK.encode())
        return data[-limit:].decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group, SIGKILL what is left after the grace period."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=grace or None)
            if sig == signal.SIGTERM:
                os.killpg(proc.pid, signal.SIGKILL)  # the leader is gone; its children may not be
                return
        except subprocess.TimeoutExpired:
            continue
        except (ProcessLookupError, PermissionError):
            return


def run_tests(spec: TestsSpec, env: Mapping[str, str], cwd: Path, *,
              secrets: Iterable[str] = ()) -> TestRun:
    """Run the command once; never raises for a failing or hanging command."""
    masked = secret_values(env, secrets)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(spec.argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return TestRun(spec.command, None, time.monotonic() - started, "", 0, False,
                       f"cannot start {spec.argv[0]!r}: {exc.strerror or exc}")
    assert proc.stdout is not None
    tail = _Tail(spec.tail_bytes + max((len(s) for s in masked), default=0))
    reader = threading.Thread(target=tail.drain, args=(proc.stdout.fileno(),), daemon=True)
    reader.start()
    timed_out = False
    try:
        code: int | None = proc.wait(timeout=spec.timeout)
    except subprocess.TimeoutExpired:
        timed_out, code = True, None
    _kill_group(proc)  # on timeout the run; otherwise whatever it left running in its group
    reader.join(KILL_GRACE_SECONDS)
    proc.stdout.close()
    error = f"timed out after {spec.timeout:g}s; its process group was killed" if timed_out else None
    return TestRun(spec.command, code, time.monotonic() - started, tail.text(spec.tail_bytes, masked),
                   tail.total, timed_out, error)
