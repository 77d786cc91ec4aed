"""The tool's own emulator under faults: a stall, a crash, a crash mid-apply, a lost recording
(hardening items 2-4, operator experience item 1). Each test starts its own moto (the project has no
``target.endpoint``), so killing or stopping it touches nothing else."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import run_cli
from faultproxy import wait_until
from projects import write_project

from provisioner import config
from provisioner.aws import emulator, recording
from provisioner.domain.naming import stack_id
from provisioner.terraform import workspace

pytestmark = pytest.mark.integration

CANARY = "canary-9f3e1d77-secret"


def managed_project(root: Path, mirror: Path, extra: str = "") -> Path:
    cfg = write_project(root, "http://unused", mirror, extra=extra)
    cfg.write_text(cfg.read_text().replace('endpoint = "http://unused"\n', ""))
    return cfg


def emulator_pid(cfg: Path) -> int:
    info = emulator.read_info(config.load(str(cfg)).state_dir)
    assert info is not None
    return info.pid


def moto_processes(state_dir: Path) -> list[int]:
    needle = f"MOTO_RECORDER_FILEPATH={recording.path(state_dir).resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def project(tmp_path, provider_mirror):
    cfg = managed_project(tmp_path / "durable", provider_mirror)
    yield cfg
    subprocess.run([sys.executable, "-m", "provisioner", "emulator", "stop"], capture_output=True,
                   env={**os.environ, "PROVISIONER_CONFIG": str(cfg)}, timeout=60)


def test_a_stalled_emulator_is_waited_for_and_never_replaced(project):
    branch = "feature/stall"
    run_cli(project, "spinup", "--branch", branch)
    state_dir = config.load(str(project)).state_dir
    pid = emulator_pid(project)
    os.kill(pid, signal.SIGSTOP)
    threading.Timer(6, os.kill, args=(pid, signal.SIGCONT)).start()
    listed = run_cli(project, "list", "--json")
    assert "does not answer; waiting" in listed.stderr and "not replaced" in listed.stderr
    assert [r["branch"] for r in json.loads(listed.stdout)["environments"]] == [branch]
    assert emulator_pid(project) == pid and moto_processes(state_dir) == [pid], "a second emulator started"
    run_cli(project, "teardown", "--branch", branch)


def test_a_crashed_emulator_comes_back_with_its_stacks(project):
    branch = "feature/crash"
    run_cli(project, "spinup", "--branch", branch)
    state_dir = config.load(str(project)).state_dir
    assert stat.S_IMODE(recording.path(state_dir).stat().st_mode) == 0o600
    os.kill(emulator_pid(project), signal.SIGKILL)
    listed = run_cli(project, "list", "--json")
    assert "restored the previous emulator's state: replayed" in listed.stderr
    records = json.loads(listed.stdout)["environments"]
    assert [(r["branch"], r["status"]) for r in records] == [(branch, "ready")]
    # --refresh: a full plan, so "no changes" compares the replayed resources with the state
    again = json.loads(run_cli(project, "spinup", "--branch", branch, "--refresh", "--json").stdout)
    assert again["no_changes"] is True and again["skipped_since"] is None, "the replayed stack differs"
    down = json.loads(run_cli(project, "teardown", "--branch", branch, "--json").stdout)
    assert down["action"] == "destroyed"
    assert len(moto_processes(state_dir)) == 1


def test_a_lost_emulator_is_said_once_and_local_directories_reconciled(project):
    branch = "feature/lost"
    run_cli(project, "spinup", "--branch", branch)
    settings = config.load(str(project))
    slug = stack_id(branch).slug
    assert workspace.locate(settings, slug).root.is_dir()
    os.kill(emulator_pid(project), signal.SIGKILL)
    recording.path(settings.state_dir).unlink()
    first = run_cli(project, "list")
    assert "WARNING: the previous local emulator" in first.stderr and slug in first.stderr
    assert "every stack it held is gone" in first.stderr
    assert not workspace.locate(settings, slug).root.exists(), "a lost stack's directory remains"
    second = run_cli(project, "list")
    assert "WARNING" not in second.stderr


def test_an_emulator_killed_mid_apply_shows_the_terraform_error_and_leaves_no_state_file(
        tmp_path, provider_mirror):
    cfg = managed_project(tmp_path / "killed", provider_mirror,
                          extra='\n[secrets]\nthird_party_api_key = "env:IT_CANARY"\n')
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg), "IT_CANARY": CANARY}
    env.pop("GITHUB_HEAD_REF", None)
    run_cli(cfg, "emulator", "start")
    settings = config.load(str(cfg))
    log = tmp_path / "spinup.stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "provisioner", "spinup", "--branch", "feature/dead"],
                                stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
    try:
        assert wait_until(lambda: proc.poll() is not None or "    done " in log.read_text(), 300)
        os.kill(emulator_pid(cfg), signal.SIGKILL)
        started = time.monotonic()
        code = proc.wait(timeout=600)
        ended = time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = log.read_text()
    print(f"\nspinup ended {ended:.1f}s after the emulator was killed", file=sys.stderr)
    assert code == 1, text[-3000:]
    first_error = next(line for line in text.splitlines() if line.startswith("error:"))
    assert "terraform apply failed" in first_error or "terraform" in first_error, text[-3000:]
    assert "Traceback" not in text
    assert "note: the record of" in text and "could not be updated" in text
    module_dir = workspace.locate(settings, stack_id("feature/dead").slug).module_dir
    assert list(module_dir.glob("*.tfstate*")) == [], "a state file remains in the stack directory"
    kept = list((settings.state_dir / workspace.RESCUE_DIR).glob("*"))
    for path in kept:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    if kept:
        assert "kept at" in text and "state push" in text
    run_cli(cfg, "emulator", "stop")
