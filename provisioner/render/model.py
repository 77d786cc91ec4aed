"""The values of a render: the baseline, overrides, module variables, the context of a stack,
and what comes out (``Rendered``: tfvars, differences, digest). Pure data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from provisioner.domain.difference import Difference
from provisioner.domain.naming import StackId

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
JSON_MARKER_KEY = "//production_only"
MAX_TEMPLATE_OUTPUT = 64 * 1024
MAX_DEPTH = 64

# Keys each rule accepts besides "rule" and "reason", and which of them it requires.
RULE_KEYS: Mapping[str, frozenset[str]] = MappingProxyType({
    "scale": frozenset({"factor", "min", "max", "round"}),
    "set": frozenset({"value"}),
    "template": frozenset({"template"}),
    "drop": frozenset(),
    "merge": frozenset({"value"}),
})

REQUIRED: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "scale": ("factor",), "set": ("value",), "template": ("template",), "drop": (), "merge": ("value",),
})

ROUNDING = ("ceil", "floor", "round", "none")

# Rules that replace a production-only value outright (scale would stay derived from it).
PRODUCTION_ONLY_RULES = frozenset({"set", "template", "drop"})


@dataclass(frozen=True)
class Baseline:
    """A parsed production variable file."""

    path: str
    values: dict
    production_only: dict[str, str]


@dataclass(frozen=True)
class Override:
    """One declared staging override. ``params`` holds the rule's own keys."""

    variable: str
    rule: str
    reason: str
    params: Mapping = field(default_factory=lambda: MappingProxyType({}))
    source: str = "overrides"


@dataclass(frozen=True)
class ModuleVariable:
    """One ``variable`` block of the root module. ``type`` is normalised, e.g. ``list(string)``."""

    name: str
    type: str | None
    has_default: bool
    default: Any
    sensitive: bool
    description: str


@dataclass(frozen=True)
class RenderContext:
    """What templates may use besides the production value."""

    stack: StackId
    pr: int | None
    owner: str


@dataclass(frozen=True)
class Guards:
    """The safety settings a render enforces (from the config's ``[production]`` and ``[secrets]``).

    ``identifiers``: production strings no staging variable may contain, anywhere (nested values,
    map keys, substrings; compared case-insensitively). ``secrets``: sensitive variable -> source
    (``env:NAME`` ...); such variables reach Terraform as ``TF_VAR_<name>``, never through a file.
    ``source`` names the config file in messages.
    """

    identifiers: tuple[str, ...] = ()
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "config"


@dataclass(frozen=True)
class Rendered:
    """The staging variables, how they differ from production, and a digest of the inputs."""

    tfvars: dict
    differences: tuple[Difference, ...]
    digest: str
    notes: tuple[str, ...] = ()   # warnings for the user (stderr), never part of the variables


NO_GUARDS = Guards()
