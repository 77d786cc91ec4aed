"""Datasets in config: `[data.<name>]` tables as typed, frozen values.

    [data.customers]
    reason = "Synthetic customers: staging never holds a real one."
    kind = "dynamodb"                 # dynamodb | s3 | postgres
    target = "table_name"             # the stack output naming the store
    keys = { pk = "CUSTOMER#{id}", sk = "PROFILE" }
    source = "synthetic"              # synthetic (schema) | anonymised (export + field rules)
    schema = "data/customers.schema.toml"
    rows = { production = 250000, factor = 0.004, min = 100, max = 2000 }   # or rows = 1000

`parse_datasets` validates a dict (loading the file is the config loader's job) and reads the
schema files, so every error is found before a stack is touched; each error names the file, the
dataset and the key, with the nearest valid key for a typo.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from .errors import DataSpecError
from .rules_spec import FAKE_KINDS, RULE_CLASSES, Ref, Rule, rule_name
from .schema import Schema, _known, _msgspec_path, _msgspec_problem, _nearest, load_schema

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "dynamodb-json", ".csv": "csv"}


class Scale(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A row count scaled from production's, like the `scale` override rule."""

    production: Annotated[int, msgspec.Meta(ge=0)]
    factor: Annotated[float, msgspec.Meta(gt=0)]
    min: Annotated[int, msgspec.Meta(ge=0)] = 0
    max: Annotated[int, msgspec.Meta(ge=0)] | None = None
    round: Literal["ceil", "floor", "round"] = "ceil"

    def count(self) -> int:
        raw = self.production * self.factor
        n = math.ceil(raw) if self.round == "ceil" else math.floor(raw) if self.round == "floor" \
            else round(raw)
        n = max(n, self.min)
        return min(n, self.max) if self.max is not None else n


