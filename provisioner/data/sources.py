"""Reading a production export, streamed: JSON Lines, CSV or DynamoDB JSON, optionally gzipped,
from a local path or an `s3://bucket/key` URI read with the tool's own credentials (`Aws`).

DynamoDB JSON is the shape of DynamoDB's export to S3: one `{"Item": {"attr": {"S": "..."}}}`
per line (a bare attribute map per line is accepted too).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

import msgspec

from ._aws import Aws, error_code
from .errors import SourceError
from .spec import DatasetSpec

CHUNK = 1 << 16


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@contextmanager
def open_export(spec: DatasetSpec, aws: Aws | None) -> Iterator[IO[bytes]]:
    """The export as a binary stream (decompressed when its name ends in .gz)."""
    uri = str(spec.export)
    raw: Any
    if uri.startswith("s3://"):
        if aws is None:
            raise SourceError(spec.name, uri, "an s3:// export needs AWS access")
        bucket, key = split_s3(uri)
        try:
            raw = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        except Exception as exc:
            raise SourceError(spec.name, uri, f"cannot read ({error_code(exc) or exc})") from exc
    else:
        try:
            raw = open(uri, "rb")  # noqa: SIM115  (closed below)
        except OSError as exc:
            raise SourceError(spec.name, uri, f"cannot open ({exc.strerror})") from exc
    try:
        yield cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if uri.endswith(".gz") else raw
    finally:
        raw.close()


def read_rows(spec: DatasetSpec, aws: Aws | None) -> Iterator[dict[str, Any]]:
    """The export's records as dicts, one at a time."""
    with open_export(spec, aws) as stream:
        if spec.format == "csv":
            text = io.TextIOWrapper(io.BufferedReader(_Readable(stream)), encoding="utf-8", newline="")
            for row in csv.DictReader(text):
                yield {k: (v if v != "" else None) for k, v in row.items()}
            return
        decoder = msgspec.json.Decoder()
        for number, line in enumerate(_lines(stream), 1):
            if not line.strip():
                continue
            try:
                record = decoder.decode(line)
            except msgspec.DecodeError as exc:
                raise SourceError(spec.name, str(spec.export), f"line {number}: {exc}") from exc
            if not isinstance(record, dict):
                raise SourceError(spec.name, str(spec.export), f"line {number}: not an object")
            yield from_dynamodb(record.get("Item", record)) if spec.format == "dynamodb-json" \
                else record


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    rest = b""
    while chunk := stream.read(CHUNK):
        rest += chunk
        *whole, rest = rest.split(b"\n")
        yield from whole
    if rest:
        yield rest


class _Readable(io.RawIOBase):
    """Any object with read(n) as a raw stream (botocore's body for TextIOWrapper)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _attr(v) for k, v in item.items()}


def _attr(value: dict[str, Any]) -> Any:
    (tag, v), = value.items()
    if tag == "S" or tag == "B":
        return v
    if tag == "N":
        return int(v) if v.lstrip("-").isdigit() else float(v)
    if tag == "BOOL":
        return bool(v)
    if tag == "NULL":
        return None
    if tag == "L":
        return [_attr(x) for x in v]
    if tag == "M":
        return from_dynamodb(v)
    if tag in ("SS", "BS"):
        return list(v)
    if tag == "NS":
        return [int(x) if x.lstrip("-").isdigit() else float(x) for x in v]
    raise ValueError(f"unknown DynamoDB type {tag}")


def source_digest(spec: DatasetSpec, aws: Aws | None) -> str:
    """What identifies this export's content: sha256 of a local file; for S3 the object's ETag
    (and version), read with one HEAD rather than downloading the object."""
    uri = str(spec.export)
    if uri.startswith("s3://"):
        if aws is None:
            raise SourceError(spec.name, uri, "an s3:// export needs AWS access")
        bucket, key = split_s3(uri)
        try:
            head = aws.client("s3").head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise SourceError(spec.name, uri, f"cannot read ({error_code(exc) or exc})") from exc
        return f"s3:{head.get('ETag', '').strip(chr(34))}:{head.get('VersionId', '')}"
    return "sha256:" + file_digest(Path(uri), spec.name)


def file_digest(path: Path, dataset: str) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
    except OSError as exc:
        raise SourceError(dataset, str(path), f"cannot open ({exc.strerror})") from exc
    return h.hexdigest()
