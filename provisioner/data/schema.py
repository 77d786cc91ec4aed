"""Schema files of synthetic datasets: one TOML file per dataset, one `[fields.<name>]` per column.

    key = "id"                      # the field other datasets reference
    locale = ["en_US", "de_DE"]     # Faker locales (several give unicode names)
    [fields.id]
    gen = "sequence"                # start, step, format ("C{:06d}")
    [fields.email]
    gen = "email"                   # always at a reserved domain (example.com/.org/.net)
    [fields.tier]
    gen = "choice"
    choices = { free = 70, pro = 25, enterprise = 5 }   # weights
    [fields.customer_id]
    gen = "ref"
    dataset = "customers"           # an existing key of another synthetic dataset

Every field may have `nulls` (the fraction of rows where it is null) and `type` (its PostgreSQL
column type). The file is validated when the config is parsed, so a typo fails before a stack is
touched.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from .errors import DataSpecError
from .rules_spec import ColumnType

# gen -> the options it takes (besides `nulls` and `type`); the generators live in synthetic.py.
GENERATORS: dict[str, tuple[str, ...]] = {
    "sequence": ("start", "step", "format"),
    "uuid": (),
    "name": (), "first_name": (), "last_name": (), "company": (), "user_name": (),
    "email": (), "phone": (), "address": (), "street_address": (), "city": (), "postcode": (),
    "country_code": (), "text": ("max_chars",),
    "date": ("start", "end"), "datetime": ("start", "end"),
    "integer": ("min", "max"), "number": ("min", "max", "decimals"),
    "boolean": ("p",),
    "choice": ("choices",),
    "ref": ("dataset",),
    "constant": ("value",),
}
KEY_GENERATORS = ("sequence", "uuid")   # keys must be computable from the row index alone
DEFAULT_TYPES: dict[str, ColumnType] = {
    "sequence": "bigint", "integer": "bigint", "number": "numeric", "boolean": "boolean",
    "date": "date", "datetime": "timestamptz",
}


class Gen(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    gen: str
    type: ColumnType | None = None
    nulls: float = 0.0
    start: Any = None
    end: Any = None
    step: int = 1
    format: str | None = None
    min: float | None = None
    max: float | None = None
    decimals: int = 2
    p: float = 0.5
    choices: dict[str, float] | None = None
    dataset: str | None = None
    max_chars: int = 80
    value: Any = None

    def column_type(self) -> ColumnType:
        return self.type or DEFAULT_TYPES.get(self.gen, "text")


class Schema(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str
    fields: dict[str, Gen]
    locale: list[str] = msgspec.field(default_factory=lambda: ["en_US"])


def load_schema(path: Path, dataset: str) -> Schema:
    """Read and validate one schema file; errors name the file, the dataset and the field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataSpecError(str(path), dataset, "schema", "schema file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DataSpecError(str(path), dataset, "schema", f"not valid TOML: {exc}") from exc
    _known(raw, ("key", "fields", "locale"), str(path), dataset, "")
    fields = raw.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise DataSpecError(str(path), dataset, "fields", "a schema needs at least one [fields.<name>]")
    for name, f in fields.items():
        if not isinstance(f, dict):
            raise DataSpecError(str(path), dataset, f"fields.{name}", "must be a table with `gen`")
        _check_gen(f, str(path), dataset, f"fields.{name}")
    try:
        schema = msgspec.convert(raw, Schema)
    except msgspec.ValidationError as exc:
        raise DataSpecError(str(path), dataset, _msgspec_path(exc), _msgspec_problem(exc)) from exc
    key = schema.fields.get(schema.key)
    if key is None:
        raise DataSpecError(str(path), dataset, "key", f"'{schema.key}' is not one of the fields",
                            _nearest(schema.key, schema.fields))
    if key.gen not in KEY_GENERATORS:
        raise DataSpecError(str(path), dataset, f"fields.{schema.key}.gen",
                            f"a key field must use one of {', '.join(KEY_GENERATORS)}")
    return schema


def _check_gen(f: dict[str, Any], path: str, dataset: str, where: str) -> None:
    gen = f.get("gen")
    if gen not in GENERATORS:
        raise DataSpecError(path, dataset, f"{where}.gen", f"unknown generator {gen!r}; one of "
                            f"{', '.join(GENERATORS)}", _nearest(str(gen), GENERATORS))
    _known(f, ("gen", "type", "nulls", *GENERATORS[gen]), path, dataset, where)
    if gen == "choice" and not (isinstance(f.get("choices"), dict) and f["choices"]):
        raise DataSpecError(path, dataset, f"{where}.choices", "a choice needs weighted choices")
    if gen == "ref" and not f.get("dataset"):
        raise DataSpecError(path, dataset, f"{where}.dataset", "a ref needs the dataset it points at")
    if gen in ("date", "datetime") and not (f.get("start") and f.get("end")):
        raise DataSpecError(path, dataset, where, f"a {gen} needs `start` and `end`")
    nulls = f.get("nulls", 0)
    if not isinstance(nulls, int | float) or not 0 <= nulls <= 1:
        raise DataSpecError(path, dataset, f"{where}.nulls", "must be a fraction between 0 and 1")


def _known(d: dict[str, Any], allowed: tuple[str, ...] | list[str], path: str, dataset: str,
           where: str) -> None:
    """Refuse keys outside `allowed`, suggesting the nearest valid one."""
    for key in d:
        if key not in allowed:
            at = f"{where}.{key}" if where else key
            raise DataSpecError(path, dataset, at, "unknown key", _nearest(key, allowed))


def _nearest(word: str, choices: Any) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _msgspec_path(exc: msgspec.ValidationError) -> str:
    """The dotted key msgspec's message points at (`$.rows` -> `rows`); a missing field is named."""
    text = str(exc)
    path = ""
    if " - at `$" in text:
        path = text.rsplit(" - at `$", 1)[1].rstrip("`").lstrip(".").replace("[", ".").replace("]", "")
        path = path.replace("'", "").replace('"', "")
    missing = re.match(r"Object missing required field `([^`]+)`", text)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    return path


def _msgspec_problem(exc: msgspec.ValidationError) -> str:
    return str(exc).split(" - at `$", 1)[0]

