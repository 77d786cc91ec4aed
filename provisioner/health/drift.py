"""Drift: what changed in a stack behind Terraform's back, and what changed in its inputs.

Resource drift is read from Terraform's JSON plan format (``terraform show -json`` of a
refresh-only plan, ``refresh_plan_args`` / ``show_args`` below): ``resource_drift`` lists each
resource whose real state differs from the recorded state, with ``before`` (state) and ``after``
(what the provider read). ``parse_refresh_plan`` turns it into attribute-by-attribute changes,
masks sensitive values (``before_sensitive`` / ``after_sensitive``) and names deleted resources.

The exit code of ``plan -refresh-only -detailed-exitcode`` cannot decide on its own: it is 2 for
an untouched example stack on the emulator (captured in tests/unit/fixtures/drift/manifest.json),
because some differences are perpetual and mean nothing. They are filtered here, each rule
observed in a captured plan:

- null in state vs ``[]`` / ``{}`` read back (moto; e.g. an alarm's insufficient_data_actions,
  a queue's tags);
- two JSON documents that differ only in formatting (moto re-serialises SQS ``redrive_policy``
  with spaces; in a refresh-only plan it stays in state, but a document compared this way
  never counts as drift wherever it appears);
- ``aws_iam_role.inline_policy`` listing policies that ``aws_iam_role_policy`` resources of the
  same state manage (provider 3.x reads them into the role on every refresh).

Configuration drift compares per-variable digests recorded at the last apply with the current
render: which variables a re-apply would change, without storing any value in the record.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.errors import ProvisionerError

SENSITIVE = "(sensitive)"
PLAN_FILE = "drift.tfplan"
EXPECTED_PLAN_CODES = (0, 2)   # -detailed-exitcode: 0 nothing, 2 differences; anything else fails
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_EMPTY_INLINE = ({"name": "", "policy": ""},)


class DriftError(ProvisionerError):
    """A plan document that is not Terraform's JSON plan format."""

    def __init__(self, problem: str, source: str = "plan") -> None:
        super().__init__(f"{source}: {problem}", source=source)
        self.source = source


# --------------------------------------------------------------------------- commands

def refresh_plan_args(plan_file: str = PLAN_FILE, *, var_files: Sequence[str] = (),
                      lock_timeout: str | None = None) -> list[str]:
    """argv of the refresh-only plan the engine must run (exit 0 or 2 expected)."""
    argv = ["plan", "-refresh-only", "-detailed-exitcode", "-input=false", "-no-color", "-json",
            f"-out={plan_file}"]
    if lock_timeout:
        argv.append(f"-lock-timeout={lock_timeout}")
    return argv + [f"-var-file={path}" for path in var_files]


def show_args(plan_file: str = PLAN_FILE) -> list[str]:
    """argv that prints the saved plan in Terraform's JSON plan format (exit 0 expected)."""
    return ["show", "-json", plan_file]


# --------------------------------------------------------------------------- views

@dataclass(frozen=True)
class AttributeChange:
    path: str          # tags.Role, visibility_timeout_seconds, ingress[0].cidr_blocks
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceDrift:
    address: str
    type: str
    action: str                        # "changed" | "deleted"
    changes: tuple[AttributeChange, ...] = ()
    resource_id: str | None = None


@dataclass(frozen=True)
class DriftReport:
    resources: tuple[ResourceDrift, ...] = ()
    ignored: tuple[str, ...] = ()      # "address: path" of every filtered perpetual difference
    terraform_version: str = ""

    @property
    def drifted(self) -> bool:
        return bool(self.resources)

    @property
    def deleted(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.resources if r.action == "deleted")

    @property
    def changed(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.resources if r.action == "changed")

    def to_json(self) -> dict[str, Any]:
        return {"drifted": self.drifted, "resources": [
            {"address": r.address, "type": r.type, "action": r.action, "id": r.resource_id,
             "changes": [{"path": c.path, "before": c.before, "after": c.after} for c in r.changes]}
            for r in self.resources], "ignored": list(self.ignored)}


# --------------------------------------------------------------------------- filters

def _json_document(value: Any) -> Any:
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def perpetual(before: Any, after: Any) -> bool:
    """True for a difference the emulator or provider shows on every refresh (see module doc)."""
    if before is None and after in ([], {}) or after is None and before in ([], {}):
        return True
    doc = _json_document(before)
    return doc is not None and doc == _json_document(after)


