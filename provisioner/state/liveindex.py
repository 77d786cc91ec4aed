"""The registry's index of live records on a table made before it: added by bootstrap.

A table created by this version has the index from the start (``backend.bootstrap`` creates it
with ``LIVE_INDEX``). An older table gets it with ``UpdateTable``, and then every live record that
an older version wrote (without the ``live`` attribute, so outside the index) gets the attribute
with a conditional ``UpdateItem``: only if its version is still the one read, so a run writing the
record meanwhile wins (its own put carries the attribute). Until DynamoDB has built the index,
reads fall back to a scan (``Registry.live``).
"""

from __future__ import annotations

import functools
from typing import Any

from provisioner.aws.errors import LOST_RACE, call, must
from provisioner.domain.record import Record
from provisioner.state.registry import LIVE, LIVE_ATTRIBUTE, LIVE_INDEX, live_index_of, record_or_problem


def has_index(desc: dict[str, Any]) -> bool:
    return live_index_of(desc) is not None


def ensure_live_index(ddb: Any, table: str) -> list[str]:
    """Add the index of live records to ``table`` if it has none, and index its live records
    written without the attribute; what was done, one line each."""
    desc = must(f"read registry table {table}", lambda: ddb.describe_table(TableName=table),
                table=table)["Table"]
    done: list[str] = []
    if not has_index(desc):
        # ResourceInUseException: a concurrent bootstrap is adding it (or the table is busy)
        if call(f"add the index of live records to {table}", lambda: ddb.update_table(
                TableName=table, AttributeDefinitions=[LIVE_ATTRIBUTE],
                GlobalSecondaryIndexUpdates=[{"Create": LIVE_INDEX}]),
                none_on=("ResourceInUseException",), table=table) is not None:
            done.append(f"added the index {LIVE!r} of live records to table {table}")
    indexed = index_unmarked(ddb, table)
    if indexed:
        done.append(f"indexed {indexed} live records of table {table} written by an older version")
    return done


def index_unmarked(ddb: Any, table: str) -> int:
    """Give every live record without the ``live`` attribute that attribute; how many were given it."""
    def unmarked() -> list[dict[str, Any]]:
        pages = ddb.get_paginator("scan").paginate(
            TableName=table, ConsistentRead=True, FilterExpression="attribute_not_exists(#live)",
            ProjectionExpression="#slug, #version, #record",
            ExpressionAttributeNames={"#live": LIVE, "#slug": "slug", "#version": "version",
                                      "#record": "record"})
        return [i for page in pages for i in page.get("Items", [])]

    def mark(item: dict[str, Any]) -> Any:
        return ddb.update_item(
            TableName=table, Key={"slug": item["slug"]}, UpdateExpression="SET #live = :live",
            ConditionExpression="#version = :v",
            ExpressionAttributeNames={"#live": LIVE, "#version": "version"},
            ExpressionAttributeValues={":live": {"S": "1"}, ":v": item["version"]})

    count = 0
    for item in must(f"read registry table {table}", unmarked, table=table):
        rec = record_or_problem(item)
        if not isinstance(rec, Record) or not rec.live or "version" not in item:
            continue   # destroyed, or unreadable (reads skip it with a warning naming it)
        if call(f"index registry record {rec.slug}", functools.partial(mark, item), none_on=LOST_RACE,
                table=table) is not None:
            count += 1
    return count
