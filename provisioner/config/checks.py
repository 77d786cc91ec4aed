"""Checks of single config values: durations, names, URLs, lists of production identifiers.

Each check returns the normalised value or raises ValueError with a message that the loader
puts after the file and the dotted key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from provisioner.config import retry

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DDB_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def parse_duration(text: str | int) -> int:
    """'48h' -> 172800. Plain integers are seconds."""
    if isinstance(text, bool):
        raise ValueError("a duration is text like '48h', '30m', '7d'")
    if isinstance(text, int):
        if text <= 0:
            raise ValueError("a duration must be positive")
        return text
    m = _DURATION.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like '48h', '30m', '7d'")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def table_name(v: str) -> str:
    if not DDB_TABLE.fullmatch(v):
        raise ValueError(f"{v!r} is not a valid DynamoDB table name")
    return v


def regex_check(pattern: str, problem: str) -> Callable[[str | None], str | None]:
    def check(v: str | None) -> str | None:
        if v is not None and not re.fullmatch(pattern, v):
            raise ValueError(f"{v!r} {problem}")
        return v
    return check


def duration_check(v: str) -> str:
    parse_duration(v)
    return v


def url_check(example: str, pattern: str) -> Callable[[str | None], str | None]:
    matches = regex_check(pattern, f"is not an http(s) URL like {example!r}")

    def check(v: str | None) -> str | None:
        v = matches(v)
        return v.rstrip("/") if v else v
    return check


def emulator_url_check(v: str | None) -> str | None:
    """An emulator URL: http(s)://host[:port], no user:password@, no path; trailing / dropped."""
    if v is None:
        return v
    import urllib.parse

    parts = urllib.parse.urlsplit(v.strip())
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not carry credentials (user:password@); the emulator needs none")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") \
            or parts.query or parts.fragment:
        raise ValueError(f"{v!r} is not an http(s) URL like 'http://127.0.0.1:5000'")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise ValueError(f"{v!r} has a bad port: {exc}") from None
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(url: str) -> bool:
    import ipaddress
    import urllib.parse

    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bucket_check(v: str) -> str:
    if not S3_BUCKET.fullmatch(v) or ".." in v:
        raise ValueError(f"{v!r} is not a valid S3 bucket name")
    return v


def prefix_check(v: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", v) or ".." in v.split("/"):
        raise ValueError(f"{v!r} must be path segments of [A-Za-z0-9_.-] without '..'")
    return v


def patterns_check(v: tuple[str, ...]) -> tuple[str, ...]:
    retry.compile_patterns(v)
    return v


def prices_check(v: dict[str, Any]) -> dict[str, float]:
    for name, price in v.items():
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise ValueError(f"price {name!r} must be a number >= 0 (USD per unit-hour)")
    return {name: float(price) for name, price in v.items()}


def label_check(v: str | None) -> str | None:
    if v is not None and not 1 <= len(v) <= 50:
        raise ValueError("a GitHub label has 1 to 50 characters")
    return v


def unique_strings(values: tuple[str, ...], what: str, minimum: int = 1) -> tuple[str, ...]:
    cleaned = tuple(v.strip() for v in values)
    for v in cleaned:
        if len(v) < minimum:
            raise ValueError(f"{v!r} is too short for {what} (at least {minimum} characters)")
    return tuple(dict.fromkeys(cleaned))


def accounts_check(v: tuple[str, ...]) -> tuple[str, ...]:
    for item in v:
        if not re.fullmatch(r"\d{12}", item.strip()):
            raise ValueError(f"{item!r} is not an AWS account id (12 digits, e.g. \"111111111111\")")
    return unique_strings(v, "an account id")


def _split_location(item: str) -> tuple[str | None, str]:
    """``s3://bucket/prefix`` (any case of the scheme), ``arn:aws:s3:::bucket/prefix`` (any partition)
    or a bare ``prefix`` -> (bucket or None, prefix without surrounding slashes)."""
    text = item.strip()
    lowered = text.lower()
    if lowered.startswith("s3://"):
        bucket, _, prefix = text[5:].partition("/")
        return bucket, prefix.strip("/")
    m = re.fullmatch(r"arn:aws[a-z-]*:s3:::([^/]*)(/.*)?", text, flags=re.IGNORECASE)
    if m:
        return m.group(1), (m.group(2) or "").strip("/")
    return None, text.strip("/")


def state_buckets_check(v: tuple[str, ...]) -> tuple[str, ...]:
    """Each entry as a bare lower-case bucket name (``s3://b``, ``s3://b/``, ``arn:aws:s3:::b`` and
    upper case accepted); an entry with a key prefix belongs in state_prefixes and is refused."""
    out = []
    for item in unique_strings(v, "a state bucket", 3):
        bucket, prefix = _split_location(item) if "://" in item or item.lower().startswith("arn:") \
            else (item.strip("/"), "")
        if bucket is None or prefix:
            raise ValueError(f"{item!r} names a key prefix, not a bucket: list it in "
                             "[production].state_prefixes")
        canonical = bucket.lower()
        if not S3_BUCKET.fullmatch(canonical) or ".." in canonical:
            raise ValueError(f"{item!r} is not an S3 bucket (name, s3://name or arn:aws:s3:::name)")
        out.append(canonical)
    return tuple(dict.fromkeys(out))


def prefixes_check(v: tuple[str, ...]) -> tuple[str, ...]:
    """Each entry as ``prefix`` or ``s3://bucket/prefix``, lower case (the guard compares state keys
    case-insensitively: an entry ``Production`` covers ``production``); ``S3://``, ARNs and
    surrounding slashes accepted."""
    out = []
    for item in unique_strings(v, "a state prefix"):
        bucket, prefix = _split_location(item)
        bad_bucket = bucket is not None and not S3_BUCKET.fullmatch(bucket.lower())
        if bad_bucket or (bucket is None and not prefix):
            raise ValueError(f"{item!r} is not a key prefix or s3://bucket/prefix")
        out.append(f"s3://{bucket.lower()}/{prefix.lower()}".rstrip("/") if bucket is not None
                   else prefix.lower())
    return tuple(dict.fromkeys(out))


SECRET_SOURCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|ssm:[A-Za-z0-9_.\-/]{1,2048}"
                           r"|secretsmanager:[A-Za-z0-9/_+=.@:\-]{1,2048})$")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def secret_source(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"must be a valid string like env:NAME, got {kind(type(v).__name__)}")
    v = v.strip()
    if not SECRET_SOURCE.fullmatch(v):
        # The value is not echoed: it may be the secret itself, pasted by mistake.
        raise ValueError("is not a secret source (value not shown); use env:NAME, ssm:/parameter/name "
                         "or secretsmanager:secret-name, never the secret itself")
    return str(v)



KINDS = {"int": "an integer", "str": "a string", "float": "a number", "bool": "a boolean",
          "array": "a list", "object": "a table", "null": "nothing", "list": "a list", "dict": "a table"}


def kind(name: str) -> str:
    return KINDS.get(name, name)


