"""Find resources by our tags, and delete the orphans among them (compute, then act).

``plan_sweep`` lists everything carrying ``managed-by=staging-provisioner`` whose stack has no
live record (or, with ``only_slug``, everything left of one stack) and orders it for deletion;
``execute`` re-reads each resource's own tags right before deleting it (a resource that no longer
carries our tag and stack is left alone), collects failures per resource and carries on.

The tagging API misses some types under the emulator and for IAM globally (HARNESS.md:
aws_iam_role, aws_db_subnet_group; moto 5.2.5 also lists no ELBv2 listeners, which go with their
load balancer), so those are listed per service. The AWS calls per resource type are the
``HANDLERS`` at the bottom, behind the small ``Account`` interface that unit tests fake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

from provisioner.aws.clients import Aws
from provisioner.aws.errors import error_code
from provisioner.domain import tags

# Deletion order: what depends on something comes before it.
ORDER = (
    "elb-listener", "load-balancer", "target-group",
    "cloudwatch-alarm", "log-group", "ssm-parameter", "secret", "sqs-queue", "sns-topic",
    "dynamodb-table", "s3-bucket",
    "iam-role", "db-subnet-group",
    "internet-gateway", "subnet", "route-table", "security-group", "vpc",
)
UNSUPPORTED = "unsupported"


class Skipped(Exception):  # noqa: N818  (an outcome, not an error)
    """A handler decided not to delete a resource (the reason is the message)."""


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


# --- plan and report (pure) ----------------------------------------------------------------------

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
    ("secretsmanager", "secret"): "secret", ("iam", "role"): "iam-role",
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


# --- execute -------------------------------------------------------------------------------------

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


def find_tagged(aws: Aws, slug: str | None = None) -> list[str]:
    """ARNs of live resources managed by us (of one stack when ``slug`` is given)."""
    return sorted({arn for arn, _tags in AwsAccount(aws).tagged(slug)})


# --- the real account ----------------------------------------------------------------------------

def _tag_map(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list or []}


_GONE = {"NoSuchBucket", "NoSuchEntity", "InvalidResourceId", "ParameterNotFound", "NotFound",
         "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def _is_gone(exc: BaseException) -> bool:
    code = error_code(exc)
    return code in _GONE or code.endswith(("NotFound", "NotFoundException", "NotFoundFault"))


@dataclass(frozen=True)
class _Handler:
    tags: Callable[[Aws, str], dict[str, str] | None]
    delete: Callable[[Aws, str], None]
    prepare: Callable[[Aws, str], None] | None = None


class AwsAccount:
    """``Account`` over boto3 clients from ``Aws.client`` (retries configured there)."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def tagged(self, only_slug: str | None) -> list[tuple[str, dict[str, str]]]:
        wanted = {tags.MANAGED_BY: tags.MANAGED_BY_VALUE}
        if only_slug:
            wanted[tags.STACK] = only_slug
        found = dict(_via_tagging_api(self.aws, wanted))
        for lister in (_iam_roles, _db_subnet_groups):
            found.update((arn, t) for arn, t in lister(self.aws) if _matches(t, wanted))
        return sorted(found.items())

    def tags(self, kind: str, arn: str) -> dict[str, str] | None:
        try:
            return HANDLERS[kind].tags(self.aws, arn)
        except Exception as exc:
            if _is_gone(exc):
                return None
            raise

    def prepare(self, kind: str, arn: str) -> None:
        step = HANDLERS[kind].prepare
        if step is not None:
            step(self.aws, arn)

    def delete(self, kind: str, arn: str) -> None:
        try:
            HANDLERS[kind].delete(self.aws, arn)
        except Exception as exc:
            if not _is_gone(exc):
                raise


