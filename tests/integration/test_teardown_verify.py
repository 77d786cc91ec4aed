"""The teardown's check that nothing tagged remains, now read in parallel (regions, and in each the
tagging API, IAM and RDS at once), with the state deletion beside the record write: a resource left
tagged, or a source that cannot be read, still fails the teardown with its reason, exit non-zero,
and leaves the record saying ``failed`` and the state in place. Real CLI, real Terraform, moto over
HTTP (through the fault proxy where a source must fail)."""

from __future__ import annotations

import json
import tomllib

import pytest
from conftest import aws_client, run_cli, write_project
from faultproxy import FaultProxy

from provisioner.domain import tags
from provisioner.domain.naming import stack_id

pytestmark = pytest.mark.integration


def record(cfg, branch: str) -> dict:
    return json.loads(run_cli(cfg, "status", "--branch", branch, "--json").stdout)["record"]


def state_keys(moto_url: str, cfg, slug: str) -> list[str]:
    bucket = tomllib.loads(cfg.read_text())["backend"]["bucket"]
    found = aws_client(moto_url, "s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    return [o["Key"] for o in found if f"/{slug}/" in o["Key"]]


def test_a_resource_left_tagged_fails_the_teardown_and_the_record_says_so(tmp_path, moto_url,
                                                                           provider_mirror):
    cfg = write_project(tmp_path / "leftover", moto_url, provider_mirror, health="")
    sid = stack_id("verify/leftover")
    run_cli(cfg, "spinup", "--branch", sid.branch)
    # made behind Terraform's back with the stack's tags; the sweep has no handler for volumes
    ec2 = aws_client(moto_url, "ec2")
    volume = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a", TagSpecifications=[{
        "ResourceType": "volume", "Tags": [{"Key": tags.MANAGED_BY, "Value": tags.MANAGED_BY_VALUE},
                                           {"Key": tags.STACK, "Value": sid.slug}]}])["VolumeId"]
    try:
        down = run_cli(cfg, "teardown", "--branch", sid.branch, check=False)
        assert down.returncode == 1, down.stdout + down.stderr
        assert f"resources tagged {sid.slug} remain after destroy" in down.stderr
        assert volume in down.stderr
        rec = record(cfg, sid.branch)
        assert rec["status"] == "failed" and volume in rec["error"]
        assert state_keys(moto_url, cfg, sid.slug), "the state stays while resources remain"
        audit = json.loads(run_cli(cfg, "audit", "--branch", sid.branch, "--json").stdout)
        last = [e for e in audit["entries"] if e["operation"] == "teardown"][-1]
        assert last["result"] != "ok" and volume in last["detail"]
    finally:
        ec2.delete_volume(VolumeId=volume)
    again = run_cli(cfg, "teardown", "--branch", sid.branch)
    assert "destroyed" in again.stdout
    assert record(cfg, sid.branch)["status"] == "destroyed"
    assert state_keys(moto_url, cfg, sid.slug) == []


def test_a_source_that_cannot_be_read_fails_the_teardown_with_its_reason(tmp_path, moto_url,
                                                                           provider_mirror):
    cfg = write_project(tmp_path / "unreadable", moto_url, provider_mirror, health="",
                        extra="[retry]\naws_attempts = 2\n")
    sid = stack_id("verify/unreadable")
    run_cli(cfg, "spinup", "--branch", sid.branch)
    healthy = cfg.read_text()
    # IAM's ListRoles, one of the three sources read at once, answers 503 every time
    with FaultProxy(moto_url, fail_every=1, fail_only="^ListRoles$", lifetime=300) as proxy:
        cfg.write_text(healthy.replace(moto_url, proxy.url))
        down = run_cli(cfg, "teardown", "--branch", sid.branch, check=False)
        failed_roles = [s for s in proxy.seen if s.operation == "ListRoles" and s.injected]
    cfg.write_text(healthy)
    assert down.returncode == 1, down.stdout + down.stderr
    assert "list IAM roles" in down.stderr and "ServiceUnavailable" in down.stderr
    assert failed_roles, "the verification read IAM through the proxy"
    rec = record(cfg, sid.branch)
    assert rec["status"] == "failed" and "list IAM roles" in rec["error"]
    assert state_keys(moto_url, cfg, sid.slug), "an unverified teardown keeps the state"
    again = run_cli(cfg, "teardown", "--branch", sid.branch)
    assert "destroyed" in again.stdout and record(cfg, sid.branch)["status"] == "destroyed"
    assert state_keys(moto_url, cfg, sid.slug) == []
