"""Hardening items 5-9 through the real CLI against the real emulator: malformed registry items
written with boto3, production identifiers in tags, a full or read-only stack directory (a real
tmpfs / read-only bind mount), and the emulator endpoint check."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import aws_client, run_cli, write_project

from provisioner import config
from provisioner.domain.naming import stack_id
from provisioner.domain.record import Record
from provisioner.state.registry import Registry
from provisioner.terraform import workspace
from provisioner.usecases import runtime

pytestmark = pytest.mark.integration

BAD_ITEMS = {
    "no-record": {"slug": {"S": "no-record"}, "version": {"N": "1"}},
    "not-json": {"slug": {"S": "not-json"}, "version": {"N": "1"}, "record": {"S": "{oops"}},
    "not-object": {"slug": {"S": "not-object"}, "version": {"N": "1"}, "record": {"S": "[1, 2]"}},
    "no-branch": {"slug": {"S": "no-branch"}, "version": {"N": "1"},
                  "record": {"S": json.dumps({"slug": "no-branch", "status": "ready"})}},
    "bad-types": {"slug": {"S": "bad-types"}, "version": {"N": "1"},
                  "record": {"S": json.dumps({"slug": "bad-types", "branch": "b", "created_at": "yesterday",
                                              "pr": "seven"})}},
}


def test_malformed_registry_items_are_skipped_with_a_warning_naming_each(tmp_path, moto_url,
                                                                          provider_mirror):
    cfg = write_project(tmp_path / "badrecords", moto_url, provider_mirror)
    run_cli(cfg, "bootstrap")
    settings = config.load(str(cfg))
    rt = runtime.open_runtime(settings, start_emulator=False)
    good = Record(slug=stack_id("feature/good").slug, branch="feature/good", status="ready", created_at=1.0)
    Registry(rt.aws, settings.registry.table).put(good, expected=None)
    ddb = aws_client(moto_url, "dynamodb")
    for item in BAD_ITEMS.values():   # each claims to be live: it carries the index attribute
        ddb.put_item(TableName=settings.registry.table, Item={**item, "live": {"S": "1"}})

    listed = run_cli(cfg, "list")
    assert good.slug in listed.stdout
    as_json = json.loads(run_cli(cfg, "list", "--json").stdout)
    assert [r["slug"] for r in as_json["environments"]] == [good.slug]
    plan = json.loads(run_cli(cfg, "cleanup", "--dry-run", "--json").stdout)
    export = tmp_path / "board.html"
    board = run_cli(cfg, "board", "--export", str(export))
    assert good.slug in export.read_text()
    for slug in BAD_ITEMS:
        assert any(slug in w for w in as_json["warnings"]), (slug, as_json["warnings"])
        assert f"'{slug}'" in listed.stderr and f"'{slug}'" in board.stderr
        assert any(slug in w for w in plan["warnings"]), (slug, plan["warnings"])
    assert "record.created_at" in listed.stderr and "not JSON" in listed.stderr
    assert "missing required field `branch`" in listed.stderr
    for out in (listed, board):
        assert "Traceback" not in out.stderr
    everything = run_cli(cfg, "list", "--all")
    assert "Traceback" not in everything.stderr and good.slug in everything.stdout


def test_production_identifiers_in_tags_are_refused_naming_where(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "tagids", moto_url, provider_mirror, extra="""
[production]
account_ids = ["111111111111"]
identifiers = ["acme-corp.com"]
""")
    for branch, owner, where in (("API.acme-corp.com", "alice", "staging:branch"),
                                 ("feature/ok", "acme-prod 111111111111", "staging:owner")):
        out = run_cli(cfg, "spinup", "--branch", branch, "--owner", owner, check=False)
        assert out.returncode == 2, out.stderr
        assert "provider default_tags" in out.stderr and where in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        settings = config.load(str(cfg))
        assert not workspace.locate(settings, stack_id(branch).slug).root.exists()
        listed = json.loads(run_cli(cfg, "list", "--json").stdout)
        assert listed["environments"] == []


@pytest.fixture(params=["full", "read-only"])
def broken_stacks_dir(request, tmp_path):
    """<state_dir>/stacks on a 64 KiB tmpfs (full after a few files) or a read-only bind mount."""
    root = tmp_path / "io"
    stacks = root / ".provisioner" / "stacks"
    stacks.mkdir(parents=True)
    if os.geteuid() != 0:  # no mount without root: a directory the process cannot write
        stacks.chmod(0o500)
        yield root, request.param
        stacks.chmod(0o700)
        return
    if request.param == "full":
        cmd = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(stacks)]
    else:
        cmd = ["mount", "-o", "bind,ro", str(stacks), str(stacks)]
    subprocess.run(cmd, check=True)
    try:
        yield root, request.param
    finally:
        subprocess.run(["umount", str(stacks)], check=True)


def test_a_full_or_read_only_stack_directory_fails_cleanly_with_a_truthful_record(
        broken_stacks_dir, moto_url, provider_mirror):
    root, kind = broken_stacks_dir
    cfg = write_project(root, moto_url, provider_mirror)
    branch = f"feature/io-{kind}"
    out = run_cli(cfg, "spinup", "--branch", branch, check=False)
    assert out.returncode == 1, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot write the working directory of stack" in errors[0], out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) < 12
    status = json.loads(run_cli(cfg, "status", "--branch", branch, "--json").stdout)
    assert status["record"]["status"] == "failed"
    assert "cannot write the working directory" in status["record"]["error"]
    settings = config.load(str(cfg))
    lease = aws_client(moto_url, "dynamodb").get_item(
        TableName=settings.registry.lease_table, Key={"slug": {"S": stack_id(branch).slug}})
    assert "Item" not in lease, "the failed run kept its lease"


@pytest.mark.parametrize("endpoint", ["http://169.254.169.254", "https://s3.amazonaws.com",
                                      "http://user:pw@127.0.0.1:5000", "http://10.0.0.8:5000"])
def test_the_local_target_refuses_an_endpoint_off_loopback(tmp_path, moto_url, provider_mirror, endpoint):
    cfg = write_project(tmp_path / "ep", moto_url, provider_mirror)
    cfg.write_text(cfg.read_text().replace(f'endpoint = "{moto_url}"', f'endpoint = "{endpoint}"'))
    out = run_cli(cfg, "list", check=False)
    assert out.returncode == 2, out.stderr
    assert "target" in out.stderr and ("loopback" in out.stderr or "credentials" in out.stderr)
    assert "Traceback" not in out.stderr
    assert not (Path(cfg).parent / ".provisioner" / "emulator.json").exists()


def test_teardown_and_cleanup_remove_local_directories_of_stacks_without_a_live_record(
        tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "prune", moto_url, provider_mirror)
    run_cli(cfg, "bootstrap")
    settings = config.load(str(cfg))
    stacks = settings.state_dir / "stacks"
    for slug in (stack_id("feature/never").slug, "left-over-1234567"):
        (stacks / slug / "tree").mkdir(parents=True)
        (stacks / slug / "tree" / "errored.tfstate").write_text('{"secret": "x"}')
    out = run_cli(cfg, "teardown", "--branch", "feature/never")
    assert "nothing to tear down" in out.stdout   # the result line (stdout), as for every command
    assert not (stacks / stack_id("feature/never").slug).exists()
    cleaned = json.loads(run_cli(cfg, "cleanup", "--json").stdout)
    assert any("left-over-1234567" in w for w in cleaned["warnings"]), cleaned
    assert not (stacks / "left-over-1234567").exists()


def test_board_export_and_state_files_have_the_documented_modes(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "modes", moto_url, provider_mirror)
    run_cli(cfg, "bootstrap")
    export = tmp_path / "board.html"
    run_cli(cfg, "board", "--export", str(export))
    settings = config.load(str(cfg))
    files = (export, settings.state_dir / "bootstrapped.json")
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in files}
    assert modes == {"board.html": "0o644", "bootstrapped.json": "0o644"}