def _matches(have: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(have.get(k) == v for k, v in wanted.items())


def _via_tagging_api(aws: Aws, wanted: dict[str, str]) -> Iterable[tuple[str, dict[str, str]]]:
    api = aws.client("resourcegroupstaggingapi")
    filters = [{"Key": k, "Values": [v]} for k, v in wanted.items()]
    for page in api.get_paginator("get_resources").paginate(TagFilters=filters):
        for r in page.get("ResourceTagMappingList", []):
            yield r["ResourceARN"], _tag_map(r.get("Tags"))


def _iam_roles(aws: Aws) -> Iterable[tuple[str, dict[str, str]]]:
    iam = aws.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            yield role["Arn"], _tag_map(iam.list_role_tags(RoleName=role["RoleName"]).get("Tags"))


def _db_subnet_groups(aws: Aws) -> Iterable[tuple[str, dict[str, str]]]:
    rds = aws.client("rds")
    for page in rds.get_paginator("describe_db_subnet_groups").paginate():
        for group in page.get("DBSubnetGroups", []):
            arn = group["DBSubnetGroupArn"]
            yield arn, _tag_map(rds.list_tags_for_resource(ResourceName=arn).get("TagList"))


# --- per-type handlers: read the resource's own tags, delete it with what blocks it ---------------

def _arn_parts(arn: str) -> tuple[str, str, str]:
    """(region, account, resource) of an ARN."""
    _arn, _partition, _service, region, account, resource = arn.split(":", 5)
    return region, account, resource


def _s3_tags(aws: Aws, arn: str) -> dict[str, str]:
    try:
        return _tag_map(aws.client("s3").get_bucket_tagging(Bucket=_arn_parts(arn)[2])["TagSet"])
    except Exception as exc:
        if error_code(exc) == "NoSuchTagSet":
            return {}
        raise


def _s3_delete(aws: Aws, arn: str) -> None:
    """Every object version and delete marker first, then the bucket."""
    s3, bucket = aws.client("s3"), _arn_parts(arn)[2]
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if keys:
            errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True}).get("Errors")
            if errors:
                raise RuntimeError(f"{len(errors)} objects not deleted, first: {errors[0]}")
    s3.delete_bucket(Bucket=bucket)


def _dynamodb_tags(aws: Aws, arn: str) -> dict[str, str]:
    return _tag_map(aws.client("dynamodb").list_tags_of_resource(ResourceArn=arn).get("Tags"))


def _dynamodb_delete(aws: Aws, arn: str) -> None:
    aws.client("dynamodb").delete_table(TableName=_arn_parts(arn)[2].split("/", 1)[1])


def _queue_url(aws: Aws, arn: str) -> str:
    _region, account, name = _arn_parts(arn)
    return aws.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def _sqs_tags(aws: Aws, arn: str) -> dict[str, str]:
    return dict(aws.client("sqs").list_queue_tags(QueueUrl=_queue_url(aws, arn)).get("Tags") or {})


def _sqs_delete(aws: Aws, arn: str) -> None:
    aws.client("sqs").delete_queue(QueueUrl=_queue_url(aws, arn))


def _sns_tags(aws: Aws, arn: str) -> dict[str, str]:
    return _tag_map(aws.client("sns").list_tags_for_resource(ResourceArn=arn).get("Tags"))


def _sns_delete(aws: Aws, arn: str) -> None:
    """Subscriptions first (pending ones have no ARN yet and go with the topic), then the topic."""
    sns = aws.client("sns")
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn):
        for sub in page.get("Subscriptions", []):
            if sub["SubscriptionArn"].startswith("arn:"):
                sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    sns.delete_topic(TopicArn=arn)


def _log_group_arn(arn: str) -> str:
    return arn[:-2] if arn.endswith(":*") else arn


def _logs_tags(aws: Aws, arn: str) -> dict[str, str]:
    return dict(aws.client("logs").list_tags_for_resource(resourceArn=_log_group_arn(arn)).get("tags") or {})


def _logs_delete(aws: Aws, arn: str) -> None:
    name = _arn_parts(_log_group_arn(arn))[2].split(":", 1)[1]
    aws.client("logs").delete_log_group(logGroupName=name)


def _alarm_name(arn: str) -> str:
    return _arn_parts(arn)[2].split(":", 1)[1]


def _alarm_tags(aws: Aws, arn: str) -> dict[str, str] | None:
    cw = aws.client("cloudwatch")
    if not cw.describe_alarms(AlarmNames=[_alarm_name(arn)]).get("MetricAlarms"):
        return None
    return _tag_map(cw.list_tags_for_resource(ResourceARN=arn).get("Tags"))


def _alarm_delete(aws: Aws, arn: str) -> None:
    aws.client("cloudwatch").delete_alarms(AlarmNames=[_alarm_name(arn)])


