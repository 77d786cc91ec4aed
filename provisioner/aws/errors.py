"""The one place that turns botocore's errors into the tool's.

Every AWS call of the tool goes through ``call``: an error code the caller expects (a table that
is not there yet, a conditional write that lost) comes back as ``None``; any other failure of the
call becomes one ``AwsError`` that says what was being done and carries the AWS error code. Only
botocore's own errors are translated: a bug in our code still raises as itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from provisioner.errors import AwsError

T = TypeVar("T")

# Error codes that callers expect and handle (``call(..., none_on=...)``).
NO_TABLE = ("ResourceNotFoundException",)            # a DynamoDB table not created yet
LOST_RACE = ("ConditionalCheckFailedException",)     # a conditional write that another run won
NO_OBJECT = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")   # an S3 object or bucket not there


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, else ''."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_aws_error(exc: BaseException) -> bool:
    """Whether ``exc`` is botocore's (a service's answer, or a connection or credentials failure)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, ClientError | BotoCoreError)


def _translated(exc: Exception, what: str, fields: dict[str, Any]) -> AwsError:
    return AwsError(f"cannot {what}: {exc}", code=error_code(exc), **fields)


def call(what: str, fn: Callable[[], T], *, none_on: Collection[str] = (), **fields: Any) -> T | None:
    """``fn()``; None when it fails with one of the codes in ``none_on`` (a table not there yet, a
    conditional write that lost); any other botocore failure raises ``AwsError("cannot {what}: ...")``
    with ``fields`` and the error code."""
    try:
        return fn()
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        if error_code(exc) in none_on:
            return None
        raise _translated(exc, what, fields) from exc


def must(what: str, fn: Callable[[], T], **fields: Any) -> T:
    """``fn()``, every botocore failure of which raises ``AwsError("cannot {what}: ...")``."""
    try:
        return fn()
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        raise _translated(exc, what, fields) from exc
