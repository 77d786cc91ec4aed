"""A spinup whose inputs are those of the last apply skips Terraform; any changed input, --refresh,
an old apply or recorded drift runs the plan. The real CLI, real Terraform, the emulator over HTTP.

The project copies the example's module tree into its own directory (so a test can edit a module
file) and keeps the baseline and overrides outside the tree (so changing an override changes the
variables only)."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import aws_client, run_cli, write_project

from provisioner.domain.naming import stack_id
from provisioner.state.backend import STATE_FILE

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BRANCH = "feature/skip"
SLUG = stack_id(BRANCH).slug
NOTE = "no infrastructure changes (inputs unchanged since "


@pytest.fixture(scope="module")
def project(tmp_path_factory, moto_url, provider_mirror):
    root = tmp_path_factory.mktemp("skip")
    shutil.copytree(REPO / "modules", root / "modules", ignore=shutil.ignore_patterns(".terraform"))
    shutil.copy(REPO / "modules" / "stack" / "production.tfvars", root / "production.tfvars")
    shutil.copy(REPO / "modules" / "stack" / "staging.overrides.toml", root / "overrides.toml")
    cfg = write_project(root, moto_url, provider_mirror, smoke=True)
    stack = REPO / "modules" / "stack"
    text = cfg.read_text().replace(f'"{stack / "production.tfvars"}"', f'"{root / "production.tfvars"}"')
    text = text.replace(f'"{stack / "staging.overrides.toml"}"', f'"{root / "overrides.toml"}"')
    cfg.write_text(text.replace(f'"{stack}"', f'"{root / "modules" / "stack"}"'))
    assert str(REPO) not in tomllib.loads(cfg.read_text())["project"]["root_module"]
    run_cli(cfg, "spinup", "--branch", BRANCH, "--owner", "alice")
    return cfg


def spinup(cfg: Path, *args: str) -> tuple[dict, str, str]:
    out = run_cli(cfg, "spinup", "--branch", BRANCH, "--owner", "alice", *args)
    rec = json.loads(run_cli(cfg, "status", "--branch", BRANCH, "--json").stdout)["record"]
    return rec, out.stdout, out.stderr


def state_versions(cfg: Path, moto_url: str) -> list[str]:
    conf = tomllib.loads(cfg.read_text())
    key = f"{conf['backend'].get('key_prefix', 'staging')}/{SLUG}/{STATE_FILE}"
    resp = aws_client(moto_url, "s3").list_object_versions(Bucket=conf["backend"]["bucket"], Prefix=key)
    return [v["VersionId"] for v in resp.get("Versions", []) if v["Key"] == key]


def assert_skipped(rec_before: dict, rec: dict, stdout: str, stderr: str) -> None:
    assert NOTE in stdout and "--refresh to check AWS anyway)" in stdout, stdout
    assert "terraform init, plan, apply: skipped" in stderr
    assert "terraform apply" not in stderr and "terraform init\n" not in stderr
    assert rec["last_applied_at"] == rec_before["last_applied_at"]   # no apply happened
    assert rec["changes"] == rec_before["changes"] and rec["inputs"] == rec_before["inputs"]
    assert rec["active_at"] > rec_before["active_at"] and rec["status"] == "ready"


def assert_planned(rec_before: dict, rec: dict, stdout: str, stderr: str, why: str) -> None:
    assert NOTE not in stdout, stdout
    assert "terraform apply" in stderr and f"terraform: running the plan ({why}" in stderr, stderr
    assert rec["last_applied_at"] > rec_before["last_applied_at"] and rec["status"] == "ready"


def current(cfg: Path) -> dict:
    return json.loads(run_cli(cfg, "status", "--branch", BRANCH, "--json").stdout)["record"]


def test_unchanged_spinup_skips_terraform(project, moto_url):
    spinup(project)  # whatever an earlier test left: applied now with the current inputs
    before, versions = current(project), state_versions(project, moto_url)
    assert set(before["inputs"]) == {"module_tree", "variables", "providers", "backend", "versions"}
    rec, out, err = spinup(project)
    assert_skipped(before, rec, out, err)
    assert state_versions(project, moto_url) == versions, "Terraform wrote the state"
    # the health checks and the smoke tests still ran
    assert "health: " in err and rec["health"]["checked_at"] > before["health"]["checked_at"]
    assert rec["tests"]["ok"] is True
    audit = json.loads(run_cli(project, "audit", "--json").stdout)["entries"]
    assert any(e["operation"] == "spinup" and e["slug"] == SLUG and e["detail"] == "skipped: inputs unchanged"
               for e in audit)
    doc = json.loads(run_cli(project, "spinup", "--branch", BRANCH, "--owner", "alice", "--json").stdout)
    assert doc["no_changes"] is True and doc["skipped_since"] == before["last_applied_at"]
    assert doc["changes"] is None


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, path
    path.write_text(text.replace(old, new, 1))


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def change_module_file(root: Path, n: int) -> tuple[str, ...]:
    _append(root / "modules" / "stack" / "main.tf", f'\nlocals {{\n  skip_test_{n} = "{n}"\n}}\n')
    return ()


def change_nested_module(root: Path, n: int) -> tuple[str, ...]:
    _append(root / "modules" / "network" / "main.tf", f'\nlocals {{\n  skip_test_{n} = "{n}"\n}}\n')
    return ()


def change_override(root: Path, n: int) -> tuple[str, ...]:
    _edit(root / "overrides.toml", "[overrides.alarm_threshold]\nrule = \"set\"\nvalue = 100",
          f"[overrides.alarm_threshold]\nrule = \"set\"\nvalue = {100 + n}")
    return ()


def change_backend(root: Path, n: int) -> tuple[str, ...]:
    _edit(root / "staging.toml", "[backend]\n", "[backend]\nlocking = \"none\"\n")
    return ()


def change_provider(root: Path, n: int) -> tuple[str, ...]:
    return ("--pr", str(40 + n))   # the PR tag in the provider's default_tags


CHANGES = [("module tree", change_module_file), ("module tree", change_nested_module),
           ("variables", change_override), ("provider settings", change_provider),
           ("backend settings", change_backend)]


@pytest.mark.parametrize(("label", "change"), CHANGES, ids=[c[1].__name__ for c in CHANGES])
def test_each_changed_input_runs_the_plan(project, label, change):
    spinup(project)
    before = current(project)
    extra = change(project.parent, CHANGES.index((label, change)) + 1)
    rec, out, err = spinup(project, *extra)
    assert_planned(before, rec, out, err, f"inputs changed since the last apply: {label}")
    again_before = rec
    rec, out, err = spinup(project, *extra)   # the new inputs were recorded: the next one skips
    assert_skipped(again_before, rec, out, err)


def test_refresh_runs_the_plan(project):
    spinup(project)
    before = current(project)
    rec, out, err = spinup(project, "--refresh")
    assert_planned(before, rec, out, err, "--refresh")
    assert "no changes" in out


def _rewrite_record(cfg: Path, moto_url: str, **fields: object) -> None:
    table = tomllib.loads(cfg.read_text())["registry"]["table"]
    ddb = aws_client(moto_url, "dynamodb")
    item = ddb.get_item(TableName=table, Key={"slug": {"S": SLUG}})["Item"]
    doc = json.loads(item["record"]["S"])
    doc.update(fields)
    item["record"] = {"S": json.dumps(doc, sort_keys=True)}
    ddb.put_item(TableName=table, Item=item)


def test_an_old_apply_runs_the_plan(project, moto_url):
    spinup(project)
    before = current(project)
    _rewrite_record(project, moto_url, last_applied_at=before["last_applied_at"] - 7 * 3600)
    before = current(project)
    rec, out, err = spinup(project)
    assert_planned(before, rec, out, err, "the last apply was 7.0h ago (stacks.refresh_after = 6h)")


def test_a_drifted_stack_runs_the_plan(project, moto_url):
    spinup(project)
    queue = current(project)["outputs"]["queue_url"]
    aws_client(moto_url, "sqs").set_queue_attributes(QueueUrl=queue,
                                                     Attributes={"MessageRetentionPeriod": "3600"})
    found = run_cli(project, "drift", "--branch", BRANCH, "--json", check=False)
    assert found.returncode == 2, found.stderr
    before = current(project)
    assert before["drifted_at"] is not None
    rec, out, err = spinup(project)
    assert_planned(before, rec, out, err, "drift was found outside Terraform")
    assert rec["drifted_at"] is None
    attrs = aws_client(moto_url, "sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])
    assert attrs["Attributes"]["MessageRetentionPeriod"] == "86400"   # the plan put it back


def test_a_failed_stack_runs_the_plan(project, moto_url):
    spinup(project)
    _rewrite_record(project, moto_url, status="failed", error="boom")
    before = current(project)
    rec, out, err = spinup(project)
    assert_planned(before, rec, out, err, "the stack is failed, not ready")
    assert rec["error"] == ""
