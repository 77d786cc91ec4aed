"""Anonymised rows from an export: survey it, take a referentially whole subset, apply the rules.

Three streaming passes over the export, none holding rows:
1. `survey`: counts the rows, refuses any field no rule names (before anything is written) and
   collects keyed fingerprints of the values of non-keep fields, which fakes must avoid and the
   privacy check compares against.
2. `kept_keys`: for a dataset others refer to, the fingerprints of the keys its subset keeps.
3. `anonymised_rows`: the subset (a row is taken only if every anonymised dataset it refers to
   kept the referenced key, so no reference dangles), each row through the rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._aws import Aws
from .errors import UnclassifiedField
from .keyed import Keyed, canonical
from .privacy import exact_candidate
from .rules import Transformer
from .rules_spec import Ref
from .sources import read_rows
from .spec import DatasetSpec
from .synthetic import scenario_rows


@dataclass(frozen=True)
class Survey:
    rows: int
    sensitive: frozenset[int]


def survey(spec: DatasetSpec, aws: Aws | None, keyed: Keyed) -> Survey:
    keep = set(spec.keep_fields())
    sensitive: set[int] = set()
    count = 0
    for count, row in enumerate(read_rows(spec, aws), 1):
        for field, value in row.items():
            if field not in spec.fields:
                raise UnclassifiedField(spec.name, field, count)
            if field not in keep and exact_candidate(value):
                sensitive.add(keyed.fingerprint(value))
    return Survey(rows=count, sensitive=frozenset(sensitive))


def subset_rows(spec: DatasetSpec, aws: Aws | None, keyed: Keyed,
                parents: Mapping[str, set[int]]) -> Iterator[dict[str, Any]]:
    """The export rows the subset takes, in export order. `parents`: per referenced anonymised
    dataset, the fingerprints of its kept keys."""
    sample = spec.subset.sample if spec.subset else None
    limit = spec.subset.limit if spec.subset else None
    refs = [(f, r.dataset) for f, r in spec.fields.items() if isinstance(r, Ref) and r.dataset in parents]
    taken = 0
    for row in read_rows(spec, aws):
        if limit is not None and taken >= limit:
            return
        if sample is not None and keyed.fraction(f"sample:{spec.name}", row.get(str(spec.key))) >= sample:
            continue
        if any(row.get(f) is not None and keyed.fingerprint(canonical(row[f])) not in parents[d]
               for f, d in refs):
            continue
        taken += 1
        yield row


def kept_keys(spec: DatasetSpec, aws: Aws | None, keyed: Keyed,
              parents: Mapping[str, set[int]]) -> set[int]:
    return {keyed.fingerprint(canonical(row.get(str(spec.key))))
            for row in subset_rows(spec, aws, keyed, parents)}


def anonymised_rows(spec: DatasetSpec, aws: Aws | None, transformer: Transformer,
                    parents: Mapping[str, set[int]]) -> Iterator[dict[str, Any]]:
    for row in subset_rows(spec, aws, transformer.keyed, parents):
        yield transformer.row(row)
    yield from scenario_rows(spec, tuple(spec.fields))
