"""One handler per resource type: read its tags, prepare it (detach, empty) and delete it,
through boto3 clients of ``Aws``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioner.aws.clients import Aws
from provisioner.aws.errors import error_code
from provisioner.domain import tags
from provisioner.sweep import leaving


class Skipped(Exception):  # noqa: N818  (an outcome, not an error)
    """A handler decided not to delete a resource (the reason is the message)."""


def tag_map(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list or []}


@dataclass(frozen=True)
class _Handler:
    tags: Callable[[Aws, str], dict[str, str] | None]
    delete: Callable[[Aws, str], None]
    prepare: Callable[[Aws, str], None] | None = None


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """(region, account, resource) of an ARN."""
    _arn, _partition, _service, region, account, resource = arn.split(":", 5)
    return region, account, resource


def _s3_tags(aws: Aws, arn: str) -> dict[str, str]:
    try:
        return tag_map(aws.client("s3").get_bucket_tagging(Bucket=_arn_parts(arn)[2])["TagSet"])
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
    return tag_map(aws.client("dynamodb").list_tags_of_resource(ResourceArn=arn).get("Tags"))


def _dynamodb_delete(aws: Aws, arn: str) -> None:
    aws.client("dynamodb").delete_table(TableName=_arn_parts(arn)[2].split("/", 1)[1])


def _queue_url(aws: Aws, arn: str) -> str:
    _region, account, name = _arn_parts(arn)
    return str(aws.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def _sqs_tags(aws: Aws, arn: str) -> dict[str, str]:
    return dict(aws.client("sqs").list_queue_tags(QueueUrl=_queue_url(aws, arn)).get("Tags") or {})


def _sqs_delete(aws: Aws, arn: str) -> None:
    aws.client("sqs").delete_queue(QueueUrl=_queue_url(aws, arn))


def _sns_tags(aws: Aws, arn: str) -> dict[str, str]:
    return tag_map(aws.client("sns").list_tags_for_resource(ResourceArn=arn).get("Tags"))


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
    return tag_map(cw.list_tags_for_resource(ResourceARN=arn).get("Tags"))


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
    return tag_map(ssm.list_tags_for_resource(ResourceType="Parameter",
                                               ResourceId=_ssm_name(aws, arn)).get("TagList"))


def _ssm_delete(aws: Aws, arn: str) -> None:
    aws.client("ssm").delete_parameter(Name=_ssm_name(aws, arn))


def _secret_tags(aws: Aws, arn: str) -> dict[str, str]:
    return tag_map(aws.client("secretsmanager").describe_secret(SecretId=arn).get("Tags"))


def _secret_delete(aws: Aws, arn: str) -> None:
    aws.client("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def _role_tags(aws: Aws, arn: str) -> dict[str, str]:
    return tag_map(aws.client("iam").list_role_tags(RoleName=_role_name(arn)).get("Tags"))


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
    if tag_map(found.get("Tags")).get(tags.MANAGED_BY) == tags.MANAGED_BY_VALUE and not found.get("Roles"):
        iam.delete_instance_profile(InstanceProfileName=profile)


def _db_subnet_group_tags(aws: Aws, arn: str) -> dict[str, str]:
    return tag_map(aws.client("rds").list_tags_for_resource(ResourceName=arn).get("TagList"))


def _db_subnet_group_delete(aws: Aws, arn: str) -> None:
    aws.client("rds").delete_db_subnet_group(DBSubnetGroupName=_arn_parts(arn)[2].split(":", 1)[1])


def _elb_tags(aws: Aws, arn: str) -> dict[str, str]:
    found = aws.client("elbv2").describe_tags(ResourceArns=[arn]).get("TagDescriptions", [])
    return tag_map(found[0].get("Tags")) if found else {}


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
        return None if one is None else tag_map(one.get("Tags"))
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
    "kms-key": _Handler(leaving.kms_tags, leaving.kms_delete),
    "iam-role": _Handler(_role_tags, _role_delete),
    "db-subnet-group": _Handler(_db_subnet_group_tags, _db_subnet_group_delete),
    "internet-gateway": _Handler(_ec2_tags("internet-gateway"), _igw_delete),
    "subnet": _Handler(_ec2_tags("subnet"), _subnet_delete),
    "route-table": _Handler(_ec2_tags("route-table"), _route_table_delete),
    "security-group": _Handler(_ec2_tags("security-group"), _sg_delete, _sg_revoke_group_rules),
    "vpc": _Handler(_ec2_tags("vpc"), _vpc_delete),
}
