"""Environment records in a DynamoDB table, written with conditional writes.

One item per stack slug. Every write is conditional on the version the writer
read, so two runs can never both create (or both move) one environment; the
loser gets ``RegistryConflict`` and decides what to do.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from provisioner.aws.clients import Aws, error_code
from provisioner.errors import AwsError, LockTimeout

STATUSES = ("creating", "ready", "failed", "destroying", "destroyed")
BUSY = ("creating", "destroying")


class RegistryConflict(LockTimeout):
    """Someone else wrote the record between our read and our write."""


@dataclass(frozen=True)
class Record:
    slug: str
    branch: str
    pr: int | None = None
    owner: str = ""
    branch_source: str = "flag"
    created_at: float = 0.0
    last_applied_at: float | None = None
    expires_at: float | None = None
    status: str = "creating"
    outputs: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    error: str = ""
    changes: dict[str, int] = field(default_factory=dict)
    keep: bool = False   # kept stacks are exempt from expiry (enforced by the nightly cleanup)
    fixed_expires_at: float | None = None   # created + ttl (moved by extend), capped by max_ttl
    active_at: float | None = None          # last spinup or extend: the idle clock starts here
    updated_at: float = 0.0
    version: int = 0

    @property
    def live(self) -> bool:
        """Not destroyed: the stack (or what is left of it) may still exist."""
        return self.status != "destroyed"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
        try:
            resp = self._ddb.get_item(TableName=self.table, Key={"slug": {"S": slug}}, ConsistentRead=True)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":  # not bootstrapped yet: no stacks
                return None
            raise AwsError(f"cannot read registry table {self.table}: {exc}", table=self.table) from exc
        return _from_item(resp["Item"]) if "Item" in resp else None

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
        records: list[Record] = []
        try:
            for page in self._ddb.get_paginator("scan").paginate(**kwargs):
                records.extend(_from_item(i) for i in page.get("Items", []))
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":  # not bootstrapped yet: no stacks
                return []
            raise AwsError(f"cannot read registry table {self.table}: {exc}", table=self.table) from exc
        return sorted(records, key=lambda r: r.created_at)

    def put(self, new: Record, expected: Record | None) -> Record:
        """Write ``new`` only if the stored record is still ``expected`` (None: must not exist)."""
        stored = replace(new, version=(expected.version + 1) if expected else 1, updated_at=time.time())
        if expected is None:
            cond = {"ConditionExpression": "attribute_not_exists(slug)"}
        else:
            cond = {"ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(expected.version)}}}
        try:
            self._ddb.put_item(TableName=self.table, Item=_to_item(stored), **cond)
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise RegistryConflict(
                    f"stack {new.slug} was changed by another run while this one worked on it",
                    slug=new.slug) from exc
            raise AwsError(f"cannot write registry table {self.table}: {exc}", table=self.table) from exc
        return stored

    def delete(self, rec: Record) -> None:
        self._ddb.delete_item(TableName=self.table, Key={"slug": {"S": rec.slug}},
                              ConditionExpression="version = :v",
                              ExpressionAttributeValues={":v": {"N": str(rec.version)}})
