"""The tool on a repository it was not written around: tests/teamrepo, shaped like a real team's
(nested submodules reached by ../../, for_each over a map of objects, default_tags in locals with a
``managed-by`` of their own, an aliased provider in a second region, a provider that assumes a role
in a production account, a production ``backend "s3"`` block, a committed terraform.tfvars and
common.auto.tfvars, a lock file from a Mac, a bucket named after terraform.workspace, a KMS key).

Real CLI, real Terraform and provider, the moto server over HTTP; boto3 looks behind the tool's back,
in both regions and under the production account's own credentials.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from conftest import moto_server, run_cli
from projects import TEAM_PRODUCTION_ACCOUNT as PRODUCTION_ACCOUNT
from projects import TEAM_ROOT as ROOT
from projects import copy_team_repo as copy_repo
from projects import write_team_config as write_config

from provisioner.domain import tags
from provisioner.domain.naming import stack_id

pytestmark = pytest.mark.integration

REGIONS = ("us-east-1", "us-west-2")
TEAM_TAGS = {"team": "orders", "cost-center": "cc-4711"}


def client(moto_url: str, service: str, region: str = "us-east-1"):
    return boto3.client(service, endpoint_url=moto_url, region_name=region, aws_access_key_id="test",
                        aws_secret_access_key="test")


def production_clients(moto_url: str, region: str) -> dict:
    """Clients under credentials of the production account: moto 5.2.5 ties an access key to an
    account through AssumeRole (the access key id alone does not choose one)."""
    role = f"arn:aws:iam::{PRODUCTION_ACCOUNT}:role/orders-deploy"
    creds = client(moto_url, "sts").assume_role(RoleArn=role, RoleSessionName="it-check")["Credentials"]
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], region_name=region)
    out = {s: session.client(s, endpoint_url=moto_url) for s in ("sts", "s3", "sqs", "dynamodb", "kms")}
    assert out["sts"].get_caller_identity()["Account"] == PRODUCTION_ACCOUNT
    return out


def tagged(moto_url: str, slug: str, region: str) -> dict[str, dict[str, str]]:
    pages = client(moto_url, "resourcegroupstaggingapi", region).get_paginator("get_resources").paginate(
        TagFilters=[{"Key": tags.STACK, "Values": [slug]}])
    return {r["ResourceARN"]: {t["Key"]: t["Value"] for t in r["Tags"]}
            for page in pages for r in page["ResourceTagMappingList"]}


def kms_live(moto_url: str, arn: str) -> bool:
    state = client(moto_url, "kms").describe_key(KeyId=arn)["KeyMetadata"]["KeyState"]
    return state != "PendingDeletion"


def live_tagged(moto_url: str, slug: str) -> list[str]:
    """What still carries the stack's tag in either region, KMS keys pending deletion left out."""
    return [arn for region in REGIONS for arn in tagged(moto_url, slug, region)
            if ":kms:" not in arn or kms_live(moto_url, arn)]


def buckets(moto_url: str) -> set[str]:
    return {b["Name"] for b in client(moto_url, "s3").list_buckets()["Buckets"]}


@pytest.fixture(scope="module")
def team(tmp_path_factory, moto_url, provider_mirror):
    repo = copy_repo(tmp_path_factory.mktemp("teamrepo") / "orders-infra")
    return repo, write_config(repo, moto_url, provider_mirror, "main")


def test_render_stages_what_terraform_would_load(team):
    repo, cfg = team
    out = run_cli(cfg, "render", "--branch", "feature/render", "--json")
    assert "main.tf read terraform.workspace" in out.stderr and "render-" in out.stderr
    doc = json.loads(out.stdout)
    variables = doc["variables"]
    assert variables["namespace"] == "acme"                  # terraform.tfvars
    assert variables["cost_center"] == "cc-4711"             # common.auto.tfvars
    assert "report_retention_days" not in variables          # dropped: the module default applies
    assert variables["orders_table"]["read_capacity"] == 5
    diff = run_cli(cfg, "diff", "--branch", "feature/render").stdout
    line = next(ln for ln in diff.splitlines() if ln.startswith("report_retention_days"))
    assert "terraform.tfvars" in line and "400" in line and "(module default)" in line
    differences = json.loads(run_cli(cfg, "diff", "--branch", "feature/render", "--json").stdout)
    origin = {d["variable"]: d["origin"] for d in differences["differences"]}
    assert origin["report_retention_days"].endswith("terraform.tfvars")
    assert origin["orders_table.read_capacity"].endswith("production.tfvars")
    assert variables["queues"] == {"ingest": {"visibility_timeout": 60, "retention_seconds": 3600}}
    rows = {ln.split()[0]: ln for ln in diff.splitlines() if ln.startswith(("orders_table", "queues"))}
    assert set(rows) == {"orders_table.read_capacity", "orders_table.write_capacity", 'queues["billing"]',
                         "queues.ingest.retention_seconds"}   # nested changes, path by path


