"""The audit log: every operation appended to ``<registry>-audit``.

Who (CI actor or OS user), when, what, which stack, the result and how long it
took. Entries are only ever added. ``provisioner audit`` prints them.
"""

from __future__ import annotations

import getpass
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from provisioner.aws.clients import Aws
from provisioner.aws.errors import NO_TABLE, call, must
from provisioner.errors import ProvisionerError

CI_ACTOR_VARS = ("GITHUB_ACTOR", "GITLAB_USER_LOGIN")


def user() -> str:
    """Who is acting: the CI actor when there is one, else the OS user."""
    for var in (*CI_ACTOR_VARS, "USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def actor() -> str:
    """``user()``, marked "(ci)" when it is a CI actor."""
    return f"{user()} (ci)" if any(os.environ.get(v) for v in CI_ACTOR_VARS) else user()


@dataclass(frozen=True)
class Entry:
    id: str
    at: float
    who: str
    operation: str
    slug: str
    branch: str
    result: str = "ok"
    duration: float = 0.0
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class AuditLog:
    def __init__(self, aws: Aws, table: str, who: str | None = None) -> None:
        self.table = table
        self.who = who or actor()
        self._ddb = aws.client("dynamodb")

    def append(self, operation: str, slug: str, branch: str, *, result: str = "ok",
               duration: float = 0.0, detail: str = "") -> Entry:
        now = time.time()
        entry = Entry(f"{now:017.6f}-{uuid.uuid4().hex[:8]}", now, self.who, operation, slug, branch,
                      result, round(duration, 3), detail[:2000])
        item = {"id": {"S": entry.id}, "at": {"N": repr(entry.at)}, "who": {"S": entry.who},
                "operation": {"S": operation}, "slug": {"S": slug}, "branch": {"S": branch},
                "result": {"S": result}, "duration": {"N": repr(entry.duration)},
                "detail": {"S": entry.detail}}
        must(f"append to audit table {self.table}", lambda: self._ddb.put_item(
            TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(id)"),
            table=self.table)
        return entry

    def entries(self, slug: str | None = None) -> list[Entry]:
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        if slug:
            kwargs.update(FilterExpression="slug = :s", ExpressionAttributeValues={":s": {"S": slug}})

        def scan() -> list[Entry]:
            return [_entry(i) for page in self._ddb.get_paginator("scan").paginate(**kwargs)
                    for i in page.get("Items", [])]

        out = call(f"read audit table {self.table}", scan, none_on=NO_TABLE,
                   table=self.table)  # no table: nothing audited yet
        return sorted(out or [], key=lambda e: e.id)


def _entry(i: dict[str, Any]) -> Entry:
    return Entry(i["id"]["S"], float(i["at"]["N"]), i["who"]["S"], i["operation"]["S"], i["slug"]["S"],
                 i["branch"]["S"], i["result"]["S"], float(i["duration"]["N"]),
                 i.get("detail", {}).get("S", ""))


@dataclass
class Outcome:
    """What the audited block reports back; ``result``/``detail`` may be set inside the block."""

    result: str = "ok"
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def audited(log: AuditLog, operation: str, slug: str, branch: str) -> Iterator[Outcome]:
    """Append one entry when the block ends: ok, or the error's class and message."""
    outcome = Outcome()
    started = time.monotonic()
    failure: BaseException | None = None
    try:
        yield outcome
    except ProvisionerError as exc:
        outcome.result, outcome.detail, failure = type(exc).__name__, str(exc), exc
        raise
    except BaseException as exc:
        outcome.result, outcome.detail, failure = "interrupted", type(exc).__name__, exc
        raise
    finally:
        try:
            log.append(operation, slug, branch, result=outcome.result,
                       duration=time.monotonic() - started, detail=outcome.detail)
        except ProvisionerError as secondary:
            if failure is None:
                raise
            # the block's own error is what the user must see; this one is a note on it
            failure.add_note(f"the audit entry for this {operation} was not written: {secondary}")
