"""Doctor's checks of the team's root module: can its providers be installed here (registry
reachable, mirror version inside every constraint, every required provider in the mirror), and
does it read ``terraform.workspace``. Each check returns a detail line or raises with the problem
(doctor's ``run_checks`` reports any exception as a failed check with the check's advice)."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from typing import Any

from provisioner.terraform.rootmodule import read_root_module

REGISTRY = "https://registry.terraform.io/.well-known/terraform.json"
_CLAUSE = re.compile(r"^\s*(~>|>=|<=|!=|=|>|<)?\s*v?(\d+(?:\.\d+)*)\s*$")


class ModuleProblem(Exception):
    """What is wrong, as one line (the message)."""


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _pad(v: tuple[int, ...], n: int = 3) -> tuple[int, ...]:
    return v + (0,) * (n - len(v))


def _holds(op: str, have: tuple[int, ...], want: tuple[int, ...]) -> bool:
    a, b = _pad(have), _pad(want)
    if op == "~>":   # the rightmost given part may grow: ~> 3.39 is >= 3.39, < 4.0
        upper = (*want[:-2], want[-2] + 1) if len(want) > 1 else (want[0] + 1,)
        return a >= b and a < _pad(upper)
    return {"=": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def excluding_clause(constraint: str, version: str) -> str | None:
    """The clause of a Terraform version constraint that ``version`` fails, else None."""
    for clause in filter(None, (c.strip() for c in constraint.split(","))):
        match = _CLAUSE.match(clause)
        if match is None:
            return f"{clause} (not understood)"
        if not _holds(match[1] or "=", _version(version), _version(match[2])):
            return clause
    return None


def mirrored(mirror: Path) -> dict[str, list[str]]:
    """source ("hashicorp/aws") -> versions in a packed filesystem mirror."""
    found: dict[str, list[str]] = {}
    for archive in sorted(mirror.glob("registry.terraform.io/*/*/terraform-provider-*_*_*_*.zip")):
        namespace, name = archive.parent.parent.name, archive.parent.name
        version = archive.name.removeprefix(f"terraform-provider-{name}_").split("_")[0]
        found.setdefault(f"{namespace}/{name}", []).append(version)
    return found


def check_registry(ctx: dict[str, Any]) -> str:
    try:
        with urllib.request.urlopen(REGISTRY, timeout=3) as answer:   # noqa: S310 (a fixed https URL)
            return f"registry.terraform.io reachable (HTTP {answer.status})"
    except Exception as exc:
        mirror = ctx["settings"].provider_mirror
        if mirror is None:
            raise ModuleProblem(f"registry.terraform.io is not reachable ({exc}) and there is no provider "
                                "mirror: terraform init will fail") from exc
        return (f"registry.terraform.io is not reachable ({_short(exc)}): offline, only the providers in "
                f"{mirror} can be installed")


def _short(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def check_constraints(ctx: dict[str, Any]) -> str:
    settings = ctx["settings"]
    root = read_root_module(settings.root_module)
    mirror = settings.provider_mirror
    if mirror is None:
        return "no provider mirror: providers come from the registry"
    have = mirrored(mirror)
    wanted = root.constraints or {"aws": ("hashicorp/aws", "")}
    problems: list[str] = []
    for name, (source, constraint) in sorted(wanted.items()):
        source = source.removeprefix("registry.terraform.io/").lower()
        versions = have.get(source, [])
        if not versions:
            problems.append(f"{source} (required_providers.{name}) is not in the mirror")
            continue
        failing = [(v, excluding_clause(constraint, v)) for v in versions]
        if all(clause for _v, clause in failing):
            problems += [f"{source} {v} in the mirror is excluded by {clause!r} (required_providers.{name} "
                         f"version = {constraint!r})" for v, clause in failing]
    if problems:
        raise ModuleProblem("; ".join(problems))
    return f"{', '.join(sorted(wanted))}: the mirror's versions fit every constraint"


def check_workspace_use(ctx: dict[str, Any]) -> str:
    root = read_root_module(ctx["settings"].root_module)
    if not root.workspace_files:
        return "the root module does not read terraform.workspace"
    files = ", ".join(Path(f).name for f in root.workspace_files)
    return (f"warning: {files} read terraform.workspace; each stack runs in its own workspace named "
            "after its stack id, so names built from it differ per stack (never 'default')")