def test_a_partial_object_set_fails_at_render_not_at_plan(tmp_path, moto_url, provider_mirror):
    repo = copy_repo(tmp_path / "repo")
    (repo / ROOT / "staging.overrides.toml").write_text(
        '[overrides.orders_table]\nrule = "set"\nvalue = { billing_mode = "PAY_PER_REQUEST" }\n'
        'reason = "On demand is cheaper for previews."\n')
    cfg = write_config(repo, moto_url, provider_mirror, "partial")
    out = run_cli(cfg, "spinup", "--branch", "feature/partial", check=False)
    assert out.returncode == 2, out.stderr
    assert "orders_table.read_capacity" in out.stderr and "required" in out.stderr
    assert not (repo / ".provisioner" / "stacks").exists()


def test_reserved_team_tag_is_refused_at_render(tmp_path, moto_url, provider_mirror):
    repo = copy_repo(tmp_path / "repo")
    providers = repo / ROOT / "providers.tf"
    providers.write_text(providers.read_text().replace('replica       = "true"',
                                                       '"staging:owner" = "orders-team"'))
    cfg = write_config(repo, moto_url, provider_mirror, "tags")
    out = run_cli(cfg, "render", "--branch", "feature/tags", check=False)
    assert out.returncode == 2, out.stderr
    assert "providers.tf" in out.stderr and "'staging:owner'" in out.stderr and "reserved" in out.stderr
    assert "Traceback" not in out.stderr


def plan_variables(repo: Path, slug: str, terraform: Path) -> dict:
    """The variable values of a real plan of the stack's working directory (``show -json``)."""
    workdir = repo / ".provisioner" / "stacks" / slug / "tree" / ROOT
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(repo / ".provisioner" / "terraform.rc"),
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "TF_IN_AUTOMATION": "1"}
    subprocess.run([str(terraform), "plan", "-input=false", "-no-color", "-out=it.plan"], cwd=workdir,
                   env=env, check=True, capture_output=True, timeout=300)
    shown = subprocess.run([str(terraform), "show", "-json", "it.plan"], cwd=workdir, env=env, check=True,
                           capture_output=True, text=True, timeout=120)
    (workdir / "it.plan").unlink()
    return {k: v["value"] for k, v in json.loads(shown.stdout)["variables"].items()}