def _ssm_name(aws: Aws, arn: str) -> str:
    """``parameter/a/b`` is ``/a/b``; ``parameter/x`` is ``x`` or ``/x`` (the one that exists)."""
    rest = _arn_parts(arn)[2].split("/", 1)[1]
    if "/" in rest:
        return "/" + rest
    found = aws.client("ssm").describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [rest, "/" + rest]}])
    names = [p["Name"] for p in found.get("Parameters", [])]
    return rest if rest in names or not names else names[0]


def _ssm_tags(aws: Aws, arn: str) -> dict[str, str]:
    ssm = aws.client("ssm")
    return _tag_map(ssm.list_tags_for_resource(ResourceType="Parameter",
                                               ResourceId=_ssm_name(aws, arn)).get("TagList"))


def _ssm_delete(aws: Aws, arn: str) -> None:
    aws.client("ssm").delete_parameter(Name=_ssm_name(aws, arn))


def _secret_tags(aws: Aws, arn: str) -> dict[str, str]:
    return _tag_map(aws.client("secretsmanager").describe_secret(SecretId=arn).get("Tags"))


def _secret_delete(aws: Aws, arn: str) -> None:
    aws.client("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def _role_tags(aws: Aws, arn: str) -> dict[str, str]:
    return _tag_map(aws.client("iam").list_role_tags(RoleName=_role_name(arn)).get("Tags"))


def _role_delete(aws: Aws, arn: str) -> None:
    """Managed policies detached, inline policies and our instance profiles deleted, then the role."""
    iam, name = aws.client("iam"), _role_name(arn)
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for policy in page.get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page.get("PolicyNames", []):
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
        for profile in page.get("InstanceProfiles", []):
            iam.remove_role_from_instance_profile(RoleName=name,
                                                  InstanceProfileName=profile["InstanceProfileName"])
            _delete_profile_if_ours(iam, profile["InstanceProfileName"])
    iam.delete_role(RoleName=name)


def _delete_profile_if_ours(iam: Any, profile: str) -> None:
    """An instance profile carrying our managed-by tag and no other role is deleted with the role.
    (GetInstanceProfile returns the tags: moto 5.2.5 lacks ListInstanceProfileTags.)"""
    found = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    if _tag_map(found.get("Tags")).get(tags.MANAGED_BY) == tags.MANAGED_BY_VALUE and not found.get("Roles"):
        iam.delete_instance_profile(InstanceProfileName=profile)


def _db_subnet_group_tags(aws: Aws, arn: str) -> dict[str, str]:
    return _tag_map(aws.client("rds").list_tags_for_resource(ResourceName=arn).get("TagList"))


def _db_subnet_group_delete(aws: Aws, arn: str) -> None:
    aws.client("rds").delete_db_subnet_group(DBSubnetGroupName=_arn_parts(arn)[2].split(":", 1)[1])


def _elb_tags(aws: Aws, arn: str) -> dict[str, str]:
    found = aws.client("elbv2").describe_tags(ResourceArns=[arn]).get("TagDescriptions", [])
    return _tag_map(found[0].get("Tags")) if found else {}


def _lb_delete(aws: Aws, arn: str) -> None:
    """Listeners first, then the load balancer; wait until it is gone (its target groups are
    in use until then)."""
    elb = aws.client("elbv2")
    for page in elb.get_paginator("describe_listeners").paginate(LoadBalancerArn=arn):
        for listener in page.get("Listeners", []):
            elb.delete_listener(ListenerArn=listener["ListenerArn"])
    elb.delete_load_balancer(LoadBalancerArn=arn)
    elb.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[arn],
                                                  WaiterConfig={"Delay": 5, "MaxAttempts": 60})


def _listener_delete(aws: Aws, arn: str) -> None:
    aws.client("elbv2").delete_listener(ListenerArn=arn)


def _target_group_delete(aws: Aws, arn: str) -> None:
    aws.client("elbv2").delete_target_group(TargetGroupArn=arn)


def _ec2_id(arn: str) -> str:
    return _arn_parts(arn)[2].split("/", 1)[1]


_EC2_DESCRIBE: dict[str, Callable[[Any, str], list[dict[str, Any]]]] = {
    "vpc": lambda ec2, rid: ec2.describe_vpcs(VpcIds=[rid])["Vpcs"],
    "subnet": lambda ec2, rid: ec2.describe_subnets(SubnetIds=[rid])["Subnets"],
    "route-table": lambda ec2, rid: ec2.describe_route_tables(RouteTableIds=[rid])["RouteTables"],
    "internet-gateway": lambda ec2, rid: ec2.describe_internet_gateways(
        InternetGatewayIds=[rid])["InternetGateways"],
    "security-group": lambda ec2, rid: ec2.describe_security_groups(GroupIds=[rid])["SecurityGroups"],
}