class Subset(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Which rows of an export to take: a fraction (chosen by the keyed hash of the key, so the
    same rows every time) and/or at most `limit` rows."""

    sample: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1)] | None = None


class DatasetSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    reason: Annotated[str, msgspec.Meta(min_length=1)]
    kind: Literal["dynamodb", "s3", "postgres"]
    target: str
    source: Literal["synthetic", "anonymised"]
    rows: Annotated[int, msgspec.Meta(ge=0)] | Scale | None = None
    schema: str | None = None
    export: str | None = None
    format: Literal["jsonl", "csv", "dynamodb-json"] | None = None
    key: str | None = None
    fields: dict[str, Rule] = msgspec.field(default_factory=dict)
    subset: Subset | None = None
    scenarios: str | None = None
    keys: dict[str, str] = msgspec.field(default_factory=dict)
    prefix: str | None = None
    object_format: Literal["jsonl", "csv"] = "jsonl"
    rows_per_object: Annotated[int, msgspec.Meta(ge=1)] = 1000
    table: str | None = None
    refresh: Literal["never", "nightly"] = "never"

    def row_count(self) -> int | None:
        """Rows to generate (synthetic), before scenario rows; None for an export."""
        if self.rows is None:
            return None
        return self.rows if isinstance(self.rows, int) else self.rows.count()

    def keep_fields(self) -> tuple[str, ...]:
        return tuple(f for f, r in self.fields.items() if rule_name(r) == "keep")


class Datasets(msgspec.Struct, frozen=True):
    """All datasets, in dependency order (a referenced dataset before the one that references it),
    with the parsed schema of each synthetic one."""

    specs: tuple[DatasetSpec, ...]
    schemas: dict[str, Schema]

    def get(self, name: str) -> DatasetSpec:
        for s in self.specs:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)


SPEC_KEYS = tuple(k for k in DatasetSpec.__struct_fields__ if k != "name")
_DEFAULTS: dict[str, Any] = {"object_format": "jsonl", "rows_per_object": 1000}


def parse_datasets(data: dict[str, Any], source: str, base_dir: Path) -> Datasets:
    """Validate the `[data]` table of `source`; paths are relative to `base_dir`."""
    if not isinstance(data, dict):
        raise DataSpecError(source, "", "", "[data] must be a table of datasets")
    specs: dict[str, DatasetSpec] = {}
    schemas: dict[str, Schema] = {}
    for name, raw in data.items():
        spec = _parse_one(name, raw, source, base_dir)
        specs[name] = spec
        if spec.schema is not None:
            schemas[name] = load_schema(Path(spec.schema), name)
    for spec in specs.values():
        _check_refs(spec, specs, schemas, source)
    return Datasets(specs=_ordered(specs, schemas, source), schemas=schemas)


def _parse_one(name: str, raw: Any, source: str, base_dir: Path) -> DatasetSpec:
    if not NAME.match(str(name)):
        raise DataSpecError(source, str(name), "", "a dataset name is 1-63 of [a-z0-9_], starting "
                            "with a letter (it names a table)")
    if not isinstance(raw, dict):
        raise DataSpecError(source, name, "", "must be a table")
    _known(raw, SPEC_KEYS, source, name, "")
    raw = dict(raw, name=name)
    if isinstance(raw.get("rows"), dict):
        _known(raw["rows"], Scale.__struct_fields__, source, name, "rows")
    if isinstance(raw.get("subset"), dict):
        _known(raw["subset"], Subset.__struct_fields__, source, name, "subset")
    if isinstance(raw.get("fields"), dict):
        raw["fields"] = {f: _rule_dict(r, source, name, f) for f, r in raw["fields"].items()}
    try:
        spec = msgspec.convert(raw, DatasetSpec)
    except msgspec.ValidationError as exc:
        raise DataSpecError(source, name, _msgspec_path(exc), _msgspec_problem(exc)) from exc
    return _checked(_resolved(spec, base_dir), source)


def _rule_dict(rule: Any, source: str, dataset: str, field: str) -> Any:
    """`"hash"` -> `{"rule": "hash"}`; unknown rules and keys refused with a suggestion."""
    where = f"fields.{field}"
    raw = {"rule": rule} if isinstance(rule, str) else rule
    if not isinstance(raw, dict):
        raise DataSpecError(source, dataset, where, "a rule is a name or a table with `rule`")
    name = raw.get("rule")
    cls = RULE_CLASSES.get(str(name))
    if cls is None:
        raise DataSpecError(source, dataset, where, f"unknown rule {name!r}; one of "
                            f"{', '.join(RULE_CLASSES)}", _nearest(str(name), RULE_CLASSES))
    _known(raw, ("rule", *cls.__struct_fields__), source, dataset, where)
    if name == "fake" and raw.get("kind") not in FAKE_KINDS:
        raise DataSpecError(source, dataset, f"{where}.kind", f"unknown fake kind {raw.get('kind')!r};"
                            f" one of {', '.join(FAKE_KINDS)}", _nearest(str(raw.get("kind")), FAKE_KINDS))
    try:   # one rule at a time: msgspec's path hides dict keys, this names the field
        msgspec.convert({k: v for k, v in raw.items() if k != "rule"}, cls)
    except msgspec.ValidationError as exc:
        inner = _msgspec_path(exc)
        raise DataSpecError(source, dataset, f"{where}.{inner}" if inner else where,
                            _msgspec_problem(exc)) from exc
    return raw


def _resolved(spec: DatasetSpec, base_dir: Path) -> DatasetSpec:
    """Paths made absolute; defaults that depend on the name or the export filled in."""
    changes: dict[str, Any] = {}
    for attr in ("schema", "scenarios"):
        if (value := getattr(spec, attr)) is not None:
            changes[attr] = str((base_dir / value).resolve())
    if spec.export is not None and not spec.export.startswith("s3://"):
        changes["export"] = str((base_dir / spec.export).resolve())
    if spec.export is not None and spec.format is None:
        suffixes = Path(spec.export.removesuffix(".gz")).suffix
        if suffixes in FORMATS:
            changes["format"] = FORMATS[suffixes]
    if spec.kind == "s3" and spec.prefix is None:
        changes["prefix"] = f"{spec.name}/"
    if spec.kind == "postgres" and spec.table is None:
        changes["table"] = spec.name
    return msgspec.structs.replace(spec, **changes) if changes else spec


def _checked(spec: DatasetSpec, source: str) -> DatasetSpec:
    """The combinations msgspec cannot express: what each source and kind needs and forbids."""
    def need(key: str, why: str) -> None:
        if not getattr(spec, key):
            raise DataSpecError(source, spec.name, key, f"required {why}")

    def forbid(keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            value = getattr(spec, key)
            if value != _DEFAULTS[key] if key in _DEFAULTS else bool(value):
                raise DataSpecError(source, spec.name, key, f"not allowed {why}")

    if spec.source == "synthetic":
        need("schema", "for a synthetic dataset (its schema file)")
        if spec.rows is None:
            raise DataSpecError(source, spec.name, "rows", "required for a synthetic dataset")
        forbid(("export", "format", "key", "fields", "subset"), "for a synthetic dataset")
    else:
        for key in ("export", "key", "fields"):
            need(key, "for an anonymised dataset")
        if spec.format is None:
            raise DataSpecError(source, spec.name, "format", "cannot tell the export's format from "
                                "its name: set jsonl, csv or dynamodb-json")
        forbid(("rows", "schema"), "for an anonymised dataset (use subset)")
        if spec.key not in spec.fields:
            raise DataSpecError(source, spec.name, "key", f"'{spec.key}' has no rule in fields",
                                _nearest(str(spec.key), spec.fields))
    if spec.kind == "dynamodb":
        need("keys", "for a dynamodb dataset: the item key attributes as templates")
    else:
        forbid(("keys",), f"for a {spec.kind} dataset")
    if spec.kind != "s3":
        forbid(("prefix", "object_format", "rows_per_object"), f"for a {spec.kind} dataset")
    if spec.kind != "postgres":
        forbid(("table",), f"for a {spec.kind} dataset")
    return spec


def _check_refs(spec: DatasetSpec, specs: dict[str, DatasetSpec], schemas: dict[str, Schema],
                source: str) -> None:
    for target, where in _refs(spec, schemas):
        if target not in specs:
            raise DataSpecError(source, spec.name, where, f"refers to unknown dataset '{target}'",
                                _nearest(target, specs))
        if spec.source == "synthetic" and specs[target].source != "synthetic":
            raise DataSpecError(source, spec.name, where, "a synthetic dataset can refer only to "
                                "another synthetic dataset")
        parent = specs[target]
        rule = parent.fields.get(str(parent.key))
        if rule is not None and rule_name(rule) not in ("keep", "hash"):
            raise DataSpecError(source, target, f"fields.{parent.key}", "a referenced key "
                                "must be keep or hash, so references still match")


def _refs(spec: DatasetSpec, schemas: dict[str, Schema]) -> list[tuple[str, str]]:
    out = [(r.dataset, f"fields.{f}.dataset") for f, r in spec.fields.items() if isinstance(r, Ref)]
    if spec.name in schemas:
        out += [(str(g.dataset), f"fields.{f}.dataset") for f, g in schemas[spec.name].fields.items()
                if g.gen == "ref"]
    return out


def _ordered(specs: dict[str, DatasetSpec], schemas: dict[str, Schema],
             source: str) -> tuple[DatasetSpec, ...]:
    """Referenced datasets first (depth-first); a cycle is refused."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise DataSpecError(source, name, "fields", "references form a cycle")
        visiting.add(name)
        for target, _ in _refs(specs[name], schemas):
            visit(target)
        visiting.discard(name)
        done.append(name)

    for name in specs:
        visit(name)
    return tuple(specs[n] for n in done)

