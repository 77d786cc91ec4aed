"""Lifecycle at scale against the emulator: cleanup plans and runs, leases, quota, reset, audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from conftest import aws_client, run_cli, write_project

from provisioner import config
from provisioner.domain.naming import stack_id
from provisioner.domain.record import Record
from provisioner.state import backend
from provisioner.usecases import cleanup, runtime

pytestmark = pytest.mark.integration
H = 3600


def put_record(rt, branch, **fields):
    sid = stack_id(branch)
    return rt.registry.put(Record(slug=sid.slug, branch=branch, **fields), expected=None)


def put_state(rt, slug, body=b"{}"):
    loc = backend.location(rt.settings, slug)
    aws_client(rt.endpoint, "s3").put_object(Bucket=loc.bucket, Key=loc.key, Body=body)


def test_cleanup_plan_gives_each_reason(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "plan", moto_url, provider_mirror)
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    now = 1_000 * H
    common = {"created_at": now - 30 * H, "status": "ready", "digest": "current", "updated_at": now - 30 * H}
    cases = {
        "t/expired": dict(common, fixed_expires_at=now - 1, active_at=now - H),
        "t/idle": dict(common, fixed_expires_at=now + 10 * H, active_at=now - 25 * H),
        "t/kept": dict(common, fixed_expires_at=now - 1, active_at=now - 25 * H, keep=True),
        "t/pr-closed": dict(common, fixed_expires_at=now + 10 * H, active_at=now - H, pr=11),
        "t/pr-merged": dict(common, fixed_expires_at=now + 10 * H, active_at=now - H, pr=12),
        "t/pr-gone": dict(common, fixed_expires_at=now + 10 * H, active_at=now - H, pr=13),
        "t/pr-open": dict(common, fixed_expires_at=now + 10 * H, active_at=now - H, pr=14),
        "t/failed-old": dict(common, status="failed", error="boom", fixed_expires_at=now + 10 * H,
                             active_at=now - H),
        "t/no-state": dict(common, fixed_expires_at=now + 10 * H, active_at=now - H),
        "t/drift": dict(common, fixed_expires_at=now + 10 * H, active_at=now - H, digest="old"),
        "t/gone": dict(common, status="destroyed"),
    }
    records = [replace(Record(slug=stack_id(b).slug, branch=b), **f) for b, f in cases.items()]
    states = {stack_id(b).slug for b in cases if b not in ("t/no-state", "t/gone")} | {"orphan-1234567"}
    prs = {11: "closed", 12: "merged", 13: "gone", 14: "open"}
    plan = cleanup.plan_cleanup(rt, now=now, pr_state=prs.__getitem__, current_digest="current",
                                records=records, state_slugs=states)
    got = {i.branch: (i.action, i.reason) for i in plan.items}
    assert got.pop("t/expired") == ("teardown", "expired")
    assert got.pop("t/idle") == ("teardown", "idle for 24h")
    assert got.pop("t/pr-closed") == ("teardown", "PR #11 closed")
    assert got.pop("t/pr-merged") == ("teardown", "PR #12 merged")
    assert got.pop("t/pr-gone") == ("teardown", "PR #13 gone")
    assert got.pop("t/failed-old")[1].startswith("failed 30h ago")
    assert got.pop("t/no-state") == ("teardown", "record without state")
    assert got.pop("t/drift")[0] == "report"
    assert got.pop("(no record)") == ("teardown", "state without record")
    assert got == {}  # kept, open PR and destroyed stacks are left alone
    assert plan.warnings == ()
    assert cleanup.plan_cleanup(rt, now=now, records=records, state_slugs=states).warnings  # no token


def test_cleanup_parallel_goes_on_past_a_failure(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "nightly", moto_url, provider_mirror)
    branches = [f"nightly/{i}" for i in range(6)]
    # four at once from an empty plugin cache: concurrent inits must not corrupt it
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda b: run_cli(cfg, "spinup", "--branch", b, "--ttl", "1s"), branches))
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    broken = stack_id(branches[2]).slug
    put_state(rt, broken, b"this is not a terraform state")  # its destroy cannot even read the state
    time.sleep(1.5)
    dry = json.loads(run_cli(cfg, "cleanup", "--dry-run", "--json").stdout)
    assert {s["reason"] for s in dry["stacks"]} == {"expired"} and len(dry["stacks"]) == 6
    out = run_cli(cfg, "cleanup", "--parallel", "3", "--json", check=False)
    assert out.returncode == 1, out.stderr
    report = {s["slug"]: s for s in json.loads(out.stdout)["stacks"]}
    assert report[broken]["result"] == "failed" and report[broken]["error"]
    done = [s for s in report.values() if s["result"] == "done"]
    assert len(done) == 5 and all(s["duration"] > 0 for s in done)
    envs = json.loads(run_cli(cfg, "list", "--json").stdout)["environments"]
    listed = {e["slug"]: e["status"] for e in envs}
    assert listed == {broken: "failed"}  # recorded, never dropped


def test_concurrent_spinups_one_waits_then_reset_and_audit(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "race", moto_url, provider_mirror)
    branch = "feature/two-runners"
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    env.pop("GITHUB_HEAD_REF", None)
    procs = [subprocess.Popen([sys.executable, "-m", "provisioner", "spinup", "--branch", branch, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert any("is running spinup on stack" in err and "waiting" in err for _, err in outs)
    results = [json.loads(out) for out, _ in outs]
    assert sorted(r["no_changes"] for r in results) == [False, True]  # one built it, one found it built
    status = json.loads(run_cli(cfg, "status", "--branch", branch, "--json").stdout)["record"]
    assert status["status"] == "ready"

    reset = json.loads(run_cli(cfg, "spinup", "--branch", branch, "--reset", "--json").stdout)
    assert reset["changes"]["add"] > 10 and reset["record"]["status"] == "ready"
    entries = json.loads(run_cli(cfg, "audit", "--branch", branch, "--json").stdout)["entries"]
    assert [e["operation"] for e in entries] == ["spinup", "spinup", "spinup --reset"]
    assert all(e["result"] == "ok" and e["who"] and e["duration"] > 0 for e in entries)
    run_cli(cfg, "teardown", "--branch", branch)


def test_quota_refuses_a_new_stack_and_names_the_oldest(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "quota", moto_url, provider_mirror, extra="[stacks]\nmax_live = 2\n")
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    put_record(rt, "old/one", status="ready", created_at=1.0, owner="ann")
    put_record(rt, "old/two", status="ready", created_at=2.0, owner="bob")
    out = run_cli(cfg, "spinup", "--branch", "new/three", check=False)
    assert out.returncode == 3
    assert "quota of 2 live staging stacks" in out.stderr
    assert stack_id("old/one").slug in out.stderr and "'old/two'" in out.stderr
    assert rt.registry.get(stack_id("new/three").slug) is None


def test_extend_keep_and_expiry_tag(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "extend", moto_url, provider_mirror)
    branch = "feature/extend-me"
    first = json.loads(run_cli(cfg, "spinup", "--branch", branch, "--json").stdout)["record"]
    assert first["expires_at"] == pytest.approx(first["active_at"] + 24 * H, abs=5)  # idle binds first
    ext = json.loads(run_cli(cfg, "extend", "--branch", branch, "--by", "72h", "--json").stdout)["record"]
    assert ext["fixed_expires_at"] == pytest.approx(first["fixed_expires_at"] + 72 * H, abs=5)
    assert ext["expires_at"] == ext["fixed_expires_at"]
    capped = json.loads(run_cli(cfg, "extend", "--branch", branch, "--by", "30d", "--json").stdout)["record"]
    assert capped["fixed_expires_at"] == pytest.approx(capped["created_at"] + 168 * H, abs=1)
    kept = json.loads(run_cli(cfg, "keep", "--branch", branch, "--json").stdout)["record"]
    assert kept["keep"] and kept["expires_at"] is None
    # the next apply writes the current expiry into every resource's expires-at tag
    run_cli(cfg, "spinup", "--branch", branch)
    api = aws_client(moto_url, "resourcegroupstaggingapi")
    pages = api.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": "staging:stack", "Values": [stack_id(branch).slug]}])
    tagged = {r["ResourceARN"]: [t["Value"] for t in r["Tags"] if t["Key"] == "staging:expires-at"]
              for p in pages for r in p["ResourceTagMappingList"]}
    assert len(tagged) > 10
    for arn, values in tagged.items():
        if ":dynamodb:" in arn:
            # moto 5.2.5 appends a second tag with the same key instead of replacing the value
            assert values[-1] == "kept", (arn, values)
        else:
            assert values == ["kept"], (arn, values)
    unkept = json.loads(run_cli(cfg, "keep", "--branch", branch, "--off", "--json").stdout)["record"]
    assert not unkept["keep"]  # the spinup above restarted the idle clock, which binds again
    assert unkept["expires_at"] == pytest.approx(unkept["active_at"] + 24 * H, abs=1)
    run_cli(cfg, "teardown", "--branch", branch)
