"""DynamoDB batching against a fake client that implements the calls the loader makes (no patching):
unprocessed items are retried until written, a batch never repeats a key, giving up is an error."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.data import LoadError
from provisioner.data.loaders import dynamodb
from provisioner.data.loaders.dynamodb import DynamoStore, attribute


class FakeDynamo:
    """Holds items; answers BatchWriteItem leaving the last `defer` requests of each of the first
    `flaky` calls unprocessed, as DynamoDB does under throttling."""

    def __init__(self, flaky: int = 0, defer: int = 5) -> None:
        self.items: dict[tuple, dict] = {}
        self.calls: list[int] = []
        self.flaky, self.defer = flaky, defer

    def describe_table(self, TableName: str) -> dict[str, Any]:  # noqa: N803
        return {"Table": {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                                   {"AttributeName": "sk", "AttributeType": "S"}],
                          "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                        {"AttributeName": "sk", "KeyType": "RANGE"}]}}

    def batch_write_item(self, RequestItems: dict) -> dict[str, Any]:  # noqa: N803
        (table, requests), = RequestItems.items()
        assert len(requests) <= 25
        keys = [(r["PutRequest"]["Item"]["pk"]["S"], r["PutRequest"]["Item"]["sk"]["S"]) for r in requests]
        assert len(set(keys)) == len(keys), "DynamoDB refuses a batch that repeats a key"
        self.calls.append(len(requests))
        done, left = (requests[:-self.defer], requests[-self.defer:]) if self.flaky else (requests, [])
        self.flaky = max(0, self.flaky - 1)
        for r in done:
            item = r["PutRequest"]["Item"]
            self.items[(item["pk"]["S"], item["sk"]["S"])] = item
        return {"UnprocessedItems": {table: left} if left else {}}


class FakeAws:
    def __init__(self, client: FakeDynamo) -> None:
        self._client = client

    def client(self, service: str) -> FakeDynamo:
        assert service == "dynamodb"
        return self._client


def store(fake: FakeDynamo) -> DynamoStore:
    return DynamoStore(FakeAws(fake), "t", "customers", {"pk": "C#{id}", "sk": "P"})  # type: ignore[arg-type]


def test_unprocessed_items_are_retried_until_written(monkeypatch):
    monkeypatch.setattr(dynamodb.time, "sleep", lambda s: None)
    fake = FakeDynamo(flaky=6)
    written = store(fake).load({"id": i, "name": f"n{i}"} for i in range(100))
    assert written == 100 and len(fake.items) == 100
    assert len(fake.calls) == 4 + 6                     # 4 batches, 6 retries of the deferred part
    assert fake.items[("C#7", "P")]["_dataset"] == {"S": "customers"}


def test_a_repeated_key_in_one_batch_keeps_the_later_row():
    fake = FakeDynamo()
    store(fake).load([{"id": 1, "v": "old"}, {"id": 2, "v": "x"}, {"id": 1, "v": "new"}])
    assert fake.items[("C#1", "P")]["v"] == {"S": "new"} and len(fake.items) == 2


def test_giving_up_on_unprocessed_items_is_an_error(monkeypatch):
    monkeypatch.setattr(dynamodb.time, "sleep", lambda s: None)
    fake = FakeDynamo(flaky=100, defer=1)
    with pytest.raises(LoadError) as info:
        store(fake).load({"id": i} for i in range(3))
    assert "unprocessed" in str(info.value) and info.value.dataset == "customers"


def test_attributes():
    assert attribute(None) == {"NULL": True} and attribute(True) == {"BOOL": True}
    assert attribute(12) == {"N": "12"} and attribute(1.5) == {"N": "1.5"}
    assert attribute({"a": [1, "x"]}) == {"M": {"a": {"L": [{"N": "1"}, {"S": "x"}]}}}
