"""What plan, seed and reset share: one `Run` (the stack's outputs, id, datasets, AWS, DSN, key)
that resolves each dataset's store, version digest and row stream.

Rows go through a spool before anything is written: every dataset of the run is generated or
anonymised into a private temporary file (JSON Lines, mode 0600 in a 0700 directory) and passes
the privacy check there; only then is the first store written. Memory stays at one row plus the
fingerprints of the export's values; the spool costs disk, about the size of the data.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ._aws import Aws
from .anonymise import anonymised_rows, kept_keys, survey
from .errors import LoadError, PrivacyError, TargetError
from .fakes import faker_version
from .keyed import Keyed, seed_for
from .loaders import Columns, Row, Store
from .privacy import PrivacyCheck
from .rules import Transformer
from .rules_spec import Ref
from .sources import source_digest
from .spec import Datasets, DatasetSpec
from .synthetic import chunk_count
from .versions import version_digest

WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Spooled:
    """A dataset's checked rows on disk, in load order (one file, or a worker's file per chunk)."""

    dataset: str
    paths: tuple[Path, ...]
    rows: int
    content_digest: str

    def read(self) -> Iterator[Row]:
        decoder = msgspec.json.Decoder()
        for path in self.paths:
            with path.open("rb") as f:
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
        if spec.source == "synthetic" and chunk_count(spec) > 1 and WORKERS > 1:
            return self._spool_parallel(spec, directory)
        rows, check = self.rows(spec)
        path = directory / f"{spec.name}.jsonl"
        _write_checked(rows, check, path)
        return Spooled(spec.name, (path,), check.rows, _digest((path,)))

    def _spool_parallel(self, spec: DatasetSpec, directory: Path) -> Spooled:
        """A synthetic dataset's chunks made by worker processes (one per core, worker.py), then its
        scenarios here. Chunk c always has the same rows, so the spool equals one process's."""
        from .synthetic import scenario_rows

        chunks = chunk_count(spec)
        paths = [directory / f"{spec.name}.{c:05d}.jsonl" for c in range(chunks)]
        results = _run_workers(spec, self.datasets, self.stack_id, paths, min(WORKERS, chunks))
        for r in sorted(results, key=lambda r: r.chunk):
            if r.refusal is not None:
                raise PrivacyError(spec.name, *r.refusal)
        rows = sum(r.rows for r in results)
        check = PrivacyCheck(spec.name, offset=rows)
        tail = directory / f"{spec.name}.scenarios.jsonl"
        _write_checked(scenario_rows(spec, tuple(self.datasets.schemas[spec.name].fields)), check, tail)
        every = (*paths, tail)
        return Spooled(spec.name, every, check.rows, _digest(every))


def _run_workers(spec: DatasetSpec, datasets: Datasets, stack_id: str, paths: list[Path],
                 workers: int) -> list[Any]:
    """Chunk c goes to worker c % workers; every worker runs at once; results come back as JSON."""
    import subprocess
    import sys

    from .worker import ChunkResult, Job

    root = str(Path(__file__).resolve().parents[2])      # the package's own copy, not another one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    procs = []
    for w in range(workers):
        mine = list(range(w, len(paths), workers))
        job_file = paths[0].parent / f"{spec.name}.job-{w}.json"
        job_file.write_bytes(msgspec.json.encode(Job(spec, datasets, stack_id, mine,
                                                     [str(paths[c]) for c in mine])))
        with job_file.open("rb") as stdin:
            procs.append(subprocess.Popen([sys.executable, "-m", "provisioner.data.worker"], stdin=stdin,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
    results: list[Any] = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise LoadError(spec.name, "the spool", f"a generation worker exited {proc.returncode}: "
                            f"{err.decode(errors='replace').strip()[-1500:]}")
        results += msgspec.json.decode(out, type=list[ChunkResult])
    return results


def _write_checked(rows: Iterator[Row], check: PrivacyCheck, path: Path) -> None:
    encoder = msgspec.json.Encoder()
    with path.open("wb") as out:
        for row in rows:
            check.check(row)
            out.write(encoder.encode(row) + b"\n")


def _digest(paths: tuple[Path, ...]) -> str:
    """sha256 over the rows in load order: equal for equal data, however it was chunked."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as f:
            while chunk := f.read(1 << 16):
                digest.update(chunk)
    return digest.hexdigest()


def describe_rules(spec: DatasetSpec) -> dict[str, str]:
    from .rules_spec import describe

    return {f: describe(r) for f, r in spec.fields.items()}

