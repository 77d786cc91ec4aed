"""The data operations a use case calls: plan, seed, reset, and the nightly refresh question.

Each takes the same inputs: the stack's outputs (name -> value, or Terraform's `{"value": ...}`),
the stack id, the parsed datasets, an `Aws` (None when no dataset needs it), a PostgreSQL DSN
(None when no dataset is `postgres`) and the versions recorded by the last run. Keyword-only: the
anonymisation `secret` (bytes, from the caller's secret source) and `expected_tags` (against real
AWS: the stack's tags; every target must carry them before anything is written).

Compute, then act: `plan` writes nothing; `seed` and `reset` first resolve every store, check its
tags and shape, generate every dataset into the spool through the privacy check, and only then
write. A refusal at any of those steps leaves every store as it was.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

from ..errors import ProvisionerError
from ._aws import Aws
from .anonymise import survey
from .keyed import Keyed, seed_for
from .run import Run, Spooled, describe_rules
from .sources import source_digest
from .spec import Datasets, DatasetSpec, Scale
from .synthetic import scenario_rows
from .tags import check_target_tags
from .versions import DatasetVersion

Action = Literal["load", "reload", "up to date"]


class DatasetPlan(msgspec.Struct, frozen=True, kw_only=True):
    """One dataset as `plan` shows it. `keep_fields` is listed apart so a reviewer sees exactly
    which production values reach staging unchanged."""

    name: str
    reason: str
    kind: str
    source: str
    store: str
    rows: int | None
    production_rows: int | None
    rules: dict[str, str]
    keep_fields: tuple[str, ...]
    refresh: str
    digest: str
    action: Action


class DataPlan(msgspec.Struct, frozen=True):
    datasets: tuple[DatasetPlan, ...]


class DataDifference(msgspec.Struct, frozen=True, kw_only=True):
    """One dataset as a difference from production, for `diff` and the PR comment."""

    dataset: str
    production: str
    staging: str
    reason: str


def differences(specs: Datasets) -> tuple[DataDifference, ...]:
    """What staging holds instead of production's data, per dataset, with its reason. Reads no
    export: cheap enough for every `diff`."""
    out = []
    for s in specs.specs:
        if s.source == "synthetic":
            staging = f"synthetic, {s.row_count()} rows"
            production = f"{s.rows.production} rows" if isinstance(s.rows, Scale) else "production data"
        else:
            subset = s.subset
            share = (f"{subset.sample:.0%} sample" if subset and subset.sample else "all rows") + \
                (f", at most {subset.limit}" if subset and subset.limit else "")
            kept = ", ".join(s.keep_fields()) or "none"
            staging = f"anonymised ({share}); kept as is: {kept}"
            production = Path(str(s.export)).name if not str(s.export).startswith("s3://") else str(s.export)
        out.append(DataDifference(dataset=s.name, production=production, staging=staging,
                                  reason=s.reason))
    return tuple(out)


class SeedResult(msgspec.Struct, frozen=True, kw_only=True):
    """`versions` is the complete map to record (the previous ones with the loaded ones replaced)."""

    loaded: tuple[DatasetVersion, ...]
    skipped: tuple[str, ...]
    emptied: tuple[str, ...]
    versions: dict[str, DatasetVersion]

    @property
    def rows_written(self) -> int:
        return sum(v.rows for v in self.loaded)


def plan(outputs: Mapping[str, Any], stack_id: str, specs: Datasets, aws: Aws | None, dsn: str | None,
         versions: Mapping[str, DatasetVersion], *, secret: bytes, count_rows: bool = True) -> DataPlan:
    """What `seed` would do, with row counts (reading the exports; `count_rows=False` skips that)."""
    run = Run(outputs, stack_id, specs, aws, dsn, Keyed(secret))
    return DataPlan(tuple(_plan_one(run, s, versions.get(s.name), count_rows) for s in specs.specs))


def _plan_one(run: Run, spec: DatasetSpec, old: DatasetVersion | None, count_rows: bool) -> DatasetPlan:
    digest = run.digest(spec)
    action: Action = "up to date" if old and old.digest == digest else "reload" if old else "load"
    production: int | None = None
    if spec.source == "synthetic":
        rows: int | None = (spec.row_count() or 0) + sum(
            1 for _ in scenario_rows(spec, tuple(run.datasets.schemas[spec.name].fields)))
        source = f"synthetic: {Path(str(spec.schema)).name} (seed {seed_for(run.stack_id, spec.name):016x})"
        production = spec.rows.production if spec.rows is not None and not isinstance(spec.rows, int) \
            else None
    else:
        source = f"anonymised: {spec.export} ({spec.format})"
        rows = None
        if count_rows:
            production = survey(spec, run.aws, run.keyed).rows
            rows = _count(run, spec)
    return DatasetPlan(name=spec.name, reason=spec.reason, kind=spec.kind, source=source,
                       store=run.store_name(spec), rows=rows, production_rows=production,
                       rules=describe_rules(spec), keep_fields=spec.keep_fields(),
                       refresh=spec.refresh, digest=digest, action=action)


def _count(run: Run, spec: DatasetSpec) -> int:
    """Rows an anonymised dataset would load: its subset (no rule applied) and its scenarios."""
    from .anonymise import subset_rows

    taken = sum(1 for _ in subset_rows(spec, run.aws, run.keyed, run.parents(spec)))
    return taken + sum(1 for _ in scenario_rows(spec, tuple(spec.fields)))


def seed(outputs: Mapping[str, Any], stack_id: str, specs: Datasets, aws: Aws | None, dsn: str | None,
         versions: Mapping[str, DatasetVersion], *, secret: bytes,
         expected_tags: Mapping[str, str] | None = None, only: Sequence[str] | None = None) -> SeedResult:
    """Load every dataset (of `only`, when given) whose recorded version differs from its current
    one. A dataset loaded at an older version has its old rows removed first. Seeding twice writes
    nothing the second time. The others stay in `specs`: a chosen one may refer to them."""
    run = Run(outputs, stack_id, specs, aws, dsn, Keyed(secret))
    todo = [s for s in specs.specs if (only is None or s.name in only)
            and ((old := versions.get(s.name)) is None or old.digest != run.digest(s))]
    skipped = tuple(s.name for s in specs.specs if (only is None or s.name in only) and s not in todo)
    loaded = _write(run, todo, expected_tags, empty_stores=False, previous=versions)
    return SeedResult(loaded=loaded, skipped=skipped, emptied=(),
                      versions={**versions, **{v.dataset: v for v in loaded}})


def reset(outputs: Mapping[str, Any], stack_id: str, specs: Datasets, aws: Aws | None, dsn: str | None,
          versions: Mapping[str, DatasetVersion], *, secret: bytes,
          expected_tags: Mapping[str, str] | None = None, only: Sequence[str] | None = None) -> SeedResult:
    """Empty the stores of the chosen datasets (all by default) and load their pristine data. A
    store shared by several datasets (one DynamoDB table) is emptied whole, hand-made items
    included, and every dataset in it is loaded again: that is what makes it pristine."""
    run = Run(outputs, stack_id, specs, aws, dsn, Keyed(secret))
    chosen = set(only) if only is not None else set(specs.names)
    unknown = sorted(chosen - set(specs.names))
    if unknown:
        from .errors import DataSpecError

        raise DataSpecError("reset", unknown[0], "", "no such dataset")
    stores = {run.store_name(s) for s in specs.specs if s.name in chosen}
    todo = [s for s in specs.specs if run.store_name(s) in stores]
    loaded = _write(run, todo, expected_tags, empty_stores=True, previous=versions)
    return SeedResult(loaded=loaded, skipped=(), emptied=tuple(sorted(stores)),
                      versions={**versions, **{v.dataset: v for v in loaded}})


def _write(run: Run, todo: list[DatasetSpec], expected_tags: Mapping[str, str] | None, *,
           empty_stores: bool, previous: Mapping[str, DatasetVersion]) -> tuple[DatasetVersion, ...]:
    if not todo:
        return ()
    stores = {s.name: run.store(s) for s in todo}
    if expected_tags is not None and run.aws is not None:
        check_target_tags(run.aws, {(s.kind, run.output(s)) for s in todo}, expected_tags)
    for store in stores.values():
        store.validate()
    with tempfile.TemporaryDirectory(prefix="provisioner-data-") as tmp:
        spooled = [run.spool(s, Path(tmp)) for s in todo]          # every privacy check first
        emptied: set[str] = set()
        out = []
        for spec, spool in zip(todo, spooled, strict=True):
            store = stores[spec.name]
            if empty_stores and run.store_name(spec) not in emptied:
                store.empty()
                emptied.add(run.store_name(spec))
            elif not empty_stores and spec.name in previous:
                store.remove()
            out.append(_load(run, spec, store, spool))
    return tuple(out)


def _load(run: Run, spec: DatasetSpec, store: Any, spool: Spooled) -> DatasetVersion:
    started = time.time()
    written = store.load(spool.read())
    return DatasetVersion(dataset=spec.name, digest=run.digest(spec), kind=spec.kind,
                          store=run.store_name(spec), rows=written,
                          source_digest=run.source_digest(spec),
                          seed=f"{seed_for(run.stack_id, spec.name):016x}",
                          content_digest=spool.content_digest, loaded_at=started,
                          load_seconds=round(time.time() - started, 3))


def source_changed(spec: DatasetSpec, version: DatasetVersion, aws: Aws | None,
                   seen: dict[str, Any] | None = None) -> bool:
    """Whether an anonymised dataset's export changed since `version` was loaded (a local file's
    sha256, an S3 object's ETag). Synthetic data has no outside source: never. ``seen`` keeps each
    export's digest (or the error reading it) for the next call: one night's plan reads every
    export once, not once per stack."""
    if spec.source == "synthetic":
        return False
    if seen is None:
        return source_digest(spec, aws) != version.source_digest
    if spec.name not in seen:
        try:
            seen[spec.name] = source_digest(spec, aws)
        except ProvisionerError as exc:
            seen[spec.name] = exc
    found = seen[spec.name]
    if isinstance(found, ProvisionerError):
        raise found
    return bool(found != version.source_digest)


def due_for_refresh(specs: Datasets, versions: Mapping[str, DatasetVersion], aws: Aws | None,
                    seen: dict[str, Any] | None = None) -> list[str]:
    """Datasets with `refresh = "nightly"` whose export changed: the nightly job seeds these."""
    return [s.name for s in specs.specs if s.refresh == "nightly" and s.name in versions
            and source_changed(s, versions[s.name], aws, seen)]
