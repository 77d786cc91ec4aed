"""Terraform's own errors in our words.

A module's ``validation`` rule that refuses a staging variable is bad input (exit 2), not a Terraform
failure: the message names the variable and its value, where the value came from (the override's
file and rule, or the baseline's line), and the module's rule (file, line, condition, message). Paths
are shown relative to the config file: the message lands in the registry, the board and the PR
comment, which must not carry local paths.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from provisioner.config import Settings
from provisioner.domain.difference import Difference
from provisioner.errors import Diagnostic, ProvisionerError, TerraformError, VariableRejected
from provisioner.render.model import Rendered

_RULE_AT = re.compile(r"validation rule at ([^:\s]+):(\d+)")


def explain(settings: Settings, rendered: Rendered, exc: ProvisionerError) -> ProvisionerError:
    """``exc`` in our words where we know better; otherwise ``exc`` itself."""
    if not isinstance(exc, TerraformError):
        return exc
    refused = [d for d in exc.diagnostics if d.severity == "error" and d.variable
               and d.summary.startswith("Invalid value for variable")]
    if not refused:
        return exc
    return VariableRejected("\n".join(_one(settings, rendered, d) for d in refused),
                            variables=[d.variable for d in refused])


def _shown(settings: Settings, path: Path | str) -> str:
    try:
        return os.path.relpath(path, settings.base_dir)
    except ValueError:
        return Path(path).name


def _value(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _one(settings: Settings, rendered: Rendered, d: Diagnostic) -> str:
    name = d.variable
    value = rendered.tfvars.get(name)
    message = d.detail.split("\n\n")[0].strip()
    return (f"variable {name} = {_value(value)} was refused by the module's validation rule "
            f"({_rule(settings, d)}): {message}\n  the value comes from {_source(settings, rendered, name)}")


def _rule(settings: Settings, d: Diagnostic) -> str:
    """'modules/stack/variables.tf:25: condition = ...' (the rule's own line, read from the module)."""
    m = _RULE_AT.search(d.detail)
    if not m:
        return "see the module's variables"
    file, line = settings.root_module / m.group(1), int(m.group(2))
    try:   # the range points at the `validation` keyword: its condition follows
        lines = file.read_text(encoding="utf-8").splitlines()[line - 1:line + 9]
    except OSError:
        lines = []
    text = next((" ".join(x.split()) for x in lines if x.strip().startswith("condition")), "")
    return f"{_shown(settings, file)}:{line}" + (f": {text}" if text else "")


def _source(settings: Settings, rendered: Rendered, name: str) -> str:
    diff: Difference | None = next((x for x in rendered.differences if x.variable == name), None)
    if diff is not None and diff.rule == "injected":
        return f"the provisioner ({diff.reason})"
    if diff is not None:
        production = "" if diff.production_only else f"; production: {_value(diff.production)}"
        overrides = _shown(settings, settings.path(settings.project.overrides))
        return (f"the override [overrides.{name}] in {overrides} (rule = \"{diff.rule}\"{production}); "
                f"reason given: {diff.reason}")
    baseline = settings.path(settings.project.baseline)
    return f"the production baseline, {_shown(settings, baseline)}{_line_of(baseline, name)}, unchanged " \
        f"(no override for it in {_shown(settings, settings.path(settings.project.overrides))})"


def _line_of(path: Path, name: str) -> str:
    assignment = re.compile(rf'^\s*"?{re.escape(name)}"?\s*[=:]')
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if assignment.match(line):
                return f":{number}"
    except OSError:
        pass
    return ""
