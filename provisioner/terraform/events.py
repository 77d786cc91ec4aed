"""Terraform's machine-readable UI (``-json`` lines) read into small frozen views: resource
events, change counts, diagnostics, and the outcome of one command (``RunResult``)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import Diagnostic

EventCallback = Callable[["ResourceEvent"], None]
SENSITIVE_MASK = "(sensitive)"   # what a sensitive value is shown as
StrPath = str | os.PathLike[str]


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

    def to_json(self) -> dict[str, Any]:
        """Terraform's own key names (``import``, not the attribute's ``import_``)."""
        return {"add": self.add, "change": self.change, "remove": self.remove, "import": self.import_,
                "operation": self.operation}


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


def _variable(diag: Mapping[str, Any]) -> str:
    """The input variable a diagnostic points at (its snippet's ``var.NAME`` traversal), or ''."""
    for value in (diag.get("snippet") or {}).get("values") or []:
        traversal = str(value.get("traversal", ""))
        if traversal.startswith("var."):
            return traversal[4:].split(".")[0].split("[")[0]
    return ""


def _diagnostic(diag: Mapping[str, Any]) -> Diagnostic:
    return Diagnostic(
        severity=str(diag.get("severity", "error")),
        summary=str(diag.get("summary", "")),
        detail=str(diag.get("detail") or ""),
        address=str(diag.get("address") or ""),
        variable=_variable(diag),
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


def json_object(item: str | Mapping[str, Any]) -> Mapping[str, Any] | None:
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
        obj = json_object(item)
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
