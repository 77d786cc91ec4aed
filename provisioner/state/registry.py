"""Environment records in a DynamoDB table, written with conditional writes.

One item per stack slug. Every write is conditional on the version the writer
read, so two runs can never both create (or both move) one environment; the
loser gets ``RegistryConflict`` and decides what to do.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import msgspec

from provisioner.aws.clients import Aws
from provisioner.aws.errors import LOST_RACE, NO_TABLE, call
from provisioner.domain.record import Record
from provisioner.errors import AwsError, LockTimeout


class RegistryConflict(LockTimeout):
    """Someone else wrote the record between our read and our write."""


# Item layout: the key and the version (what the conditional writes compare), one JSON document
# with the whole record but its outputs (key and version included), and the outputs in their own
# JSON attribute. A listing that does not need outputs (the nightly cleanup plan) reads the one
# document attribute. DynamoDB's wire format costs per attribute: botocore parses, and the
# emulator's serializer walks, the AttributeValue shape once per attribute; with one attribute
# per field, moto took ~1.7 s to serve a scan of 1,000 records, with one document ~0.2 s.
BULKY = ("outputs",)
# A sparse global secondary index of live records: the attribute ``live`` is written on every live
# record and left out of a destroyed one (every write is a whole-item put, so a status change to
# destroyed removes it), and the index of that name holds exactly the items that carry it. The
# nightly plan, `list` and the board query it instead of scanning every record ever made. Reads of
# the index are eventually consistent (DynamoDB has no consistent reads of one): where acting on a
# missing record would be wrong (a state without a record), the caller confirms with ``get``.
LIVE = "live"
LIVE_INDEX = {"IndexName": LIVE, "KeySchema": [{"AttributeName": LIVE, "KeyType": "HASH"}],
              "Projection": {"ProjectionType": "ALL"}}
LIVE_ATTRIBUTE = {"AttributeName": LIVE, "AttributeType": "S"}
# The item layout's version: the local bootstrap stamp names it, so an emulator bootstrapped by a
# version without the index is bootstrapped again (and its table gets the index).
LAYOUT = 2


def _to_item(rec: Record) -> dict[str, Any]:
    data = rec.to_json()
    doc = {k: v for k, v in data.items() if k not in BULKY}
    item: dict[str, Any] = {"slug": {"S": rec.slug}, "version": {"N": str(rec.version)},
                            "record": {"S": json.dumps(doc, sort_keys=True, default=str)}}
    for name in BULKY:
        item[name] = {"S": json.dumps(data[name], sort_keys=True, default=str)}
    if rec.live:
        item[LIVE] = {"S": "1"}
    return item


def _projection(without: tuple[str, ...]) -> dict[str, Any]:
    """A read's ProjectionExpression leaving the bulky fields ``without`` unread (none: everything)."""
    unknown = set(without) - set(BULKY)
    if unknown:
        raise ValueError(f"only {BULKY} can be left out of a scan, not {sorted(unknown)}")
    if not without:
        return {}
    names = ["slug", "record", *(n for n in BULKY if n not in without)]
    return {"ProjectionExpression": ", ".join(f"#f{i}" for i in range(len(names))),
            "ExpressionAttributeNames": {f"#f{i}": n for i, n in enumerate(names)}}


class BadItem(AwsError):
    """A registry item this version cannot read: names the slug and what is wrong."""


_DECODERS: dict[str, Any] = {}


def _decoded(item: dict[str, Any]) -> Record | None:
    """The record of a well-formed item in one msgspec pass (fields a newer version added are
    ignored); None when anything is off, for ``_problem`` to say what. A plan over 10,000 records
    spent more of its own time in ``json.loads`` than in anything else."""
    if not _DECODERS:
        _DECODERS.update(record=msgspec.json.Decoder(Record), bulky=msgspec.json.Decoder(dict[str, Any]))
    try:
        rec: Record = _DECODERS["record"].decode(item["record"]["S"])
        bulky = {name: _DECODERS["bulky"].decode(item[name]["S"]) for name in BULKY if name in item}
    except (msgspec.DecodeError, KeyError, TypeError):   # ValidationError is a DecodeError
        return None
    return replace(rec, **bulky) if bulky else rec


def _problem(item: dict[str, Any]) -> str | Record:
    """The record in ``item``, or what is wrong with it."""
    fast = _decoded(item)
    if fast is not None:
        return fast
    doc = item.get("record")
    if not isinstance(doc, dict) or not isinstance(doc.get("S"), str):
        return "no `record` string attribute"
    try:
        kwargs = json.loads(doc["S"])
    except ValueError as exc:
        return f"`record` is not JSON ({exc})"
    if not isinstance(kwargs, dict):
        return f"`record` is a JSON {type(kwargs).__name__}, not an object"
    for name in BULKY:
        if name in item:
            try:
                kwargs[name] = json.loads(item[name]["S"])
            except (ValueError, KeyError, TypeError):
                return f"`{name}` is not a JSON string attribute"
    # a field a newer version of the tool added is ignored, not fatal
    known = {k: v for k, v in kwargs.items() if k in Record.__dataclass_fields__}
    try:
        return msgspec.convert(known, Record)
    except msgspec.ValidationError as exc:
        return str(exc).replace("`$.", "`record.")


record_or_problem = _problem   # for the index upgrade (state.liveindex)


