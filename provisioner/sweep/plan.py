"""Find resources by our tags, and delete the orphans among them (compute, then act).

``plan_sweep`` lists everything carrying ``managed-by=staging-provisioner`` whose stack has no
live record (or, with ``only_slug``, everything left of one stack) and orders it for deletion;
``execute`` re-reads each resource's own tags right before deleting it (a resource that no longer
carries our tag and stack is left alone), collects failures per resource and carries on.

The tagging API misses some types under the emulator and for IAM globally (HARNESS.md:
aws_iam_role, aws_db_subnet_group; moto 5.2.5 also lists no ELBv2 listeners, which go with their
load balancer), so those are listed per service. The AWS calls per resource type are the
``HANDLERS`` at the bottom, behind the small ``Account`` interface that unit tests fake."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

from provisioner.aws.clients import Aws
from provisioner.domain import tags
from provisioner.sweep.account import AwsAccount
from provisioner.sweep.handlers import Skipped

# Deletion order: what depends on something comes before it.
ORDER = (
    "elb-listener", "load-balancer", "target-group",
    "cloudwatch-alarm", "log-group", "ssm-parameter", "secret", "sqs-queue", "sns-topic",
    "dynamodb-table", "s3-bucket", "kms-key",
    "iam-role", "db-subnet-group",
    "internet-gateway", "subnet", "route-table", "security-group", "vpc",
)

UNSUPPORTED = "unsupported"


class Account(Protocol):
    """What the sweep needs from an AWS account. ``AwsAccount`` is the real one."""

    def tagged(self, only_slug: str | None) -> list[tuple[str, dict[str, str]]]:
        """(arn, tags) of every resource carrying our managed-by tag (of one stack if given)."""

    def tags(self, kind: str, arn: str) -> dict[str, str] | None:
        """The resource's own tags now; None when it no longer exists."""

    def prepare(self, kind: str, arn: str) -> None:
        """Work done on every resource of a kind before any of them is deleted."""

    def delete(self, kind: str, arn: str) -> None:
        """Delete (a resource that is already gone counts as deleted); may raise ``Skipped``."""


@dataclass(frozen=True)
class SweepItem:
    arn: str
    type: str
    stack: str


@dataclass(frozen=True)
class SweepPlan:
    items: tuple[SweepItem, ...]          # in deletion order; unsupported types last
    only_slug: str | None = None

    def preview(self) -> SweepReport:
        return SweepReport(tuple(
            SweepResult(i.arn, i.type, i.stack, "would delete") if i.type != UNSUPPORTED
            else SweepResult(i.arn, i.type, i.stack, "skipped", "no sweeper for this resource type")
            for i in self.items), dry_run=True)


@dataclass(frozen=True)
class SweepResult:
    arn: str
    type: str
    stack: str
    action: str          # deleted | would delete | failed | skipped
    error: str = ""

    def to_json(self) -> dict[str, str]:
        return {"arn": self.arn, "type": self.type, "stack": self.stack, "action": self.action,
                "error": self.error}


@dataclass(frozen=True)
class SweepReport:
    results: tuple[SweepResult, ...]
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(r.action == action for r in self.results)

    @property
    def failed(self) -> bool:
        return self.count("failed") > 0

    def to_json(self) -> dict[str, Any]:
        counts = {a: self.count(a) for a in ("deleted", "would delete", "failed", "skipped")}
        return {"dry_run": self.dry_run, "resources": [r.to_json() for r in self.results],
                "counts": counts}


_PLAIN_NAME = {"s3": "s3-bucket", "sqs": "sqs-queue", "sns": "sns-topic"}
_BY_HEAD = {
    ("dynamodb", "table"): "dynamodb-table", ("logs", "log-group"): "log-group",
    ("cloudwatch", "alarm"): "cloudwatch-alarm", ("ssm", "parameter"): "ssm-parameter",
    ("secretsmanager", "secret"): "secret", ("iam", "role"): "iam-role", ("kms", "key"): "kms-key",
    ("rds", "subgrp"): "db-subnet-group", ("ec2", "vpc"): "vpc", ("ec2", "subnet"): "subnet",
    ("ec2", "route-table"): "route-table", ("ec2", "internet-gateway"): "internet-gateway",
    ("ec2", "security-group"): "security-group",
    ("elasticloadbalancing", "listener"): "elb-listener",
    ("elasticloadbalancing", "targetgroup"): "target-group",
}


