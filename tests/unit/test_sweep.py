"""Plan and execution logic of the orphan sweep, against a fake account (no AWS, no emulator)."""

from __future__ import annotations

import pytest

from provisioner.domain.record import Record
from provisioner.sweep import plan as sweep
from provisioner.sweep.handlers import HANDLERS, Skipped

ACCT = "arn:aws:{}:us-east-1:123456789012:{}"
OURS = {"managed-by": "staging-provisioner"}


def arn(service: str, resource: str) -> str:
    return ACCT.format(service, resource)


def ours(slug: str, **extra: str) -> dict[str, str]:
    return {**OURS, "staging:stack": slug, **extra}


class FakeAccount:
    """Implements ``sweep.Account`` over a dict of arn -> tags, recording every call."""

    def __init__(self, resources: dict[str, dict[str, str]]) -> None:
        self.resources = {a: dict(t) for a, t in resources.items()}
        self.calls: list[tuple[str, str]] = []
        self.fail_delete: dict[str, Exception] = {}
        self.fail_tags: dict[str, Exception] = {}
        self.retag: dict[str, dict[str, str]] = {}   # tags a resource has by the time it is re-read

    def tagged(self, only_slug: str | None) -> list[tuple[str, dict[str, str]]]:
        self.calls.append(("tagged", str(only_slug)))
        return [(a, dict(t)) for a, t in self.resources.items()
                if t.get("managed-by") == "staging-provisioner"
                and (only_slug is None or t.get("staging:stack") == only_slug)]

    def tags(self, kind: str, arn: str) -> dict[str, str] | None:
        self.calls.append(("tags", arn))
        if arn in self.fail_tags:
            raise self.fail_tags[arn]
        return self.retag.get(arn, self.resources.get(arn))

    def prepare(self, kind: str, arn: str) -> None:
        if kind == "security-group":   # like the real account: only groups have work to prepare
            self.calls.append(("prepare", arn))

    def delete(self, kind: str, arn: str) -> None:
        self.calls.append(("delete", arn))
        if arn in self.fail_delete:
            raise self.fail_delete[arn]
        del self.resources[arn]


class Steps:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, message: str) -> None:
        self.lines.append(message)

    def event(self, event: object) -> None:
        pass


VPC = arn("ec2", "vpc/vpc-1")
SUBNET = arn("ec2", "subnet/subnet-1")
SG_A, SG_B = arn("ec2", "security-group/sg-a"), arn("ec2", "security-group/sg-b")
IGW = arn("ec2", "internet-gateway/igw-1")
RTB = arn("ec2", "route-table/rtb-1")
LB = arn("elasticloadbalancing", "loadbalancer/app/web/50dc6c495c0c9188")
TG = arn("elasticloadbalancing", "targetgroup/web/73e2d6bc24d8a067")
ROLE = "arn:aws:iam::123456789012:role/svc/web-task"
BUCKET = "arn:aws:s3:::web-assets"
QUEUE = arn("sqs", "web-jobs")
LAMBDA = arn("lambda", "function:resize-images")
KMS_KEY = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")


