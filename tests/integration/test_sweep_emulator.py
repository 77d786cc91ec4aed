"""`provisioner sweep` against a moto server over HTTP, seeded with boto3.

A sweep is account-wide by nature: on the session's shared emulator it would see (and, with
--all-stacks, delete) the stacks of every other test module, whose registries it cannot know. So
this module starts its own moto server, the same way the session fixture does.
"""

from __future__ import annotations

import json

import boto3
import pytest
from conftest import moto_server, run_cli, write_project

from provisioner import config
from provisioner.aws.clients import Aws
from provisioner.domain.record import Record
from provisioner.state.registry import Registry

REGION = "us-east-1"
ORPHAN = "orphan-login-1a2b3c4"   # no record at all: swept with --all-stacks
GONE = "gone-api-5d6e7f8"         # a destroyed record: swept by default too
LIVE = "live-main-9a8b7c6"        # a ready record: never swept


def ours(slug: str) -> dict[str, str]:
    return {"managed-by": "staging-provisioner", "staging:stack": slug, "staging:owner": "it"}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def ec2_spec(kind: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": kind, "Tags": tag_list(tags)}]


@pytest.fixture(scope="module")
def own_moto(tmp_path_factory):
    """A private emulator: a sweep covers the whole account, so it must not see other tests' stacks."""
    with moto_server(tmp_path_factory.mktemp("moto-sweep")) as url:
        yield url


class Seeder:
    """Creates resources with boto3 over HTTP; each helper returns {arn: sweep type}."""

    SERVICES = ("ec2", "s3", "iam", "sqs", "sns", "dynamodb", "logs", "cloudwatch", "ssm", "secretsmanager",
                "elbv2", "rds", "sts")

    def __init__(self, url: str) -> None:
        self.c = {s: boto3.client(s, region_name=REGION, endpoint_url=url, aws_access_key_id="test",
                                  aws_secret_access_key="test") for s in self.SERVICES}
        self.account = self.c["sts"].get_caller_identity()["Account"]

    def ec2_arn(self, kind: str, rid: str) -> str:
        return f"arn:aws:ec2:{REGION}:{self.account}:{kind}/{rid}"

    def network(self, tags: dict[str, str], cidr: str) -> dict[str, str]:
        """VPC, two subnets, a route table associated with one, an attached internet gateway, and
        two security groups whose rules reference each other."""
        ec2 = self.c["ec2"]
        vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16",
                             TagSpecifications=ec2_spec("vpc", tags))["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{n}.0/24", AvailabilityZone=REGION + az,
                                     TagSpecifications=ec2_spec("subnet", tags))["Subnet"]["SubnetId"]
                   for n, az in ((1, "a"), (2, "b"))]
        rt = ec2.create_route_table(VpcId=vpc, TagSpecifications=ec2_spec("route-table", tags))
        rt_id = rt["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=rt_id, SubnetId=subnets[0])
        igw = ec2.create_internet_gateway(TagSpecifications=ec2_spec("internet-gateway", tags))
        igw_id = igw["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc)
        sgs = [ec2.create_security_group(GroupName=f"sg-{n}-{cidr}", Description="it", VpcId=vpc,
                                         TagSpecifications=ec2_spec("security-group", tags))["GroupId"]
               for n in ("a", "b")]
        for me, other in (sgs, sgs[::-1]):
            ec2.authorize_security_group_ingress(GroupId=me, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                "UserIdGroupPairs": [{"GroupId": other}]}])
        made = {self.ec2_arn("vpc", vpc): "vpc", self.ec2_arn("route-table", rt_id): "route-table",
                self.ec2_arn("internet-gateway", igw_id): "internet-gateway"}
        made.update({self.ec2_arn("subnet", s): "subnet" for s in subnets})
        made.update({self.ec2_arn("security-group", g): "security-group" for g in sgs})
        self.vpc, self.subnets = vpc, subnets
        return made

    def bucket(self, name: str, tags: dict[str, str] | None) -> dict[str, str]:
        """Versioned, with two versions of one object and a delete marker."""
        s3 = self.c["s3"]
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for body in (b"one", b"two"):
            s3.put_object(Bucket=name, Key="app/config.json", Body=body)
        s3.put_object(Bucket=name, Key="other.txt", Body=b"x")
        s3.delete_object(Bucket=name, Key="other.txt")
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
        return {f"arn:aws:s3:::{name}": "s3-bucket"}

    def role(self, name: str, tags: dict[str, str] | None, policy_arn: str | None = None) -> dict[str, str]:
        """With an inline policy; with ``policy_arn`` also an attached policy and an instance profile."""
        iam = self.c["iam"]
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs.amazonaws.com"}}]}
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                              Tags=tag_list(tags or {}))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        if policy_arn:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
            iam.create_instance_profile(InstanceProfileName=name, Tags=tag_list(tags or {}))
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return {arn: "iam-role"}

    def queue(self, name: str, tags: dict[str, str] | None) -> dict[str, str]:
        sqs = self.c["sqs"]
        url = sqs.create_queue(QueueName=name, tags=tags or {})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {arn: "sqs-queue"}

    def small(self, slug: str, tags: dict[str, str] | None) -> dict[str, str]:
        """A table, a log group, a parameter and a secret."""
        c, t, acct = self.c, tag_list(tags or {}), self.account
        table = c["dynamodb"].create_table(
            TableName=f"{slug}-items", BillingMode="PAY_PER_REQUEST", Tags=t,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])["TableDescription"]["TableArn"]
        c["logs"].create_log_group(logGroupName=f"/ecs/{slug}", **({"tags": tags} if tags else {}))
        c["ssm"].put_parameter(Name=f"/{slug}/db-host", Value="db", Type="String",
                               **({"Tags": t} if t else {}))
        secret = c["secretsmanager"].create_secret(Name=f"{slug}/token", SecretString="s3cr3t",
                                                   **({"Tags": t} if t else {}))["ARN"]
        return {table: "dynamodb-table", f"arn:aws:logs:{REGION}:{acct}:log-group:/ecs/{slug}": "log-group",
                f"arn:aws:ssm:{REGION}:{acct}:parameter/{slug}/db-host": "ssm-parameter", secret: "secret"}