def _ec2_one(aws: Aws, kind: str, arn: str) -> dict[str, Any] | None:
    found = _EC2_DESCRIBE[kind](aws.client("ec2"), _ec2_id(arn))
    return found[0] if found else None


def _ec2_tags(kind: str) -> Callable[[Aws, str], dict[str, str] | None]:
    def read(aws: Aws, arn: str) -> dict[str, str] | None:
        one = _ec2_one(aws, kind, arn)
        return None if one is None else _tag_map(one.get("Tags"))
    return read


def _igw_delete(aws: Aws, arn: str) -> None:
    ec2, igw = aws.client("ec2"), _ec2_id(arn)
    for att in (_ec2_one(aws, "internet-gateway", arn) or {}).get("Attachments", []):
        ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=att["VpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=igw)


def _route_table_delete(aws: Aws, arn: str) -> None:
    ec2, table = aws.client("ec2"), _ec2_one(aws, "route-table", arn) or {}
    associations = table.get("Associations", [])
    if any(a.get("Main") for a in associations):
        raise Skipped("the main route table of its VPC goes with the VPC")
    for a in associations:
        ec2.disassociate_route_table(AssociationId=a["RouteTableAssociationId"])
    ec2.delete_route_table(RouteTableId=_ec2_id(arn))


def _sg_revoke_group_rules(aws: Aws, arn: str) -> None:
    """Revoke this group's rules that reference other groups (they block deleting those)."""
    ec2, group = aws.client("ec2"), _ec2_one(aws, "security-group", arn) or {}
    for revoke, perms in ((ec2.revoke_security_group_ingress, group.get("IpPermissions", [])),
                          (ec2.revoke_security_group_egress, group.get("IpPermissionsEgress", []))):
        refs = [{k: v for k, v in p.items() if k in ("IpProtocol", "FromPort", "ToPort", "UserIdGroupPairs")}
                for p in perms if p.get("UserIdGroupPairs")]
        if refs:
            revoke(GroupId=group["GroupId"], IpPermissions=refs)


def _sg_delete(aws: Aws, arn: str) -> None:
    if (_ec2_one(aws, "security-group", arn) or {}).get("GroupName") == "default":
        raise Skipped("the default security group of its VPC goes with the VPC")
    aws.client("ec2").delete_security_group(GroupId=_ec2_id(arn))


def _subnet_delete(aws: Aws, arn: str) -> None:
    aws.client("ec2").delete_subnet(SubnetId=_ec2_id(arn))


def _vpc_delete(aws: Aws, arn: str) -> None:
    aws.client("ec2").delete_vpc(VpcId=_ec2_id(arn))


HANDLERS: dict[str, _Handler] = {
    "elb-listener": _Handler(_elb_tags, _listener_delete),
    "load-balancer": _Handler(_elb_tags, _lb_delete),
    "target-group": _Handler(_elb_tags, _target_group_delete),
    "cloudwatch-alarm": _Handler(_alarm_tags, _alarm_delete),
    "log-group": _Handler(_logs_tags, _logs_delete),
    "ssm-parameter": _Handler(_ssm_tags, _ssm_delete),
    "secret": _Handler(_secret_tags, _secret_delete),
    "sqs-queue": _Handler(_sqs_tags, _sqs_delete),
    "sns-topic": _Handler(_sns_tags, _sns_delete),
    "dynamodb-table": _Handler(_dynamodb_tags, _dynamodb_delete),
    "s3-bucket": _Handler(_s3_tags, _s3_delete),
    "iam-role": _Handler(_role_tags, _role_delete),
    "db-subnet-group": _Handler(_db_subnet_group_tags, _db_subnet_group_delete),
    "internet-gateway": _Handler(_ec2_tags("internet-gateway"), _igw_delete),
    "subnet": _Handler(_ec2_tags("subnet"), _subnet_delete),
    "route-table": _Handler(_ec2_tags("route-table"), _route_table_delete),
    "security-group": _Handler(_ec2_tags("security-group"), _sg_delete, _sg_revoke_group_rules),
    "vpc": _Handler(_ec2_tags("vpc"), _vpc_delete),
}