def test_team_repo_lifecycle(team, moto_url, terraform_binary):
    repo, cfg = team
    alpha, beta = stack_id("feature/orders-alpha"), stack_id("feature/orders-beta")
    user_lock = (repo / ROOT / ".terraform.lock.hcl").read_bytes()

    first = run_cli(cfg, "spinup", "--branch", alpha.branch, "--owner", "alice", "--json")
    assert json.loads(first.stdout)["record"]["status"] == "ready"
    assert "assume_role arn:aws:iam::210987654321:role/orders-deploy" in first.stderr
    assert "not used on the local target" in first.stderr
    again = json.loads(run_cli(cfg, "spinup", "--branch", alpha.branch, "--owner", "alice", "--json").stdout)
    assert again["no_changes"], again["changes"]
    assert again["skipped_since"] == json.loads(first.stdout)["record"]["last_applied_at"], \
        "an unchanged re-spinup of the team's stack ran Terraform"
    # a second stack inits against the warm plugin cache: the Mac lock file would fail here
    second = run_cli(cfg, "spinup", "--branch", beta.branch, "--owner", "bob", "--json")
    assert json.loads(second.stdout)["record"]["status"] == "ready"

    # the lock file: the stack's copy has this platform's h1 hash, the team's file is untouched
    staged = repo / ".provisioner" / "stacks" / alpha.slug / "tree" / ROOT / ".terraform.lock.hcl"
    assert "h1:goOMfGE4SjLps+hpxJFEM/pZFiNgvi6BMG8/w86+f6k=" in staged.read_text()
    assert (repo / ROOT / ".terraform.lock.hcl").read_bytes() == user_lock

    # the copy leaves out what Terraform never reads, and the variable files the render layered
    tree = repo / ".provisioner" / "stacks" / alpha.slug / "tree"
    assert (tree / "modules" / "queue-set" / "modules" / "dlq" / "main.tf").is_file()
    for skipped in ("examples", "docs", ".github", ROOT / "terraform.tfvars", ROOT / "common.auto.tfvars"):
        assert not (tree / skipped).exists(), skipped

    # every resource in both regions carries the team's tags and the tool's
    for slug, owner in ((alpha.slug, "alice"), (beta.slug, "bob")):
        found = {**tagged(moto_url, slug, "us-east-1"), **tagged(moto_url, slug, "us-west-2")}
        kinds = sorted(arn.split(":")[2] for arn in found)
        assert kinds == ["dynamodb", "kms", "s3", "s3", "sqs", "sqs"], found   # ingest + dlq queues
        for arn, t in found.items():
            assert t[tags.MANAGED_BY] == tags.MANAGED_BY_VALUE, (arn, t)   # the team's "terraform" lost
            assert t[tags.OWNER] == owner and t[tags.STACK] == slug
            assert {k: t.get(k) for k in TEAM_TAGS} == TEAM_TAGS, (arn, t)
        replica = f"acme-{slug}-replica"
        assert found[f"arn:aws:s3:::{replica}"]["replica"] == "true"   # the aliased provider's own tags
        assert found[f"arn:aws:s3:::acme-{slug}-reports"]["repository"] == "acme/orders-infra"
        where = client(moto_url, "s3").get_bucket_location(Bucket=replica)["LocationConstraint"]
        assert where == "us-west-2"

    # one Terraform workspace per stack: the workspace-named buckets differ
    assert {f"acme-{alpha.slug}-reports", f"acme-{beta.slug}-reports"} <= buckets(moto_url)

    # the assumed role's production account holds nothing, in either region
    for region in REGIONS:
        prod = production_clients(moto_url, region)
        assert prod["s3"].list_buckets()["Buckets"] == []
        assert prod["sqs"].list_queues().get("QueueUrls", []) == []
        assert prod["dynamodb"].list_tables()["TableNames"] == []
        assert prod["kms"].list_keys()["Keys"] == []

    # what render prints is what Terraform gets
    rendered = json.loads(run_cli(cfg, "render", "--branch", alpha.branch, "--json").stdout)["variables"]
    planned = plan_variables(repo, alpha.slug, terraform_binary)
    assert {k: planned[k] for k in rendered} == rendered
    assert planned["report_retention_days"] == 30   # dropped: the module default, not terraform.tfvars

    # tear one stack down: its KMS key is pending deletion (counted as gone); the other's bucket stays
    down = json.loads(run_cli(cfg, "teardown", "--branch", alpha.branch, "--json").stdout)
    assert down["action"] == "destroyed"
    assert live_tagged(moto_url, alpha.slug) == []
    assert f"acme-{beta.slug}-reports" in buckets(moto_url)
    assert f"acme-{alpha.slug}-reports" not in buckets(moto_url)
    status = json.loads(run_cli(cfg, "status", "--branch", alpha.branch, "--json").stdout)
    assert status["record"]["status"] == "destroyed"

    run_cli(cfg, "teardown", "--branch", beta.branch)
    swept = json.loads(run_cli(cfg, "sweep", "--json").stdout)
    assert all(r["action"] != "failed" for r in swept["resources"]), swept
    assert live_tagged(moto_url, alpha.slug) == [] and live_tagged(moto_url, beta.slug) == []


def test_sweep_schedules_the_deletion_of_an_orphaned_kms_key(tmp_path, provider_mirror):
    with moto_server(tmp_path) as url:   # a sweep --all-stacks covers the whole account: a private one
        _sweep_kms(write_config(copy_repo(tmp_path / "repo"), url, provider_mirror, "kms"), url)