@pytest.mark.parametrize(("given", "kind"), [
    (BUCKET, "s3-bucket"),
    ("arn:aws:s3:::web-assets/app/config.json", "unsupported"),
    (arn("dynamodb", "table/web-items"), "dynamodb-table"),
    (arn("dynamodb", "table/web-items/stream/2024-01-01T00:00:00.000"), "unsupported"),
    (QUEUE, "sqs-queue"),
    (arn("sns", "web-events"), "sns-topic"),
    (arn("sns", "web-events:0b7c0b8e-1b4b-4a8e-9c3e-4f5f0a1b2c3d"), "unsupported"),
    (arn("logs", "log-group:/ecs/web:*"), "log-group"),
    (arn("logs", "log-group:/ecs/web"), "log-group"),
    (arn("cloudwatch", "alarm:web-5xx"), "cloudwatch-alarm"),
    (arn("ssm", "parameter/web/db-host"), "ssm-parameter"),
    (arn("secretsmanager", "secret:web/token-AbCdEf"), "secret"),
    (ROLE, "iam-role"),
    ("arn:aws:iam::123456789012:policy/web", "unsupported"),
    (arn("rds", "subgrp:web-db"), "db-subnet-group"),
    (VPC, "vpc"), (SUBNET, "subnet"), (RTB, "route-table"), (IGW, "internet-gateway"),
    (SG_A, "security-group"),
    (arn("ec2", "instance/i-1"), "unsupported"),
    (LB, "load-balancer"),
    (arn("elasticloadbalancing", "loadbalancer/web-classic"), "unsupported"),
    (arn("elasticloadbalancing", "listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"), "elb-listener"),
    (TG, "target-group"),
    (LAMBDA, "unsupported"),
    (KMS_KEY, "kms-key"),
    ("not-an-arn", "unsupported"),
])
def test_kind_of_arns(given, kind):
    assert sweep.kind_of(given) == kind


def test_every_ordered_type_has_a_handler():
    assert set(HANDLERS) == set(sweep.ORDER)


def test_plan_is_in_dependency_order_with_unsupported_last():
    every = [VPC, LAMBDA, SG_A, SUBNET, QUEUE, ROLE, IGW, TG, RTB, BUCKET, LB]
    plan = sweep.build_plan([(a, ours("old-1")) for a in every], live_slugs=set())
    assert [i.type for i in plan.items] == [
        "load-balancer", "target-group", "sqs-queue", "s3-bucket", "iam-role", "internet-gateway",
        "subnet", "route-table", "security-group", "vpc", "unsupported"]
    assert {i.stack for i in plan.items} == {"old-1"}


def test_plan_takes_only_our_orphans():
    found = [
        (VPC, ours("gone-1")),
        (SUBNET, ours("live-1")),                                            # live stack
        (QUEUE, OURS),                                                       # ours, but no stack
        (BUCKET, {"managed-by": "someone-else", "staging:stack": "gone-1"}),  # not ours
        (ROLE, {"staging:stack": "gone-1"}),                                 # no managed-by at all
        (TG, ours("other-1")),
    ]
    plan = sweep.build_plan(found, live_slugs={"live-1"})
    assert [(i.arn, i.stack) for i in plan.items] == [(TG, "other-1"), (VPC, "gone-1")]
    scoped = sweep.build_plan(found, live_slugs={"live-1"}, within={"gone-1", "live-1"})
    assert [i.arn for i in scoped.items] == [VPC]


def test_only_slug_takes_that_stack_whatever_the_live_slugs():
    found = [(VPC, ours("web-1")), (SUBNET, ours("api-1")),
             (QUEUE, {"managed-by": "x", "staging:stack": "web-1"})]
    plan = sweep.build_plan(found, live_slugs={"web-1"}, only_slug="web-1")
    assert [i.arn for i in plan.items] == [VPC] and plan.only_slug == "web-1"


def test_plan_sweep_asks_the_account_for_one_stack_with_only_slug():
    account = FakeAccount({VPC: ours("web-1"), SUBNET: ours("api-1")})
    assert [i.arn for i in sweep.plan_sweep(account, set(), only_slug="web-1").items] == [VPC]
    assert account.calls == [("tagged", "web-1")]
    assert [i.arn for i in sweep.plan_sweep(account, {"api-1"}).items] == [VPC]


def test_scope_from_records():
    records = [Record(slug="a", branch="a", status="ready"), Record(slug="b", branch="b", status="destroyed"),
               Record(slug="c", branch="c", status="failed")]
    assert sweep.scope_from_records(records, all_stacks=False) == ({"a", "c"}, {"a", "b", "c"})
    assert sweep.scope_from_records(records, all_stacks=True) == ({"a", "c"}, None)


