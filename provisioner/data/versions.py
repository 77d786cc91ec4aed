"""Dataset versions: what was loaded, as a value the registry record can hold.

A version digest covers everything that decides the loaded rows: the spec (minus its reason and
the absolute paths of this checkout), the content of the schema and scenario files, the source's
digest, the seed, the row count, a tag of the anonymisation key and the Faker version. Equal
digest, equal data: `seed` skips a dataset whose recorded digest matches.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from .spec import DatasetSpec

FORMAT = 1


class DatasetVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One loaded dataset. `content_digest` is sha256 over the loaded rows in load order."""

    dataset: str
    digest: str
    kind: str
    store: str
    rows: int
    source_digest: str
    seed: str
    content_digest: str
    loaded_at: float
    load_seconds: float


def version_digest(spec: DatasetSpec, *, store: str, source_digest: str, seed: int, count: int | None,
                   key_tag: str, faker: str) -> str:
    shape = msgspec.to_builtins(msgspec.structs.replace(spec, reason="", schema=None, scenarios=None,
                                                        export=None, refresh="never"))
    files = {attr: _file(getattr(spec, attr)) for attr in ("schema", "scenarios")}
    doc = {"format": FORMAT, "spec": shape, "files": files, "store": store, "source": source_digest,
           "seed": f"{seed:016x}", "count": count, "key": key_tag, "faker": faker}
    return hashlib.sha256(msgspec.json.encode(doc, order="sorted")).hexdigest()


def _file(path: str | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None


def to_record(versions: dict[str, DatasetVersion]) -> dict[str, object]:
    """Plain JSON-able values for the registry record."""
    return {k: msgspec.to_builtins(v) for k, v in versions.items()}


def from_record(data: dict[str, object]) -> dict[str, DatasetVersion]:
    return {k: msgspec.convert(v, DatasetVersion) for k, v in data.items()}
