"""End to end: the real CLI, real Terraform and provider, the moto server over HTTP."""

from __future__ import annotations

import json
import tomllib

import pytest
from conftest import aws_client, run_cli, write_project

from provisioner.domain import tags
from provisioner.domain.naming import stack_id

pytestmark = pytest.mark.integration


def tagged(moto_url, slug):
    """ARNs tagged with the stack, via the tagging API plus IAM (which that API misses)."""
    pages = aws_client(moto_url, "resourcegroupstaggingapi").get_paginator("get_resources").paginate(
        TagFilters=[{"Key": tags.STACK, "Values": [slug]}])
    arns = {r["ResourceARN"]: {t["Key"]: t["Value"] for t in r["Tags"]}
            for page in pages for r in page["ResourceTagMappingList"]}
    iam = aws_client(moto_url, "iam")
    for role in iam.list_roles()["Roles"]:
        role_tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
        if role_tags.get(tags.STACK) == slug:
            arns[role["Arn"]] = role_tags
    return arns


def state_keys(moto_url, bucket):
    resp = aws_client(moto_url, "s3").list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in resp.get("Contents", [])]


@pytest.fixture(scope="module")
def project(tmp_path_factory, moto_url, provider_mirror):
    return write_project(tmp_path_factory.mktemp("embedded"), moto_url, provider_mirror)


def test_two_branches_full_lifecycle(project, moto_url):
    alpha, beta = stack_id("feature/alpha"), stack_id("bugfix/Beta_1")
    bucket = tomllib.loads(project.read_text())["backend"]["bucket"]

    out = run_cli(project, "spinup", "--branch", alpha.branch, "--pr", "41", "--owner", "alice", "--json")
    first = json.loads(out.stdout)
    assert first["stack"] == alpha.slug and first["record"]["status"] == "ready"
    assert first["changes"]["add"] > 10
    assert "creating" in out.stderr and "done" in out.stderr  # progress, resource by resource
    run_cli(project, "spinup", "--branch", beta.branch, "--owner", "bob")

    # resources exist, carrying every default tag with the right values
    alpha_res = tagged(moto_url, alpha.slug)
    assert len(alpha_res) >= 10
    for arn, t in alpha_res.items():
        assert t[tags.MANAGED_BY] == tags.MANAGED_BY_VALUE, arn
        assert t[tags.BRANCH] == "feature/alpha" and t[tags.PR] == "41" and t[tags.OWNER] == "alice"
        assert t[tags.EXPIRES_AT].endswith("Z")
    assert tagged(moto_url, beta.slug)
    sqs = aws_client(moto_url, "sqs").list_queues(QueueNamePrefix=alpha.slug).get("QueueUrls", [])
    assert sqs, "the queue is named after the stack"

    # the record holds outputs; a second spinup finds its inputs unchanged and skips Terraform
    again = run_cli(project, "spinup", "--branch", alpha.branch, "--pr", "41", "--owner", "alice")
    assert "no infrastructure changes (inputs unchanged since " in again.stdout
    planned = run_cli(project, "spinup", "--branch", alpha.branch, "--pr", "41", "--owner", "alice",
                      "--refresh")
    assert "no changes;" in planned.stdout
    status = json.loads(run_cli(project, "status", "--branch", alpha.branch, "--json").stdout)
    assert status["record"]["status"] == "ready" and status["record"]["outputs"]["queue_url"]
    listed = json.loads(run_cli(project, "list", "--json").stdout)["environments"]
    assert {e["slug"] for e in listed} == {alpha.slug, beta.slug}

    # diff lists the overrides with reasons
    diff = run_cli(project, "diff", "--branch", alpha.branch, "--json")
    diffs = {d["variable"]: d for d in json.loads(diff.stdout)["differences"]}
    assert diffs["environment"]["staging"] == "staging"
    assert all(d["reason"] for d in diffs.values())
    assert f"staging/{alpha.slug}/terraform.tfstate" in state_keys(moto_url, bucket)

    # teardown of alpha leaves beta intact and nothing of alpha behind
    down = run_cli(project, "teardown", "--branch", alpha.branch)
    assert "destroyed" in down.stdout
    assert tagged(moto_url, alpha.slug) == {}
    assert not [k for k in state_keys(moto_url, bucket) if f"/{alpha.slug}/" in k]
    assert [k for k in state_keys(moto_url, bucket) if f"/{beta.slug}/" in k]
    assert tagged(moto_url, beta.slug)
    rec = json.loads(run_cli(project, "status", "--branch", alpha.branch, "--json").stdout)["record"]
    assert rec["status"] == "destroyed"

    # a second teardown is a no-op, exit 0
    assert "nothing to tear down" in run_cli(project, "teardown", "--branch", alpha.branch).stdout
    run_cli(project, "teardown", "--branch", beta.branch)
    assert tagged(moto_url, beta.slug) == {}
    listed = json.loads(run_cli(project, "list", "--json").stdout)["environments"]
    assert listed == []


def test_unknown_stack_teardown_is_not_an_error(project):
    out = run_cli(project, "teardown", "--branch", "never/existed")
    assert "nothing to tear down" in out.stdout


def test_dry_run_plans_without_applying(project, moto_url):
    sid = stack_id("feature/dry")
    out = run_cli(project, "spinup", "--branch", sid.branch, "--dry-run", "--json")
    doc = json.loads(out.stdout)
    assert doc["dry_run"] and doc["changes"]["add"] > 10
    assert tagged(moto_url, sid.slug) == {}
    out = run_cli(project, "status", "--branch", sid.branch, "--json", check=False)
    assert out.returncode == 5 and json.loads(out.stdout)["record"] is None   # 5: no such stack


def test_bad_branch_is_refused_before_anything_is_created(project):
    out = run_cli(project, "spinup", "--branch", "   ", check=False)
    assert out.returncode == 2
    assert "branch name is empty" in out.stderr


def test_binary_engine_lifecycle(tmp_path, moto_url, provider_mirror, terraform_binary):
    cfg = write_project(tmp_path / "binary", moto_url, provider_mirror, engine=str(terraform_binary))
    sid = stack_id("feature/binary-engine")
    first = json.loads(run_cli(cfg, "spinup", "--branch", sid.branch, "--json").stdout)
    assert first["record"]["status"] == "ready" and first["changes"]["add"] > 10
    assert tagged(moto_url, sid.slug)
    again = json.loads(run_cli(cfg, "spinup", "--branch", sid.branch, "--json").stdout)
    assert again["no_changes"]
    run_cli(cfg, "teardown", "--branch", sid.branch)
    assert tagged(moto_url, sid.slug) == {}