def kind_of(arn: str) -> str:
    """The sweepable type of an ARN (one of ``ORDER``), else ``UNSUPPORTED``."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return UNSUPPORTED
    service, resource = parts[2], parts[5]
    if service in _PLAIN_NAME:   # bucket, queue, topic: a plain name (not an object or subscription)
        return _PLAIN_NAME[service] if resource and not set("/:") & set(resource) else UNSUPPORTED
    if service == "elasticloadbalancing" and resource.startswith(("loadbalancer/app/", "loadbalancer/net/")):
        return "load-balancer"
    if service == "dynamodb" and resource.count("/") != 1:   # streams, indexes, backups
        return UNSUPPORTED
    head = re.split(r"[/:]", resource, maxsplit=1)[0]
    return _BY_HEAD.get((service, head), UNSUPPORTED)


def build_plan(found: Iterable[tuple[str, dict[str, str]]], live_slugs: set[str],
               only_slug: str | None = None, within: set[str] | None = None) -> SweepPlan:
    """Pick the orphans from (arn, tags) pairs and order them for deletion.

    A resource qualifies when it carries our managed-by tag and a stack tag, and its stack is
    ``only_slug`` (then ``live_slugs`` is not consulted: the caller has just destroyed it) or, without
    ``only_slug``, not in ``live_slugs`` (and in ``within`` when that is given).
    """
    items = set()
    for arn, tag_map in found:
        stack = tag_map.get(tags.STACK, "")
        if tag_map.get(tags.MANAGED_BY) != tags.MANAGED_BY_VALUE or not stack:
            continue
        if only_slug is not None:
            if stack != only_slug:
                continue
        elif stack in live_slugs or (within is not None and stack not in within):
            continue
        items.add(SweepItem(arn, kind_of(arn), stack))
    rank = {k: n for n, k in enumerate((*ORDER, UNSUPPORTED))}
    return SweepPlan(tuple(sorted(items, key=lambda i: (rank[i.type], i.stack, i.arn))), only_slug)


def plan_sweep(aws: Aws | Account, live_slugs: set[str], only_slug: str | None = None, *,
               within: set[str] | None = None) -> SweepPlan:
    """What a sweep would delete (nothing is changed). See ``build_plan`` for the selection."""
    return build_plan(_account(aws).tagged(only_slug), live_slugs, only_slug, within)


def scope_from_records(records: Iterable[Any], *, all_stacks: bool) -> tuple[set[str], set[str] | None]:
    """(live slugs, stacks in scope) from registry records: records not destroyed are live; without
    ``all_stacks`` only stacks this registry knows are swept (another project sharing the account
    has its own registry, and its live stacks carry the same managed-by tag)."""
    records = list(records)
    live = {r.slug for r in records if r.live}
    return live, None if all_stacks else {r.slug for r in records}


def execute(aws: Aws | Account, plan: SweepPlan, reporter: Any) -> SweepReport:
    """Delete the plan's resources in order; one failure does not stop the others."""
    account = _account(aws)
    results: list[SweepResult] = []
    for kind, group in groupby(plan.items, key=lambda i: i.type):
        results.extend(_execute_kind(account, kind, list(group), reporter))
    return SweepReport(tuple(results))


def _execute_kind(account: Account, kind: str, items: list[SweepItem], reporter: Any) -> list[SweepResult]:
    done: dict[SweepItem, SweepResult] = {}
    ready: list[SweepItem] = []
    for item in items:
        if kind == UNSUPPORTED:
            done[item] = _result(item, "skipped", "no sweeper for this resource type")
            continue
        verdict = _recheck(account, item)
        if verdict is None:
            ready.append(item)
        else:
            done[item] = verdict
    for item in list(ready):
        try:
            account.prepare(kind, item.arn)
        except Exception as exc:
            done[item] = _result(item, "failed", f"preparing: {_short(exc)}")
            ready.remove(item)
    for item in ready:
        done[item] = _delete(account, item)
    for item in items:
        r = done[item]
        reporter.step(f"{r.action:<8} {r.type} {r.arn}" + (f": {r.error}" if r.error else ""))
    return [done[i] for i in items]


def _recheck(account: Account, item: SweepItem) -> SweepResult | None:
    """None when the resource itself still carries our tag and its stack; else the outcome."""
    try:
        now = account.tags(item.type, item.arn)
    except Exception as exc:
        return _result(item, "failed", f"reading tags: {_short(exc)}")
    if now is None:
        return _result(item, "deleted", "")   # already gone (e.g. with its load balancer)
    if now.get(tags.MANAGED_BY) != tags.MANAGED_BY_VALUE or now.get(tags.STACK) != item.stack:
        return _result(item, "skipped", f"its own tags no longer say {tags.MANAGED_BY}="
                                        f"{tags.MANAGED_BY_VALUE}, {tags.STACK}={item.stack}")
    return None


def _delete(account: Account, item: SweepItem) -> SweepResult:
    try:
        account.delete(item.type, item.arn)
    except Skipped as why:
        return _result(item, "skipped", str(why))
    except Exception as exc:
        return _result(item, "failed", _short(exc))
    return _result(item, "deleted")


def _result(item: SweepItem, action: str, error: str = "") -> SweepResult:
    return SweepResult(item.arn, item.type, item.stack, action, error)


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:500]


def _account(aws: Aws | Account) -> Account:
    return AwsAccount(aws) if isinstance(aws, Aws) else aws
