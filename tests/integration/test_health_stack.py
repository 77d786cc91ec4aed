"""Health, tests and drift on a real example stack: spun up by the real CLI (embedded Terraform,
hashicorp/aws 3.39, moto over HTTP), checked with the example's own [health] and [tests] tables,
then changed behind Terraform's back and planned with a real refresh-only plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO, aws_client, run_cli, write_project

from provisioner.aws.clients import Aws
from provisioner.config.retry import AwsRetry
from provisioner.health import (
    StackContext,
    aws_test_env,
    build_env,
    parse_health,
    parse_refresh_plan,
    parse_tests,
    refresh_plan_args,
    run_checks,
    run_tests,
    show_args,
)

pytestmark = pytest.mark.integration
EXAMPLE = tomllib.loads((REPO / "staging.toml").read_text())


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_url, provider_mirror):
    """One real stack for the module; torn down at the end."""
    root = tmp_path_factory.mktemp("health-stack")
    cfg = write_project(root, moto_url, provider_mirror)
    out = json.loads(run_cli(cfg, "spinup", "--branch", "health/e2e", "--pr", "9", "--json").stdout)
    record = out["record"]
    ctx = StackContext(out["stack"], record["branch"], record["pr"], record["outputs"])
    workdir = root / ".provisioner" / "stacks" / ctx.slug / "tree" / "stack"
    yield ctx, workdir, root / ".provisioner" / "terraform.rc"
    run_cli(cfg, "teardown", "--stack", ctx.slug)


def test_example_health_checks_pass_on_a_fresh_stack(stack, moto_url):
    ctx, _, _ = stack
    spec = parse_health(EXAMPLE["health"], "staging.toml")
    report = run_checks(spec, ctx, Aws(region="us-east-1", endpoint=moto_url, retries=AwsRetry(attempts=1)))
    results = {c.name: c for c in report.checks}
    assert report.status == "passing", report.to_json()
    assert results["web"].ok is None                      # no load balancer in staging: skipped
    # the alarm was found by the staging:stack default tag Terraform put on it
    assert results["alarms"].detail == f"1 alarms tagged staging:stack={ctx.slug}, none in ALARM"


def test_example_smoke_suite_passes_on_the_stack(stack, moto_url):
    ctx, workdir, _ = stack
    tests = parse_tests({**EXAMPLE["tests"], "command": EXAMPLE["tests"]["command"].replace(
        "python", sys.executable, 1)}, "staging.toml")
    env = build_env(ctx, aws_env=aws_test_env(Aws(region="us-east-1", endpoint=moto_url)),
                    inherit=os.environ)
    assert env["STAGING_OUTPUT_NAME"] == ctx.slug and env["STAGING_PR"] == "9"
    result = run_tests(tests, {**env, "PYTHONDONTWRITEBYTECODE": "1"}, workdir)   # the stack's own copy
    assert result.ok, result.output_tail
    assert "4 passed" in result.output_tail


def _terraform(binary: Path, workdir: Path, cli_config: Path, argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
           "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run([str(binary), *argv], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _drift(binary: Path, workdir: Path, cli_config: Path, tmp_path: Path):
    plan_file = str(tmp_path / "drift.tfplan")
    plan = _terraform(binary, workdir, cli_config, refresh_plan_args(plan_file))
    assert plan.returncode in (0, 2), plan.stdout[-2000:] + plan.stderr[-2000:]
    shown = _terraform(binary, workdir, cli_config, show_args(plan_file))
    assert shown.returncode == 0, shown.stderr
    return parse_refresh_plan(shown.stdout)


def test_drift_zero_when_untouched_then_the_hand_change(stack, moto_url, terraform_binary, tmp_path):
    ctx, workdir, cli_config = stack
    assert not _drift(terraform_binary, workdir, cli_config, tmp_path).drifted

    aws_client(moto_url, "sqs").set_queue_attributes(QueueUrl=ctx.outputs["queue_url"],
                                                     Attributes={"MessageRetentionPeriod": "3600"})
    report = _drift(terraform_binary, workdir, cli_config, tmp_path)
    assert report.changed == ("module.data.aws_sqs_queue.jobs",)
    (res,) = report.resources
    assert [(c.path, c.before, c.after) for c in res.changes] == [
        ("message_retention_seconds", 86400, 3600)]