def _managed_inline_policies(plan: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(role, policy name) of every aws_iam_role_policy in the plan's prior state."""
    found: set[tuple[str, str]] = set()
    pending = [((plan.get("prior_state") or {}).get("values") or {}).get("root_module") or {}]
    while pending:
        module = pending.pop()
        pending.extend(module.get("child_modules") or [])
        for res in module.get("resources") or []:
            values = res.get("values") or {}
            if res.get("type") == "aws_iam_role_policy" and values.get("role") and values.get("name"):
                found.add((str(values["role"]), str(values["name"])))
    return found


def _inline_managed_elsewhere(res_type: str, before: Mapping[str, Any], after: Mapping[str, Any],
                              managed: set[tuple[str, str]]) -> bool:
    if res_type != "aws_iam_role":
        return False
    old, new = before.get("inline_policy") or [], after.get("inline_policy") or []
    role = str(after.get("name") or before.get("name") or "")
    placeholder = all(p in _EMPTY_INLINE for p in old)
    return placeholder and all((role, str(p.get("name"))) in managed for p in new)


# --------------------------------------------------------------------------- diffing

def _child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.fullmatch(str(key)):
        return f"{path}.{key}" if path else str(key)
    return f"{path}[{json.dumps(str(key))}]"


def _sub(sensitive: Any, key: Any) -> Any:
    if sensitive is True:
        return True
    if isinstance(sensitive, Mapping):
        return sensitive.get(key, False)
    if isinstance(sensitive, list) and isinstance(key, int) and key < len(sensitive):
        return sensitive[key]
    return False


def _masked(value: Any, sensitive: Any) -> Any:
    """The value with every part that ``sensitive`` marks (at any depth) replaced by SENSITIVE."""
    if value is None or sensitive is False or sensitive is None:
        return value
    if sensitive is True:
        return SENSITIVE
    if isinstance(value, Mapping):
        return {k: _masked(v, _sub(sensitive, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, _sub(sensitive, i)) for i, v in enumerate(value)]
    return value


def diff_values(before: Any, after: Any, *, before_sensitive: Any = False, after_sensitive: Any = False,
                path: str = "", ignored: list[str] | None = None) -> Iterator[AttributeChange]:
    """Leaf-by-leaf differences of two attribute values, perpetual ones left out (and noted in
    ``ignored``); sensitive leaves are masked on the side where they are sensitive."""
    if before == after:
        return
    if perpetual(before, after):
        if ignored is not None:
            ignored.append(path or "(value)")
        return
    nested = (isinstance(before, Mapping) and isinstance(after, Mapping)) or (
        isinstance(before, list) and isinstance(after, list) and len(before) == len(after))
    if not nested or before_sensitive is True or after_sensitive is True:
        yield AttributeChange(path or "(value)", _masked(before, before_sensitive),
                              _masked(after, after_sensitive))
        return
    keys: Sequence[Any] = sorted(set(before) | set(after)) if isinstance(before, Mapping) \
        else range(len(before))
    for key in keys:
        old = before.get(key) if isinstance(before, Mapping) else before[key]
        new = after.get(key) if isinstance(after, Mapping) else after[key]
        yield from diff_values(old, new, before_sensitive=_sub(before_sensitive, key),
                               after_sensitive=_sub(after_sensitive, key), path=_child_path(path, key),
                               ignored=ignored)


def _resource(entry: Mapping[str, Any], managed: set[tuple[str, str]],
              ignored: list[str]) -> ResourceDrift | None:
    address, res_type = str(entry.get("address", "")), str(entry.get("type", ""))
    change = entry.get("change") or {}
    before, after = change.get("before") or {}, change.get("after")
    rid = before.get("id") if isinstance(before, Mapping) else None
    if after is None or "delete" in (change.get("actions") or []):
        return ResourceDrift(address, res_type, "deleted", (), str(rid) if rid else None)
    noted: list[str] = []
    if _inline_managed_elsewhere(res_type, before, after, managed):
        before = {k: v for k, v in before.items() if k != "inline_policy"}
        after = {k: v for k, v in after.items() if k != "inline_policy"}
        noted.append("inline_policy")
    changes = tuple(diff_values(before, after, before_sensitive=change.get("before_sensitive", False),
                                after_sensitive=change.get("after_sensitive", False), ignored=noted))
    ignored.extend(f"{address}: {path}" for path in noted)
    if not changes:
        return None
    return ResourceDrift(address, res_type, "changed", changes, str(rid) if rid else None)


def parse_refresh_plan(plan: Mapping[str, Any] | str, *, source: str = "plan") -> DriftReport:
    """Terraform's JSON plan (a dict, or the text ``show -json`` printed) -> DriftReport."""
    if isinstance(plan, str):
        try:
            plan = json.loads(plan)
        except ValueError as exc:
            raise DriftError(f"not JSON: {exc}", source) from None
    if not isinstance(plan, Mapping) or "format_version" not in plan:
        raise DriftError("not a Terraform JSON plan (no format_version)", source)
    managed = _managed_inline_policies(plan)
    ignored: list[str] = []
    found = [_resource(e, managed, ignored) for e in plan.get("resource_drift") or []
             if e.get("mode", "managed") == "managed"]
    return DriftReport(tuple(r for r in found if r is not None), tuple(ignored),
                       str(plan.get("terraform_version", "")))


# --------------------------------------------------------------------------- configuration drift

@dataclass(frozen=True)
class ConfigDrift:
    """Variables whose rendered value differs from the one recorded at the last apply."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        return bool(self.changed or self.added or self.removed)

    def to_json(self) -> dict[str, Any]:
        return {"drifted": self.drifted, "changed": list(self.changed), "added": list(self.added),
                "removed": list(self.removed)}


def value_digest(value: Any) -> str:
    """A short digest of one variable's value (canonical JSON): recordable without the value."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def variable_digests(tfvars: Mapping[str, Any]) -> dict[str, str]:
    """What the record keeps after an apply: variable -> digest of its value."""
    return {name: value_digest(value) for name, value in sorted(tfvars.items())}


def config_drift(recorded: Mapping[str, str], current_tfvars: Mapping[str, Any]) -> ConfigDrift:
    """Compare recorded digests (``variable_digests`` at the last apply) with the current render."""
    now = variable_digests(current_tfvars)
    return ConfigDrift(
        changed=tuple(sorted(n for n in now.keys() & recorded.keys() if now[n] != recorded[n])),
        added=tuple(sorted(now.keys() - recorded.keys())),
        removed=tuple(sorted(recorded.keys() - now.keys())),
    )
