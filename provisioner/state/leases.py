"""Operation leases: one holder per stack at a time, kept alive by a heartbeat.

A lease item (``<registry>-leases``, key ``slug``) names its holder, the
operation and when it lapses. Taking it is one conditional write: free, lapsed
or already ours. A second operation waits (saying who holds the stack) up to
``stacks.lease_wait``, then gives up with ``LockTimeout`` (exit 4). A holder
that dies stops its heartbeat, so its lease lapses after ``stacks.lease_ttl``
and the next run may take over (and break the dead run's Terraform state lock).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from provisioner.aws.clients import Aws
from provisioner.aws.errors import LOST_RACE, call, must
from provisioner.errors import LockTimeout, ProvisionerError
from provisioner.state.audit import user


def holder_id() -> str:
    return f"{user()}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Lease:
    slug: str
    holder: str
    operation: str
    acquired_at: float
    expires_at: float

    def alive(self, now: float | None = None) -> bool:
        return self.expires_at > (now if now is not None else time.time())


class Leases:
    def __init__(self, aws: Aws, table: str, ttl: int) -> None:
        self.table, self.ttl = table, ttl
        self._ddb = aws.client("dynamodb")

    def get(self, slug: str) -> Lease | None:
        item = must(f"read lease table {self.table}", lambda: self._ddb.get_item(
            TableName=self.table, Key={"slug": {"S": slug}}, ConsistentRead=True),
            table=self.table).get("Item")
        if not item:
            return None
        return Lease(slug, item["holder"]["S"], item["operation"]["S"], float(item["acquired_at"]["N"]),
                     float(item["expires_at"]["N"]))

    def try_acquire(self, slug: str, holder: str, operation: str) -> bool:
        now = time.time()
        item = {"slug": {"S": slug}, "holder": {"S": holder}, "operation": {"S": operation},
                "acquired_at": {"N": repr(now)}, "expires_at": {"N": repr(now + self.ttl)}}
        return call(f"write lease table {self.table}", lambda: self._ddb.put_item(
            TableName=self.table, Item=item,
            ConditionExpression="attribute_not_exists(slug) OR expires_at < :now OR holder = :me",
            ExpressionAttributeValues={":now": {"N": repr(now)}, ":me": {"S": holder}}),
            none_on=LOST_RACE, table=self.table) is not None

    def heartbeat(self, slug: str, holder: str) -> bool:
        return call(f"renew the lease of {slug}", lambda: self._ddb.update_item(
            TableName=self.table, Key={"slug": {"S": slug}}, UpdateExpression="SET expires_at = :e",
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":e": {"N": repr(time.time() + self.ttl)}, ":me": {"S": holder}}),
            none_on=LOST_RACE, table=self.table) is not None

    def release(self, slug: str, holder: str) -> None:
        call(f"release the lease of {slug}", lambda: self._ddb.delete_item(
            TableName=self.table, Key={"slug": {"S": slug}}, ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": {"S": holder}}), none_on=LOST_RACE, table=self.table)

    def acquire(self, slug: str, holder: str, operation: str, *, wait: float,
                on_wait: Callable[[Lease], None], poll: float = 2.0) -> None:
        """Take the lease, waiting up to ``wait`` seconds; ``on_wait`` hears who holds it (once each)."""
        told: set[str] = set()

        def attempt() -> bool:
            if self.try_acquire(slug, holder, operation):
                return True
            other = self.get(slug)
            if other and other.holder not in told:
                told.add(other.holder)
                on_wait(other)
            return False

        try:
            Retrying(stop=stop_after_delay(wait), wait=wait_fixed(poll),
                     retry=retry_if_result(lambda ok: not ok))(attempt)
        except RetryError:
            other = self.get(slug)
            who = f"{other.holder} ({other.operation})" if other else "another run"
            raise LockTimeout(f"stack {slug} is still held by {who} after waiting {wait:.0f}s; "
                              "try again later", slug=slug) from None


class _Heartbeat(threading.Thread):
    def __init__(self, leases: Leases, slug: str, holder: str) -> None:
        super().__init__(daemon=True, name=f"lease-heartbeat-{slug}")
        self._leases, self._slug, self._holder = leases, slug, holder
        self._halt = threading.Event()

    def run(self) -> None:
        interval = max(self._leases.ttl / 4, 0.5)
        while not self._halt.wait(interval):
            try:
                self._leases.heartbeat(self._slug, self._holder)
            except Exception:  # noqa: BLE001  (a missed beat is retried on the next tick)
                continue

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


@contextmanager
def held(leases: Leases, slug: str, operation: str, *, wait: float,
         on_wait: Callable[[Lease], None]) -> Iterator[str]:
    """Hold the stack's lease for the block (heartbeat running); yields the holder id."""
    holder = holder_id()
    leases.acquire(slug, holder, operation, wait=wait, on_wait=on_wait)
    beat = _Heartbeat(leases, slug, holder)
    beat.start()
    try:
        yield holder
    except BaseException as exc:
        beat.stop()
        try:
            leases.release(slug, holder)
        except ProvisionerError as secondary:  # the block's error stays the one the user sees
            exc.add_note(f"the lease on {slug} was not released (it lapses after stacks.lease_ttl): "
                         f"{secondary}")
        raise
    beat.stop()
    leases.release(slug, holder)


def describe(lease: Lease, now: float | None = None) -> str:
    now = now if now is not None else time.time()
    return (f"{lease.holder} is running {lease.operation} on stack {lease.slug} "
            f"(for {now - lease.acquired_at:.0f}s); waiting")
