"""DynamoDB: BatchWriteItem in batches of 25, a few batches in flight, unprocessed items retried.

Every item carries `_dataset` (its dataset's name), so a new version of one dataset can replace
its own items in a table other datasets share. The item key comes from the spec's templates
(`pk = "CUSTOMER#{id}"`), checked against the table's key schema before anything is written.
Throughput against the emulator is bound by the emulator's CPU; four threads keep it busy while
this process builds the next batches (see BENCHMARKS.md).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .._aws import Aws, error_code
from ..errors import LoadError, TargetError
from . import Row

BATCH = 25
THREADS = 4
ATTEMPTS = 8
MARKER = "_dataset"


def attribute(value: Any) -> dict[str, Any]:
    """One value as a DynamoDB attribute (numbers as strings: DynamoDB's own exact form)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, dict):
        return {"M": {k: attribute(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [attribute(v) for v in value]}
    return {"S": str(value)}


class DynamoStore:
    def __init__(self, aws: Aws, table: str, dataset: str, keys: dict[str, str]) -> None:
        self.aws = aws
        self.table = table
        self.dataset = dataset
        self.keys = keys
        self.description = f"dynamodb:{table}"
        self._key_types: dict[str, str] = {}

    def validate(self) -> None:
        client = self.aws.client("dynamodb")
        try:
            desc = client.describe_table(TableName=self.table)["Table"]
        except Exception as exc:
            raise TargetError(self.dataset, self.table, f"cannot describe the table "
                              f"({error_code(exc) or exc})") from exc
        types = {a["AttributeName"]: a["AttributeType"] for a in desc["AttributeDefinitions"]}
        self._key_types = {k["AttributeName"]: types[k["AttributeName"]] for k in desc["KeySchema"]}
        missing = [k for k in self._key_types if k not in self.keys]
        if missing:
            raise TargetError(self.dataset, self.table, f"the table's key attribute '{missing[0]}' "
                              "has no template in keys")

    def item(self, row: Row) -> dict[str, Any]:
        item = {k: attribute(v) for k, v in row.items()}
        for attr, template in self.keys.items():
            try:
                text = template.format_map(row)
            except (KeyError, IndexError, ValueError) as exc:
                raise TargetError(self.dataset, self.table, f"key template {template!r}: {exc}") from exc
            item[attr] = {"N": text} if self._key_types.get(attr) == "N" else {"S": text}
        item[MARKER] = {"S": self.dataset}
        return item

    def load(self, rows: Iterable[Row]) -> int:
        if not self._key_types:
            self.validate()
        return self._write({"PutRequest": {"Item": self.item(r)}} for r in rows)

    def remove(self) -> None:
        self._delete(self._scan(filter_dataset=True))

    def empty(self) -> None:
        self._delete(self._scan(filter_dataset=False))

    def _scan(self, *, filter_dataset: bool) -> Iterator[dict[str, Any]]:
        if not self._key_types:
            self.validate()
        names = {f"#k{i}": k for i, k in enumerate(self._key_types)}
        args: dict[str, Any] = {"TableName": self.table, "ProjectionExpression": ", ".join(names),
                                "ExpressionAttributeNames": names}
        if filter_dataset:
            names["#d"] = MARKER
            args["FilterExpression"] = "#d = :d"
            args["ExpressionAttributeValues"] = {":d": {"S": self.dataset}}
        for page in self.aws.client("dynamodb").get_paginator("scan").paginate(**args):
            yield from page.get("Items", [])

    def _delete(self, keys: Iterator[dict[str, Any]]) -> None:
        self._write({"DeleteRequest": {"Key": k}} for k in keys)

    def _write(self, requests: Iterable[dict[str, Any]]) -> int:
        """Streams requests into batches; at most 2 x THREADS batches exist at any time."""
        written = 0
        pending: deque[Future[None]] = deque()
        with ThreadPoolExecutor(THREADS, thread_name_prefix="ddb-load") as pool:
            for batch in self._batches(requests):
                pending.append(pool.submit(self._batch, batch))
                written += len(batch)
                while len(pending) >= 2 * THREADS:
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        return written

    def _batches(self, requests: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """Batches of 25 with no key twice (DynamoDB refuses a batch that repeats a key): within a
        batch the later row wins, as it would one put at a time. Keys repeated further apart than
        one batch land in batches that may run concurrently: keys must be unique per dataset."""
        batch: dict[tuple[str, ...], dict[str, Any]] = {}
        for request in requests:
            body = request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
            key = tuple(str(body[k]) for k in self._key_types)
            batch[key] = request
            if len(batch) == BATCH:
                yield list(batch.values())
                batch = {}
        if batch:
            yield list(batch.values())

    def _batch(self, requests: list[dict[str, Any]]) -> None:
        client = self.aws.client("dynamodb")
        for attempt in range(ATTEMPTS):
            try:
                answer = client.batch_write_item(RequestItems={self.table: requests})
            except Exception as exc:
                raise LoadError(self.dataset, self.description, error_code(exc) or str(exc)) from exc
            requests = answer.get("UnprocessedItems", {}).get(self.table, [])
            if not requests:
                return
            time.sleep(min(2.0, 0.05 * 2**attempt))
        raise LoadError(self.dataset, self.description,
                        f"{len(requests)} items still unprocessed after {ATTEMPTS} attempts")
