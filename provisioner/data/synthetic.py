"""Synthetic rows, streamed: a dataset's schema, its seed, then its scenario rows as written.

Determinism: rows come in chunks of CHUNK; each chunk has its own Faker and `random.Random`,
both seeded from (stack id, dataset name, chunk number) and drawn in a fixed order, so the n-th row
of a stack's dataset is the same on every run, however many processes make the chunks. Keys are a
pure function of the row index (sequence or uuid), so another dataset can point at an existing key
(`gen = "ref"`) without generating, or holding, the referenced dataset.

Generation is CPU-bound (Faker is ~80% of it): `spool_chunk` makes one chunk in a worker process
(worker.py), so a big dataset is generated on every core while the stores wait (run.Run.spool).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import msgspec

from .errors import DataSpecError
from .fakes import MAKERS, new_faker
from .keyed import seed_for
from .schema import Gen, Schema
from .spec import Datasets, DatasetSpec

Row = dict[str, Any]
CHUNK = 10_000


def key_at(schema: Schema, seed: int, index: int) -> Any:
    """The key of row `index` of a synthetic dataset, without generating the row."""
    gen = schema.fields[schema.key]
    if gen.gen == "sequence":
        n = int(gen.start if gen.start is not None else 1) + index * gen.step
        return gen.format.format(n) if gen.format else n
    digest = hashlib.sha256(f"{seed}\0{index}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def chunk_count(spec: DatasetSpec) -> int:
    return -(-(spec.row_count() or 0) // CHUNK)


def synthetic_rows(spec: DatasetSpec, datasets: Datasets, stack_id: str) -> Iterator[Row]:
    """Generated rows, then the scenario rows. Streams: one row in memory at a time."""
    for chunk in range(chunk_count(spec)):
        yield from generated_rows(spec, datasets, stack_id, chunk)
    yield from scenario_rows(spec, tuple(datasets.schemas[spec.name].fields))


def generated_rows(spec: DatasetSpec, datasets: Datasets, stack_id: str, chunk: int) -> Iterator[Row]:
    """Rows chunk * CHUNK up to (chunk + 1) * CHUNK of the dataset."""
    schema = datasets.schemas[spec.name]
    seed = seed_for(stack_id, spec.name)
    chunk_seed = int.from_bytes(hashlib.sha256(f"{seed}\0chunk\0{chunk}".encode()).digest()[:8], "big")
    fake = new_faker(schema.locale)
    fake.seed_instance(chunk_seed)
    rng = Random(chunk_seed)
    refs = _ref_targets(schema, datasets, stack_id)
    for index in range(chunk * CHUNK, min(spec.row_count() or 0, (chunk + 1) * CHUNK)):
        row: Row = {}
        for name, gen in schema.fields.items():
            if name == schema.key:
                row[name] = key_at(schema, seed, index)
            elif gen.nulls and rng.random() < gen.nulls:
                row[name] = None
            else:
                row[name] = _value(gen, fake, rng, refs)
        yield row


def spool_chunk(spec: DatasetSpec, datasets: Datasets, stack_id: str, chunk: int,
                path: str) -> tuple[int, tuple[int, str, str] | None]:
    """Write one chunk to `path` through the privacy check (in a worker process). Returns the row
    count, or the finding (row, field, kind) that refuses it: errors with fields do not pickle."""
    import msgspec

    from .errors import PrivacyError
    from .privacy import PrivacyCheck

    check = PrivacyCheck(spec.name, offset=chunk * CHUNK)
    encoder = msgspec.json.Encoder()
    with open(path, "wb") as out:
        for row in generated_rows(spec, datasets, stack_id, chunk):
            try:
                check.check(row)
            except PrivacyError as exc:
                return 0, (exc.row, exc.field, exc.finding)
            out.write(encoder.encode(row) + b"\n")
    return check.rows - chunk * CHUNK, None


def _ref_targets(schema: Schema, datasets: Datasets,
                 stack_id: str) -> dict[str, tuple[Schema, int, int]]:
    out: dict[str, tuple[Schema, int, int]] = {}
    for gen in schema.fields.values():
        if gen.gen == "ref" and gen.dataset:
            target = datasets.get(gen.dataset)
            out[gen.dataset] = (datasets.schemas[gen.dataset], seed_for(stack_id, gen.dataset),
                                target.row_count() or 0)
    return out


def _value(gen: Gen, fake: Any, rng: Random, refs: dict[str, tuple[Schema, int, int]]) -> Any:
    kind = gen.gen
    if kind in MAKERS:
        return MAKERS[kind](fake, rng)
    if kind == "integer":
        return rng.randint(int(gen.min or 0), int(gen.max if gen.max is not None else 1000))
    if kind == "number":
        return round(rng.uniform(gen.min or 0.0, gen.max if gen.max is not None else 1000.0),
                     gen.decimals)
    if kind == "boolean":
        return rng.random() < gen.p
    if kind == "choice":
        assert gen.choices
        return rng.choices(list(gen.choices), weights=list(gen.choices.values()))[0]
    if kind == "date":
        start, end = _day(gen.start), _day(gen.end)
        return (start + timedelta(days=rng.randint(0, (end - start).days))).isoformat()
    if kind == "datetime":
        t0 = datetime.combine(_day(gen.start), datetime.min.time(), UTC)
        span = int((datetime.combine(_day(gen.end), datetime.min.time(), UTC) - t0)
                   .total_seconds())
        return (t0 + timedelta(seconds=rng.randint(0, span))).isoformat()
    if kind == "ref":
        schema, seed, count = refs[str(gen.dataset)]
        return key_at(schema, seed, rng.randrange(count)) if count else None
    if kind == "constant":
        return gen.value
    raise AssertionError(f"generator {kind} has no implementation")  # schema.GENERATORS is the list


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def scenario_rows(spec: DatasetSpec, columns: tuple[str, ...]) -> Iterator[Row]:
    """Hand-written rows (JSON Lines), appended as they are. A line may also be
    `{"$repeat": 500, "$row": {...}}`: the row 500 times, `{n}` in its strings replaced by 1..500
    (a customer with 500 orders is one line, not 500)."""
    if spec.scenarios is None:
        return
    path = Path(spec.scenarios)
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise DataSpecError(str(path), spec.name, "scenarios", "scenario file not found") from exc
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = msgspec.json.decode(line)
            except msgspec.DecodeError as exc:
                raise DataSpecError(f"{path}:{number}", spec.name, "scenarios",
                                    f"not a JSON object: {exc}") from exc
            yield from _expand(row, path, number, spec.name, columns)


def _expand(row: Any, path: Path, number: int, dataset: str, columns: tuple[str, ...]) -> Iterator[Row]:
    repeat = 1
    if isinstance(row, dict) and "$repeat" in row:
        repeat, row = int(row["$repeat"]), row.get("$row")
    if not isinstance(row, dict):
        raise DataSpecError(f"{path}:{number}", dataset, "scenarios", "each line is one JSON object")
    unknown = [k for k in row if k not in columns]
    if unknown:
        raise DataSpecError(f"{path}:{number}", dataset, "scenarios",
                            f"field '{unknown[0]}' is not a field of the dataset")
    for n in range(1, repeat + 1):
        yield {k: (v.replace("{n}", str(n)) if isinstance(v, str) and repeat > 1 else v)
               for k, v in row.items()}
