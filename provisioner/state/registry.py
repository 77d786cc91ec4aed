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

from provisioner.aws.clients import Aws
from provisioner.aws.errors import LOST_RACE, NO_TABLE, call
from provisioner.domain.record import Record
from provisioner.errors import LockTimeout


class RegistryConflict(LockTimeout):
    """Someone else wrote the record between our read and our write."""


# Item layout: the key and the version (what the conditional writes compare), one JSON document
# with the whole record but its outputs (key and version included), and the outputs in their own
# JSON attribute. A listing that does not need outputs (the nightly cleanup plan) reads the one
# document attribute. DynamoDB's wire format costs per attribute: botocore parses, and the
# emulator's serializer walks, the AttributeValue shape once per attribute; with one attribute
# per field, moto took ~1.7 s to serve a scan of 1,000 records, with one document ~0.2 s.
BULKY = ("outputs",)


def _to_item(rec: Record) -> dict[str, Any]:
    data = rec.to_json()
    doc = {k: v for k, v in data.items() if k not in BULKY}
    item: dict[str, Any] = {"slug": {"S": rec.slug}, "version": {"N": str(rec.version)},
                            "record": {"S": json.dumps(doc, sort_keys=True, default=str)}}
    for name in BULKY:
        item[name] = {"S": json.dumps(data[name], sort_keys=True, default=str)}
    return item


def _from_item(item: dict[str, Any]) -> Record:
    kwargs: dict[str, Any] = json.loads(item["record"]["S"])
    for name in BULKY:
        if name in item:
            kwargs[name] = json.loads(item[name]["S"])
    # a field a newer version of the tool added is ignored, not fatal
    return Record(**{k: v for k, v in kwargs.items() if k in Record.__dataclass_fields__})


class Registry:
    def __init__(self, aws: Aws, table: str) -> None:
        self.table = table
        self._ddb = aws.client("dynamodb")

    def get(self, slug: str) -> Record | None:
        resp = call(f"read registry table {self.table}", lambda: self._ddb.get_item(
            TableName=self.table, Key={"slug": {"S": slug}}, ConsistentRead=True),
            none_on=NO_TABLE, table=self.table)
        return _from_item(resp["Item"]) if resp and "Item" in resp else None

    def all(self, *, without: tuple[str, ...] = ()) -> list[Record]:
        """Every record, oldest first. ``without`` leaves bulky fields (e.g. "outputs") unread: they
        come back as their defaults, and the scan moves a fraction of the data."""
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        unknown = set(without) - set(BULKY)
        if unknown:
            raise ValueError(f"only {BULKY} can be left out of a scan, not {sorted(unknown)}")
        if without:
            names = ["record", *(n for n in BULKY if n not in without)]
            kwargs["ProjectionExpression"] = ", ".join(f"#f{i}" for i in range(len(names)))
            kwargs["ExpressionAttributeNames"] = {f"#f{i}": n for i, n in enumerate(names)}

        def scan() -> list[Record]:
            return [_from_item(i) for page in self._ddb.get_paginator("scan").paginate(**kwargs)
                    for i in page.get("Items", [])]

        records = call(f"read registry table {self.table}", scan, none_on=NO_TABLE,
                       table=self.table)
        return sorted(records or [], key=lambda r: r.created_at)

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