def test_doctor_reads_the_team_repo(team):
    _repo, cfg = team
    report = json.loads(run_cli(cfg, "doctor", "--json", check=False).stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["module providers"]["ok"], checks["module providers"]
    assert "fit every constraint" in checks["module providers"]["detail"]
    assert checks["workspace names"]["ok"] and "main.tf read terraform.workspace" in \
        checks["workspace names"]["detail"]
    assert "registry.terraform.io" in checks["registry"]["detail"]


def _sweep_kms(cfg: Path, moto_url: str) -> None:
    orphan = "orphan-kms-1a2b3c4"
    kms = client(moto_url, "kms")
    key = kms.create_key(Tags=[{"TagKey": tags.MANAGED_BY, "TagValue": tags.MANAGED_BY_VALUE},
                               {"TagKey": tags.STACK, "TagValue": orphan}])["KeyMetadata"]["Arn"]
    doc = json.loads(run_cli(cfg, "sweep", "--all-stacks", "--json").stdout)
    mine = [r for r in doc["resources"] if r["arn"] == key]
    assert mine and mine[0]["action"] == "deleted", doc
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # a secret in its recovery window is on its way out too: nothing to sweep, nothing to fail on
    secrets = client(moto_url, "secretsmanager")
    ours = [{"Key": tags.MANAGED_BY, "Value": tags.MANAGED_BY_VALUE}, {"Key": tags.STACK, "Value": orphan}]
    secret = secrets.create_secret(Name="orphan-kms-secret", SecretString="x", Tags=ours)["ARN"]
    secrets.delete_secret(SecretId=secret, RecoveryWindowInDays=7)
    again = json.loads(run_cli(cfg, "sweep", "--all-stacks", "--json").stdout)
    assert {key, secret}.isdisjoint({r["arn"] for r in again["resources"]}), again


def test_on_the_aws_target_a_provider_role_in_production_is_refused_before_anything(tmp_path, moto_url,
                                                                                     provider_mirror):
    """target.kind = "aws" against the emulator (boto3 honours AWS_ENDPOINT_URL): the tool's own
    identity is a staging account, but the team's provider would assume a role in production."""
    repo = copy_repo(tmp_path / "repo")
    cfg = write_config(repo, moto_url, provider_mirror, "awstarget")
    cfg.write_text(cfg.read_text().replace('kind = "local"', 'kind = "aws"').replace(
        f'endpoint = "{moto_url}"', ""))
    env = {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    out = run_cli(cfg, "spinup", "--branch", "feature/aws-target", env=env, check=False)
    assert out.returncode == 3, out.stderr
    assert "arn:aws:iam::210987654321:role/orders-deploy" in out.stderr and "production" in out.stderr
    assert "it-team-awstarget-state" not in buckets(moto_url)
    assert not (repo / ".provisioner" / "stacks").exists()
    for region in REGIONS:
        prod = production_clients(moto_url, region)
        assert prod["s3"].list_buckets()["Buckets"] == [] and prod["kms"].list_keys()["Keys"] == []


def test_a_lock_file_terraform_rejects_is_rebuilt_once_with_a_note(tmp_path, moto_url, provider_mirror):
    repo = copy_repo(tmp_path / "repo")
    lock = repo / ROOT / ".terraform.lock.hcl"
    # pinned on a Mac to a release the offline mirror does not have: Terraform refuses the lock
    lock.write_text(lock.read_text().replace('version     = "3.39.0"', 'version     = "3.38.0"'))
    before = lock.read_bytes()
    cfg = write_config(repo, moto_url, provider_mirror, "badlock")
    out = run_cli(cfg, "spinup", "--branch", "feature/bad-lock", "--dry-run", "--json")
    assert "rejected the stack's copy of .terraform.lock.hcl" in out.stderr
    assert "rebuilding it once" in out.stderr
    assert json.loads(out.stdout)["changes"]["add"] > 5
    assert lock.read_bytes() == before   # the repository's file is never written
    again = run_cli(cfg, "spinup", "--branch", "feature/bad-lock", "--dry-run")
    assert "rebuilding" not in again.stderr   # the rebuilt lock is kept while the team's file is unchanged
    assert not [k for k in (client(moto_url, "s3").list_objects_v2(Bucket="it-team-badlock-state")
                            .get("Contents") or [])]   # a dry run leaves no state behind
