"""S3: one object per `rows_per_object` rows under the dataset's prefix, JSON Lines or CSV.

The prefix is the dataset's own (`<name>/` by default), so removing a dataset and emptying the
store are the same thing: every object under the prefix is deleted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import msgspec

from .._aws import Aws, error_code
from ..errors import LoadError, TargetError
from . import Columns, Row


class S3Store:
    def __init__(self, aws: Aws, bucket: str, prefix: str, dataset: str, *, object_format: str,
                 rows_per_object: int, columns: Columns) -> None:
        self.aws = aws
        self.bucket = bucket
        self.prefix = prefix
        self.dataset = dataset
        self.object_format = object_format
        self.rows_per_object = rows_per_object
        self.columns = [c for c, _ in columns]
        self.description = f"s3://{bucket}/{prefix}"

    def validate(self) -> None:
        try:
            self.aws.client("s3").head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise TargetError(self.dataset, self.bucket, f"cannot reach the bucket "
                              f"({error_code(exc) or exc})") from exc

    def load(self, rows: Iterable[Row]) -> int:
        written, part, chunk = 0, 0, []
        for row in rows:
            chunk.append(row)
            if len(chunk) == self.rows_per_object:
                self._put(part, chunk)
                written, part, chunk = written + len(chunk), part + 1, []
        if chunk:
            self._put(part, chunk)
            written += len(chunk)
        return written

    def _put(self, part: int, rows: list[Row]) -> None:
        ext = "jsonl" if self.object_format == "jsonl" else "csv"
        key = f"{self.prefix}part-{part:05d}.{ext}"
        body = self._encode(rows)
        try:
            self.aws.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body,
                                             ContentType="application/x-ndjson" if ext == "jsonl"
                                             else "text/csv")
        except Exception as exc:
            raise LoadError(self.dataset, self.description, error_code(exc) or str(exc)) from exc

    def _encode(self, rows: list[Row]) -> bytes:
        if self.object_format == "jsonl":
            encoder = msgspec.json.Encoder()
            return b"".join(encoder.encode(r) + b"\n" for r in rows)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) for c in self.columns])
        return out.getvalue().encode()

    def remove(self) -> None:
        self.empty()

    def empty(self) -> None:
        client = self.aws.client("s3")
        batch: list[dict[str, str]] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                     Prefix=self.prefix):
            for obj in page.get("Contents", []):
                batch.append({"Key": obj["Key"]})
                if len(batch) == 1000:
                    client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                    batch = []
        if batch:
            client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