def seed_orphans(s: Seeder) -> dict[str, str]:
    """One orphan of each supported type (listeners go with their load balancer)."""
    tags = ours(ORPHAN)
    made = s.network(tags, "10.9")
    made.update(s.bucket("orphan-assets", tags))
    policy = s.c["iam"].create_policy(PolicyName="shared-read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}))
    made.update(s.role(f"{ORPHAN}-task", tags, policy["Policy"]["Arn"]))
    made.update(s.queue(f"{ORPHAN}-jobs", tags))
    topic = s.c["sns"].create_topic(Name=f"{ORPHAN}-events", Tags=tag_list(tags))["TopicArn"]
    queue_arn = next(a for a, k in made.items() if k == "sqs-queue")
    s.c["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    made[topic] = "sns-topic"
    made.update(s.small(ORPHAN, tags))
    s.c["cloudwatch"].put_metric_alarm(
        AlarmName=f"{ORPHAN}-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanThreshold", Tags=tag_list(tags))
    made[f"arn:aws:cloudwatch:{REGION}:{s.account}:alarm:{ORPHAN}-5xx"] = "cloudwatch-alarm"
    made.update(seed_load_balancer(s, tags))
    group = s.c["rds"].create_db_subnet_group(DBSubnetGroupName=f"{ORPHAN}-db", DBSubnetGroupDescription="it",
                                              SubnetIds=s.subnets, Tags=tag_list(tags))
    made[group["DBSubnetGroup"]["DBSubnetGroupArn"]] = "db-subnet-group"
    return made


def seed_load_balancer(s: Seeder, tags: dict[str, str]) -> dict[str, str]:
    elb, t = s.c["elbv2"], tag_list(tags)
    tg = elb.create_target_group(Name=f"{ORPHAN}-web"[:32], Protocol="HTTP", Port=80, VpcId=s.vpc,
                                 TargetType="ip", Tags=t)["TargetGroups"][0]["TargetGroupArn"]
    lb = elb.create_load_balancer(Name=f"{ORPHAN}-alb"[:32], Subnets=s.subnets, Tags=t)["LoadBalancers"][0]
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    return {tg: "target-group", lb["LoadBalancerArn"]: "load-balancer"}


def seed_untouchables(s: Seeder) -> dict[str, str]:
    """Untagged twins, a foreign managed-by value, and the resources of a live stack."""
    made = s.network({"team": "platform"}, "10.8")
    made.update(s.bucket("untagged-assets", None))
    made.update(s.role("untagged-task", None))
    made.update(s.queue("untagged-jobs", None))
    made.update(s.queue("foreign-jobs", {"managed-by": "someone-else", "staging:stack": ORPHAN}))
    made.update(s.small("untagged", None))
    made.update(s.queue(f"{LIVE}-jobs", ours(LIVE)))
    made.update(s.bucket(f"{LIVE}-assets", ours(LIVE)))
    made.update(s.role(f"{LIVE}-task", ours(LIVE)))
    return made


@pytest.fixture(scope="module")
def account(own_moto, provider_mirror, tmp_path_factory):
    cfg = write_project(tmp_path_factory.mktemp("sweep") / "proj", own_moto, provider_mirror)
    run_cli(cfg, "bootstrap")
    s = Seeder(own_moto)
    registry = Registry(Aws(region=REGION, endpoint=own_moto), config.load(str(cfg)).registry.table)
    registry.put(Record(slug=LIVE, branch="main", status="ready", created_at=1.0), None)
    registry.put(Record(slug=GONE, branch="api", status="destroyed", created_at=2.0), None)
    gone = s.queue(f"{GONE}-jobs", ours(GONE))
    s.c["logs"].create_log_group(logGroupName=f"/ecs/{GONE}", tags=ours(GONE))
    gone[f"arn:aws:logs:{REGION}:{s.account}:log-group:/ecs/{GONE}"] = "log-group"
    return {"cfg": cfg, "seeder": s, "orphans": seed_orphans(s), "gone": gone,
            "untouchables": seed_untouchables(s)}


def inventory(s: Seeder) -> set[str]:
    """Every ARN that exists now, read per service (not through the sweep's code)."""
    c, ec2, acct = s.c, s.c["ec2"], s.account
    arns = {s.ec2_arn("vpc", v["VpcId"]) for v in ec2.describe_vpcs()["Vpcs"]}
    arns |= {s.ec2_arn("subnet", v["SubnetId"]) for v in ec2.describe_subnets()["Subnets"]}
    arns |= {s.ec2_arn("route-table", v["RouteTableId"]) for v in ec2.describe_route_tables()["RouteTables"]}
    arns |= {s.ec2_arn("internet-gateway", v["InternetGatewayId"])
             for v in ec2.describe_internet_gateways()["InternetGateways"]}
    arns |= {s.ec2_arn("security-group", v["GroupId"])
             for v in ec2.describe_security_groups()["SecurityGroups"]}
    arns |= {f"arn:aws:s3:::{b['Name']}" for b in c["s3"].list_buckets()["Buckets"]}
    arns |= {r["Arn"] for r in c["iam"].list_roles()["Roles"]}
    arns |= {c["sqs"].get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
             for u in c["sqs"].list_queues().get("QueueUrls", [])}
    arns |= {t["TopicArn"] for t in c["sns"].list_topics()["Topics"]}
    arns |= {c["dynamodb"].describe_table(TableName=t)["Table"]["TableArn"]
             for t in c["dynamodb"].list_tables()["TableNames"]}
    arns |= {f"arn:aws:logs:{REGION}:{acct}:log-group:{g['logGroupName']}"
             for g in c["logs"].describe_log_groups()["logGroups"]}
    arns |= {a["AlarmArn"] for a in c["cloudwatch"].describe_alarms()["MetricAlarms"]}
    arns |= {f"arn:aws:ssm:{REGION}:{acct}:parameter/{p['Name'].lstrip('/')}"
             for p in c["ssm"].describe_parameters()["Parameters"]}
    arns |= {x["ARN"] for x in c["secretsmanager"].list_secrets()["SecretList"]}
    arns |= {lb["LoadBalancerArn"] for lb in c["elbv2"].describe_load_balancers()["LoadBalancers"]}
    arns |= {tg["TargetGroupArn"] for tg in c["elbv2"].describe_target_groups()["TargetGroups"]}
    arns |= {g["DBSubnetGroupArn"] for g in c["rds"].describe_db_subnet_groups()["DBSubnetGroups"]}
    return arns


def sweep(cfg, *args: str) -> dict:
    return json.loads(run_cli(cfg, "sweep", "--json", *args).stdout)


def by_arn(report: dict) -> dict[str, dict]:
    return {r["arn"].removesuffix(":*"): r for r in report["resources"]}


def test_dry_run_lists_exactly_the_orphans_and_deletes_nothing(account):
    cfg, s = account["cfg"], account["seeder"]
    before = inventory(s)
    every = {**account["orphans"], **account["gone"]}
    assert set(every) | set(account["untouchables"]) <= before
    report = sweep(cfg, "--dry-run", "--all-stacks")
    found = by_arn(report)
    assert sorted(found) == sorted(every)
    assert {a: (r["type"], r["action"]) for a, r in found.items()} == {
        a: (kind, "would delete") for a, kind in every.items()}
    assert {r["stack"] for r in found.values()} == {ORPHAN, GONE}
    assert report["dry_run"] is True and report["counts"]["would delete"] == len(every)
    assert sorted(by_arn(sweep(cfg, "--dry-run"))) == sorted(account["gone"])
    assert inventory(s) == before


def test_default_sweep_only_takes_stacks_the_registry_knows(account):
    cfg, s = account["cfg"], account["seeder"]
    report = sweep(cfg)
    assert {a: r["action"] for a, r in by_arn(report).items()} == {a: "deleted" for a in account["gone"]}
    alive = inventory(s)
    assert not set(account["gone"]) & alive
    assert set(account["orphans"]) | set(account["untouchables"]) <= alive


def test_all_stacks_sweep_deletes_every_orphan_and_nothing_else(account):
    cfg, s = account["cfg"], account["seeder"]
    proc = run_cli(cfg, "sweep", "--all-stacks")
    assert proc.stdout.splitlines()[0].split() == ["ACTION", "TYPE", "STACK", "ARN"]
    assert f"{len(account['orphans'])} deleted" in proc.stdout.splitlines()[-1]
    alive = inventory(s)
    assert not set(account["orphans"]) & alive
    assert set(account["untouchables"]) <= alive
    iam = s.c["iam"]
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]] == ["shared-read"]
    assert not iam.list_instance_profiles()["InstanceProfiles"]
    assert not s.c["sns"].list_subscriptions()["Subscriptions"]
    versions = s.c["s3"].list_object_versions(Bucket="untagged-assets")
    assert len(versions["Versions"]) == 3 and len(versions["DeleteMarkers"]) == 1


def test_a_second_sweep_finds_nothing(account):
    report = sweep(account["cfg"], "--all-stacks")
    assert report["resources"] == [] and report["dry_run"] is False
