"""What a render refuses: sensitive variables set in files, production identifiers in any value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from provisioner.domain.difference import UNSET, Difference
from provisioner.errors import RenderError
from provisioner.render.model import Baseline, Guards, ModuleVariable, Override
from provisioner.render.values import is_number, suggest


def secret_differences(guards: Guards) -> list[Difference]:
    """One masked row per configured secret, so reviewers see where each one comes from."""
    return [Difference(name, UNSET, source, "secret", f"Terraform gets TF_VAR_{name} from {source}; "
                       "never written to a file", sensitive=True)
            for name, source in sorted(guards.secrets.items())]


def check_sensitive(baseline: Baseline, overrides: tuple[Override, ...],
                     module_vars: Mapping[str, ModuleVariable], guards: Guards) -> None:
    """A secret never goes through the baseline or an override: they end up in files and reports."""
    for name in guards.secrets:
        if name not in module_vars:
            raise RenderError(f"{guards.source} [secrets]", name, "the root module declares no such "
                                                                  "variable", suggest(name, module_vars))
    sensitive = {name for name, v in module_vars.items() if v.sensitive} | set(guards.secrets)
    in_baseline = sorted(sensitive & set(baseline.values))
    if in_baseline:
        name = in_baseline[0]
        raise RenderError(baseline.path, name, "is sensitive: a secret never goes in the baseline (it would "
                                               f"be copied into the rendered files); {_secret_hint(name)}")
    for override in overrides:
        if override.variable in sensitive:
            raise RenderError(override.source, override.variable, "is sensitive: an override would write "
                                                                  "it into the rendered files; "
                                                                  + _secret_hint(override.variable))


def _secret_hint(name: str) -> str:
    return (f"remove it and give it a source in [secrets]: {name} = \"env:NAME\", \"ssm:/path\" or "
            "\"secretsmanager:name\"")


def _identifier_in(value: Any, needles: Mapping[str, str], path: str) -> tuple[str, str] | None:
    """(path, identifier) of the first production identifier inside ``value``, else None."""
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}[{json.dumps(key, ensure_ascii=False)}]"
            found = _identifier_in(str(key), needles, f"{inner} (the key)") or \
                _identifier_in(item, needles, inner)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _identifier_in(item, needles, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, str) or is_number(value):
        text = str(value).casefold()
        for folded, shown in needles.items():
            if folded in text:
                return path, shown
    return None


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [str(value)] if isinstance(value, str) or is_number(value) else []


def find_identifier(value: Any, identifiers: tuple[str, ...], path: str) -> tuple[str, str] | None:
    """(path, identifier) of the first production identifier in ``value``: in any string, number or
    map key inside it, or spread over its items (list items and map values joined, in order, with
    nothing and with a space between), compared case-insensitively; else None."""
    needles = {ident.casefold(): ident for ident in identifiers if ident}
    if not needles:
        return None
    found = _identifier_in(value, needles, path)
    if found or not isinstance(value, dict | list | tuple):
        return found
    leaves = _leaves(value)
    for joined in ("".join(leaves), " ".join(leaves)):
        hit = _identifier_in(joined, needles, f"{path} (its items joined)")
        if hit:
            return hit
    return None


def check_handed(values: Mapping[str, Any], guards: Guards) -> None:
    """Refuse a production identifier in anything else the tool hands Terraform (exit 2): the
    provider's default tags (branch, owner, PR), the provider settings, the backend settings.
    ``values`` maps where (e.g. "provider default_tags") to the value."""
    for where, value in values.items():
        found = find_identifier(value, guards.identifiers, where)
        if found:
            path, ident = found
            raise RenderError(where, None, f"{path} contains the production identifier {ident!r} "
                                           f"([production] in {guards.source}); staging must never "
                                           "reference production: use another branch name, owner or "
                                           "setting")


def check_identifiers(tfvars: Mapping[str, Any], sources: Mapping[str, str], guards: Guards,
                       first: tuple[str, ...] = ()) -> None:
    """Refuse any production identifier anywhere in the staging variables, naming where it is.

    ``first`` (the injected variables) are checked first: when the stack name holds an identifier,
    that is the cause, not the templates that repeat it."""
    needles = {ident.casefold(): ident for ident in guards.identifiers if ident}
    if not needles:
        return
    for name in sorted(tfvars, key=lambda n: (n not in first, n)):
        found = find_identifier(tfvars[name], guards.identifiers, name)
        if found:
            path, ident = found
            where = "" if path == name else f" at {path}"
            fix = "it is derived from the branch name: use another branch name" if name in first \
                else "override it with a staging value"
            raise RenderError(sources.get(name, "staging variables"), name,
                              f"the staging value{where} contains the production identifier {ident!r} "
                              f"([production] in {guards.source}); staging must never reference "
                              f"production: {fix}")
