"""What plan, seed and reset share: one `Run` (the stack's outputs, id, datasets, AWS, DSN, key)
that resolves each dataset's store, version digest and row stream.

Rows go through a spool before anything is written: every dataset of the run is generated or
anonymised into a private temporary file (JSON Lines, mode 0600 in a 0700 directory) and passes
the privacy check there; only then is the first store written. Memory stays at one row plus the
fingerprints of the export's values; the spool costs disk, about the size of the data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ..aws import Aws
from .anonymise import anonymised_rows, kept_keys, survey
from .errors import TargetError
from .fakes import faker_version
from .keyed import Keyed, seed_for
from .loaders import Columns, Row, Store
from .privacy import PrivacyCheck
from .rules import Transformer
from .rules_spec import Ref
from .sources import source_digest
from .spec import Datasets, DatasetSpec
from .versions import version_digest


@dataclass(frozen=True)
class Spooled:
    dataset: str
    path: Path
    rows: int
    content_digest: str

    def read(self) -> Iterator[Row]:
        decoder = msgspec.json.Decoder()
        with self.path.open("rb") as f:
            for line in f:
                yield decoder.decode(line)


@dataclass
class Run:
    outputs: Mapping[str, Any]
    stack_id: str
    datasets: Datasets
    aws: Aws | None
    dsn: str | None
    keyed: Keyed
    _kept: dict[str, set[int]] = field(default_factory=dict)
    _sources: dict[str, str] = field(default_factory=dict)

    def output(self, spec: DatasetSpec) -> str:
        value = self.outputs.get(spec.target)
        if isinstance(value, dict) and "value" in value:   # `terraform output -json` shape
            value = value["value"]
        if not isinstance(value, str) or not value:
            raise TargetError(spec.name, spec.target, "no such stack output (or not a string); outputs: "
                              + ", ".join(sorted(self.outputs)))
        return value

    def store_name(self, spec: DatasetSpec) -> str:
        if spec.kind == "dynamodb":
            return f"dynamodb:{self.output(spec)}"
        if spec.kind == "s3":
            return f"s3://{self.output(spec)}/{spec.prefix}"
        return f"postgres:{self.output(spec)}/{spec.table}"

    def store(self, spec: DatasetSpec) -> Store:
        name = self.output(spec)
        if spec.kind in ("dynamodb", "s3") and self.aws is None:
            raise TargetError(spec.name, spec.target, f"a {spec.kind} dataset needs AWS access")
        if spec.kind == "dynamodb":
            from .loaders.dynamodb import DynamoStore

            assert self.aws is not None
            return DynamoStore(self.aws, name, spec.name, spec.keys)
        if spec.kind == "s3":
            from .loaders.s3 import S3Store

            assert self.aws is not None
            return S3Store(self.aws, name, str(spec.prefix), spec.name, object_format=spec.object_format,
                           rows_per_object=spec.rows_per_object, columns=self.columns(spec))
        if self.dsn is None:
            raise TargetError(spec.name, spec.target, "a postgres dataset needs a PostgreSQL DSN")
        from .loaders.postgres import PostgresStore

        return PostgresStore(self.dsn, name, str(spec.table), spec.name, self.columns(spec))

    def columns(self, spec: DatasetSpec) -> Columns:
        if spec.source == "synthetic":
            schema = self.datasets.schemas[spec.name]
            return [(f, g.column_type()) for f, g in schema.fields.items()]
        return [(f, r.type or self._ref_type(r)) for f, r in spec.fields.items()]

    def _ref_type(self, rule: Any) -> str:
        if isinstance(rule, Ref) and self.datasets.get(rule.dataset).source == "synthetic":
            parent = self.datasets.schemas[rule.dataset]
            return parent.fields[parent.key].column_type()
        return "text"

    def source_digest(self, spec: DatasetSpec) -> str:
        if spec.source == "synthetic":
            return "synthetic"
        if spec.name not in self._sources:
            self._sources[spec.name] = source_digest(spec, self.aws)
        return self._sources[spec.name]

    def digest(self, spec: DatasetSpec) -> str:
        return version_digest(spec, store=self.store_name(spec), source_digest=self.source_digest(spec),
                              seed=seed_for(self.stack_id, spec.name), count=spec.row_count(),
                              key_tag=self.keyed.version_tag(),
                              faker=faker_version() if spec.source == "synthetic" else "")

    def parents(self, spec: DatasetSpec) -> dict[str, set[int]]:
        """Kept keys of each anonymised dataset `spec` refers to (computed once per run)."""
        out: dict[str, set[int]] = {}
        for r in spec.fields.values():
            if isinstance(r, Ref) and self.datasets.get(r.dataset).source == "anonymised":
                parent = self.datasets.get(r.dataset)
                if parent.name not in self._kept:
                    self._kept[parent.name] = kept_keys(parent, self.aws, self.keyed, self.parents(parent))
                out[parent.name] = self._kept[parent.name]
        return out

    def rows(self, spec: DatasetSpec) -> tuple[Iterator[Row], PrivacyCheck]:
        """The dataset's rows to load and the privacy check they must pass."""
        if spec.source == "synthetic":
            from .synthetic import synthetic_rows

            return synthetic_rows(spec, self.datasets, self.stack_id), PrivacyCheck(spec.name)
        found = survey(spec, self.aws, self.keyed)
        transformer = Transformer(spec, self.keyed, sensitive=set(found.sensitive),
                                  synthetic_refs=self._synthetic_refs(spec),
                                  parent_rules=self._parent_rules(spec))
        check = PrivacyCheck(spec.name, self.keyed, set(found.sensitive), spec.keep_fields())
        return anonymised_rows(spec, self.aws, transformer, self.parents(spec)), check

    def _synthetic_refs(self, spec: DatasetSpec) -> dict[str, tuple[Any, int, int]]:
        out = {}
        for r in spec.fields.values():
            if isinstance(r, Ref) and self.datasets.get(r.dataset).source == "synthetic":
                target = self.datasets.get(r.dataset)
                out[r.dataset] = (self.datasets.schemas[r.dataset], seed_for(self.stack_id, r.dataset),
                                  target.row_count() or 0)
        return out

    def _parent_rules(self, spec: DatasetSpec) -> dict[str, Any]:
        out = {}
        for r in spec.fields.values():
            if isinstance(r, Ref) and self.datasets.get(r.dataset).source == "anonymised":
                parent = self.datasets.get(r.dataset)
                out[r.dataset] = parent.fields[str(parent.key)]
        return out

    def spool(self, spec: DatasetSpec, directory: Path) -> Spooled:
        """Generate or anonymise into the spool, checking every row; raises before any write."""
        rows, check = self.rows(spec)
        path = directory / f"{spec.name}.jsonl"
        digest = hashlib.sha256()
        encoder = msgspec.json.Encoder()
        with path.open("wb") as out:
            for row in rows:
                check.check(row)
                line = encoder.encode(row) + b"\n"
                digest.update(line)
                out.write(line)
        return Spooled(spec.name, path, check.rows, digest.hexdigest())


def describe_rules(spec: DatasetSpec) -> dict[str, str]:
    from .rules_spec import describe

    return {f: describe(r) for f, r in spec.fields.items()}