def test_preview_would_delete_everything_supported():
    plan = sweep.build_plan([(VPC, ours("x")), (LAMBDA, ours("x"))], set())
    report = plan.preview()
    assert [(r.type, r.action) for r in report.results] == [
        ("vpc", "would delete"), ("unsupported", "skipped")]
    assert report.dry_run and not report.failed
    assert report.to_json()["counts"] == {"deleted": 0, "would delete": 1, "failed": 0, "skipped": 1}


def test_execute_deletes_in_order_and_prepares_security_groups_first():
    resources = {a: ours("old-1") for a in (VPC, SG_A, SG_B, SUBNET, IGW, LB, TG, ROLE)}
    account = FakeAccount(resources)
    steps = Steps()
    report = sweep.execute(account, sweep.plan_sweep(account, set()), steps)
    acts = [c for c in account.calls if c[0] in ("prepare", "delete")]
    assert acts == [("delete", LB), ("delete", TG), ("delete", ROLE), ("delete", IGW), ("delete", SUBNET),
                    ("prepare", SG_A), ("prepare", SG_B), ("delete", SG_A), ("delete", SG_B), ("delete", VPC)]
    assert {r.action for r in report.results} == {"deleted"} and not report.dry_run
    assert account.resources == {} and len(steps.lines) == len(resources)


def test_execute_rechecks_tags_on_the_resource_itself_before_deleting():
    account = FakeAccount({a: ours("old-1") for a in (VPC, SUBNET, QUEUE, BUCKET)})
    plan = sweep.plan_sweep(account, set())
    account.retag[SUBNET] = {"team": "platform"}           # untagged since the plan
    account.retag[QUEUE] = ours("live-2")                  # now belongs to another stack
    account.resources.pop(BUCKET)                          # gone since the plan
    report = {r.arn: r for r in sweep.execute(account, plan, Steps()).results}
    assert ("delete", SUBNET) not in account.calls and ("delete", QUEUE) not in account.calls
    assert ("delete", BUCKET) not in account.calls
    assert report[SUBNET].action == report[QUEUE].action == "skipped"
    assert "no longer" in report[SUBNET].error
    assert report[BUCKET].action == report[VPC].action == "deleted"


def test_failures_are_collected_and_the_rest_continue():
    account = FakeAccount({a: ours("old-1") for a in (LB, TG, QUEUE, ROLE, VPC, LAMBDA)})
    account.fail_delete[TG] = RuntimeError("ResourceInUse: target group is in use")
    account.fail_tags[ROLE] = RuntimeError("AccessDenied")
    account.fail_delete[VPC] = Skipped("goes with something else")
    report = sweep.execute(account, sweep.plan_sweep(account, set()), Steps())
    got = {r.arn: (r.action, r.error) for r in report.results}
    assert got[TG] == ("failed", "ResourceInUse: target group is in use")
    assert got[ROLE] == ("failed", "reading tags: AccessDenied")
    assert got[VPC] == ("skipped", "goes with something else")
    assert got[LAMBDA][0] == "skipped" and ("tags", LAMBDA) not in account.calls
    assert got[LB][0] == got[QUEUE][0] == "deleted"
    assert report.failed and report.count("failed") == 2
    assert report.to_json()["resources"][0] == {"arn": LB, "type": "load-balancer", "stack": "old-1",
                                                "action": "deleted", "error": ""}


def test_a_failed_prepare_keeps_that_group_but_not_the_others():
    class PrepareFails(FakeAccount):
        def prepare(self, kind: str, arn: str) -> None:
            super().prepare(kind, arn)
            if arn == SG_A:
                raise RuntimeError("InvalidPermission.NotFound")

    account = PrepareFails({SG_A: ours("o"), SG_B: ours("o")})
    got = {r.arn: r.action for r in sweep.execute(account, sweep.plan_sweep(account, set()), Steps()).results}
    assert got == {SG_A: "failed", SG_B: "deleted"} and ("delete", SG_A) not in account.calls