def live_index_of(table: dict[str, Any]) -> dict[str, Any] | None:
    """The index of live records in a ``DescribeTable`` answer's ``Table``, None when it has none."""
    return next((i for i in table.get("GlobalSecondaryIndexes", []) if i.get("IndexName") == LIVE), None)


def _slug_of(item: dict[str, Any]) -> str:
    slug = item.get("slug")
    return str(slug.get("S", slug)) if isinstance(slug, dict) else repr(slug)


def _from_item(item: dict[str, Any]) -> Record:
    found = _problem(item)
    if isinstance(found, str):
        slug = _slug_of(item)
        raise BadItem(f"registry item {slug!r} cannot be read: {found}", slug=slug)
    return found


class Listing(list[Record]):
    """Records read from the registry, plus a warning for each item that could not be read (skipped)."""

    warnings: tuple[str, ...] = ()


class Registry:
    def __init__(self, aws: Aws, table: str) -> None:
        self.table = table
        self._ddb = aws.client("dynamodb")

    def get(self, slug: str) -> Record | None:
        resp = call(f"read registry table {self.table}", lambda: self._ddb.get_item(
            TableName=self.table, Key={"slug": {"S": slug}}, ConsistentRead=True),
            none_on=NO_TABLE, table=self.table)
        return _from_item(resp["Item"]) if resp and "Item" in resp else None

    def all(self, *, without: tuple[str, ...] = ()) -> Listing:
        """Every readable record, oldest first; an unreadable item is skipped with a warning naming
        its slug (``Listing.warnings``). ``without`` leaves bulky fields (e.g. "outputs") unread: they
        come back as their defaults, and the scan moves a fraction of the data."""
        kwargs = {"TableName": self.table, "ConsistentRead": True, **_projection(without)}
        return self._listing(self._read("scan", kwargs) or [])

    def live(self, *, without: tuple[str, ...] = ()) -> Listing:
        """Every readable live record, oldest first, from the index of live records (eventually
        consistent). A table without that index (made by a version before it, or while DynamoDB
        still builds it) is scanned whole instead, with a warning saying how to add it."""
        kwargs = _projection(without)
        kwargs["ExpressionAttributeNames"] = {**kwargs.get("ExpressionAttributeNames", {}), "#live": LIVE}
        kwargs.update(TableName=self.table, IndexName=LIVE, KeyConditionExpression="#live = :live",
                      ExpressionAttributeValues={":live": {"S": "1"}})
        # moto answers a missing index with ResourceNotFoundException, DynamoDB with ValidationException
        items = self._read("query", kwargs, none_on=(*NO_TABLE, "ValidationException"))
        if items is not None:
            listing = self._listing(items)
            live = Listing(r for r in listing if r.live)
            live.warnings = listing.warnings
            return live
        status = self.index_status()
        if status is None:   # no table: no environments
            return Listing()
        listing = self.all(without=without)
        live = Listing(r for r in listing if r.live)
        live.warnings = (*listing.warnings, f"registry table {self.table} has no usable index {LIVE!r} of "
                         f"live records ({status}): read it whole; `provisioner bootstrap` adds the index")
        return live

    def index_status(self) -> str | None:
        """The live index's status ("ACTIVE", "CREATING", ...; "missing"), None without a table."""
        desc = call(f"read registry table {self.table}", lambda: self._ddb.describe_table(
            TableName=self.table), none_on=NO_TABLE, table=self.table)
        if desc is None:
            return None
        index = live_index_of(desc["Table"])
        return str(index.get("IndexStatus", "ACTIVE")) if index is not None else "missing"

    def _read(self, op: str, kwargs: dict[str, Any], none_on: tuple[str, ...] = NO_TABLE
              ) -> list[dict[str, Any]] | None:
        def items() -> list[dict[str, Any]]:
            pages = self._ddb.get_paginator(op).paginate(**kwargs)
            return [i for page in pages for i in page.get("Items", [])]

        return call(f"read registry table {self.table}", items, none_on=none_on, table=self.table)

    def _listing(self, items: list[dict[str, Any]]) -> Listing:
        found = [(i, _problem(i)) for i in items]
        listing = Listing(sorted((r for _, r in found if isinstance(r, Record)), key=lambda r: r.created_at))
        listing.warnings = tuple(f"skipped registry item {_slug_of(i)!r} in {self.table}: {r}"
                                 for i, r in found if isinstance(r, str))
        return listing

    def put(self, new: Record, expected: Record | None) -> Record:
        """Write ``new`` only if the stored record is still ``expected`` (None: must not exist)."""
        stored = replace(new, version=(expected.version + 1) if expected else 1, updated_at=time.time())
        if expected is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(slug)"}
        else:
            cond = {"ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(expected.version)}}}
        written = call(f"write registry table {self.table}", lambda: self._ddb.put_item(
            TableName=self.table, Item=_to_item(stored), **cond), none_on=LOST_RACE, table=self.table)
        if written is None:
            raise RegistryConflict(f"stack {new.slug} was changed by another run while this one worked on it",
                                   slug=new.slug)
        return stored

    def delete(self, rec: Record) -> None:
        self._ddb.delete_item(TableName=self.table, Key={"slug": {"S": rec.slug}},
                              ConditionExpression="version = :v",
                              ExpressionAttributeValues={":v": {"N": str(rec.version)}})
