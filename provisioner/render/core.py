"""Production baseline + declared overrides -> staging variable file and a differences report.

The baseline is the team's production ``.tfvars`` (HCL) or ``.tfvars.json``.
Production-only variables carry a marker: in HCL a comment line directly above
the assignment (``# @production-only: <why>`` or ``// @production-only: <why>``),
in JSON a top-level ``"//production_only": {"var": "why"}`` object.

Overrides are a TOML file, one ``[overrides.<variable>]`` table each, with a
``rule`` (``scale``, ``set``, ``template``, ``drop``) and a ``reason``. Every
change from production is an override or an injected value, and every one is
reported as a ``Difference``; variables nobody overrides are copied unchanged.

Compute, then act: ``render`` is pure, ``write_tfvars`` writes the result."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from provisioner.domain.difference import UNSET, Difference
from provisioner.errors import RenderError
from provisioner.render.guards import check_identifiers, check_sensitive, secret_differences
from provisioner.render.model import (
    NO_GUARDS,
    PRODUCTION_ONLY_RULES,
    Baseline,
    Guards,
    ModuleVariable,
    Override,
    RenderContext,
    Rendered,
)
from provisioner.render.paths import KeyPath, get_at, parse_path, set_at, type_problem
from provisioner.render.rules import RULES
from provisioner.render.values import canonical, same, suggest, type_kind, value_kind


def _check_kind(variable: str, staging: Any, production: Any, declared: ModuleVariable | None,
                source: str, rule: str) -> None:
    """Refuse a staging value whose kind differs from production's (or the declared type's)."""
    expected = value_kind(production)
    if expected is None and declared is not None:
        expected = type_kind(declared.type)
    actual = value_kind(staging)
    if expected is None or actual is None or expected == actual:
        return
    if rule == "template":
        raise RenderError(source, variable, f"a template renders a string, but the variable is a {expected}")
    if rule == "injected":
        raise RenderError(source, variable, f"the provisioner's value is a {actual}, but the variable is "
                                            f"a {expected}")
    raise RenderError(source, variable, f"{rule} would change its type from {expected} to {actual}")


def _check_declared(baseline: Baseline, module_vars: Mapping[str, ModuleVariable]) -> None:
    for name in baseline.values:
        if name not in module_vars:
            raise RenderError(baseline.path, name, "is set by the baseline but the root module declares no "
                                                   "such variable", suggest(name, module_vars))


def _check_injected(baseline: Baseline, overrides: tuple[Override, ...],
                    module_vars: Mapping[str, ModuleVariable], injected: Mapping) -> None:
    for name, (value, reason) in injected.items():
        if name in baseline.values:
            raise RenderError(baseline.path, name, f"is set by the provisioner ({reason}); the baseline "
                                                   "must not set it too")
        for override in overrides:
            if override.variable == name:
                raise RenderError(override.source, name, f"is set by the provisioner ({reason}); an "
                                                         "override must not set it too")
        declared = module_vars.get(name)
        if declared is None:
            raise RenderError("root module", name, f"the provisioner sets it ({reason}) but the root module "
                                                   "declares no such variable", suggest(name, module_vars))
        _check_kind(name, value, UNSET, declared, "root module", "injected")


def _check_overrides_unique(overrides: tuple[Override, ...]) -> None:
    seen: set[str] = set()
    whole = {o.variable for o in overrides if not parse_path(o.variable, o.source).steps}
    for override in overrides:
        if override.variable in seen:
            raise RenderError(override.source, override.variable, "is overridden twice")
        seen.add(override.variable)
        head = parse_path(override.variable, override.source).variable
        if head != override.variable and head in whole:
            raise RenderError(override.source, override.variable, f"{head} is also overridden as a whole; "
                                                                  "override either the whole value or parts")


def _check_production_only_covered(baseline: Baseline, overrides: tuple[Override, ...]) -> None:
    covered = {override.variable for override in overrides}
    for name, why in baseline.production_only.items():
        if name not in covered:
            raise RenderError(baseline.path, name, f"is production-only ({why}) but no override replaces "
                                                   "it; add a set, template or drop override")


def _guard_production_only(override: Override, staging: Any, production: Any, why: str,
                           declared: ModuleVariable | None) -> None:
    where = (override.source, override.variable)
    if override.rule not in PRODUCTION_ONLY_RULES:
        raise RenderError(*where, f"is production-only ({why}); replace it with set, template or drop, "
                                  f"not {override.rule}")
    effective = declared.default if staging is UNSET and declared is not None else staging
    if same(effective, production):
        raise RenderError(*where, f"is production-only ({why}) but the staging value equals the "
                                  "production value")


def _apply(override: Override, baseline: Baseline, module_vars: Mapping[str, ModuleVariable],
           context: RenderContext) -> Any:
    """The staging value of one override (``UNSET`` for drop), after every check."""
    name = override.variable
    declared = module_vars.get(name)
    if declared is None and name not in baseline.values:
        raise RenderError(override.source, name, "neither the baseline nor the root module has this "
                                                 "variable", suggest(name, [*baseline.values, *module_vars]))
    if override.rule == "drop" and name not in baseline.values:
        raise RenderError(override.source, name, "the baseline does not set it, so there is nothing to drop")
    production = baseline.values.get(name, UNSET)
    if production is UNSET and declared is not None and declared.has_default:
        production = declared.default  # what production actually runs with
    staging = RULES[override.rule](override, production, declared, context)
    if staging is not UNSET:
        _check_kind(name, staging, production, declared, override.source, override.rule)
        declared_type = declared.type if declared is not None else None
        problem = type_problem(staging, declared_type, name)
        if problem:
            raise RenderError(override.source, name, f"{override.rule} gives a value that does not fit the "
                                                     f"declared type {declared_type}: {problem}")
    if name in baseline.production_only:
        _guard_production_only(override, staging, production, baseline.production_only[name], declared)
    return staging


def _apply_part(override: Override, path: KeyPath, tfvars: Mapping, baseline: Baseline,
                module_vars: Mapping[str, ModuleVariable], context: RenderContext) -> tuple[Any, Any, Any]:
    """(production part, staging part, new whole value) of an override on a key path."""
    name, where = path.variable, (override.source, override.variable)
    declared = module_vars.get(name)
    whole = tfvars.get(name, UNSET)
    if whole is UNSET and declared is not None and declared.has_default:
        whole = declared.default
    if whole is UNSET:
        raise RenderError(*where, "neither the production values nor the module default set "
                                  f"{name}", suggest(name, [*tfvars, *module_vars]))
    if name in baseline.production_only:
        raise RenderError(*where, f"{name} is production-only ({baseline.production_only[name]}); replace it "
                                  "as a whole, not in parts")
    try:
        production = get_at(whole, path, override.source)
    except RenderError:
        if override.rule != "set":
            raise
        production = UNSET   # set may add a map key
    if override.rule == "drop":
        staging = UNSET
    else:
        staging = RULES[override.rule](override, production, None, context)
        _check_kind(override.variable, staging, production, None, override.source, override.rule)
    new_whole = set_at(whole, path.steps, staging)
    declared_type = declared.type if declared is not None else None
    problem = type_problem(new_whole, declared_type, name)
    if problem:
        raise RenderError(*where, f"the value no longer fits the declared type {declared_type}: {problem}")
    return production, staging, new_whole


def inputs_digest(baseline: Baseline, overrides: tuple[Override, ...]) -> str:
    """sha256 of the canonical JSON of the baseline (values, markers) and the overrides."""
    payload = {
        "baseline": baseline.values,
        "production_only": baseline.production_only,
        "overrides": [{"variable": o.variable, "rule": o.rule, "reason": o.reason, "params": dict(o.params)}
                      for o in overrides],
    }
    return hashlib.sha256(canonical(payload)).hexdigest()


def render(baseline: Baseline, overrides: tuple[Override, ...], module_vars: Mapping[str, ModuleVariable],
           context: RenderContext, *, injected: Mapping[str, tuple[Any, str]] = MappingProxyType({}),
           guards: Guards = NO_GUARDS) -> Rendered:
    """Baseline values, then each override, then the injected variables; every change reported.

    Refuses a sensitive variable in the baseline or an override, and any production identifier
    left anywhere in the result (``guards``)."""
    overrides = tuple(overrides)
    _check_declared(baseline, module_vars)
    _check_injected(baseline, overrides, module_vars, injected)
    _check_overrides_unique(overrides)
    check_sensitive(baseline, overrides, module_vars, guards)
    tfvars = copy.deepcopy(baseline.values)
    sources = dict.fromkeys(tfvars, baseline.path)
    differences = []
    for override in overrides:
        path = parse_path(override.variable, override.source)
        if path.steps:
            part, staging, tfvars[path.variable] = _apply_part(override, path, tfvars, baseline, module_vars,
                                                               context)
            sources[path.variable] = override.source
            differences.append(Difference(override.variable, part, staging, override.rule, override.reason))
            continue
        name = override.variable
        staging = _apply(override, baseline, module_vars, context)
        if staging is UNSET:
            tfvars.pop(name, None)
        else:
            tfvars[name] = staging
        sources[name] = override.source
        differences.append(Difference(name, baseline.values.get(name, UNSET), staging, override.rule,
                                      override.reason, False, name in baseline.production_only))
    _check_production_only_covered(baseline, overrides)
    for name, (value, reason) in injected.items():
        tfvars[name] = copy.deepcopy(value)
        sources[name] = f"injected by the provisioner ({reason})"
        differences.append(Difference(name, UNSET, value, "injected", reason, module_vars[name].sensitive))
    check_identifiers(tfvars, sources, guards, first=tuple(injected))
    differences += secret_differences(guards)
    return Rendered(tfvars=tfvars, differences=tuple(differences), digest=inputs_digest(baseline, overrides))
