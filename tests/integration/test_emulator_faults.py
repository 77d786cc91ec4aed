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
from conftest import processes_with_env, run_cli
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
    return processes_with_env(f"MOTO_RECORDER_FILEPATH={recording.path(state_dir).resolve()}")


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
    # the re-run: a new emulator replays what the killed one answered; the kept state (which knows
    # what the dead apply did) is pushed first, the dead run's lock broken, and the stack converges
    again = subprocess.run([sys.executable, "-m", "provisioner", "spinup", "--branch", "feature/dead",
                            "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    if kept:
        assert "pushed the state the previous run could not save" in again.stderr, again.stderr[-3000:]
    assert list((settings.state_dir / workspace.RESCUE_DIR).glob("*")) == []
    status = json.loads(run_cli(cfg, "status", "--branch", "feature/dead", "--json").stdout)
    assert status["record"]["status"] == "ready"
    down = subprocess.run([sys.executable, "-m", "provisioner", "teardown", "--branch", "feature/dead",
                           "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert down.returncode == 0 and json.loads(down.stdout)["action"] == "destroyed", down.stderr[-3000:]
    run_cli(cfg, "emulator", "stop")


def _sqs_request(target: str, body: dict) -> tuple[bytes, dict[str, str]]:
    return json.dumps(body).encode(), {
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{target}",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/sqs/aws4_request, "
                         "SignedHeaders=host, Signature=0"}


def test_a_request_the_killed_emulator_never_answered_is_not_replayed(tmp_path):
    """SIGKILL while the emulator is answering a mutation: the replayed emulator must not have done
    it. ReceiveMessage hides the messages it returns (visibility timeout 600 s); its 5 MB answer
    (tabs, escaped in JSON) to a client that reads nothing (4 KB receive buffer) is more than the
    socket buffers hold, which keeps the emulator in the middle of answering, holding the one lock
    (a health check then gets no answer)."""
    import socket

    import boto3

    state_dir = tmp_path / "emu"
    info = emulator.start(state_dir)
    try:
        sqs = boto3.client("sqs", endpoint_url=info.url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        queue = sqs.create_queue(QueueName="in-flight")["QueueUrl"]
        for n in range(10):
            sqs.send_message(QueueUrl=queue, MessageBody=f"{n}" + "\t" * 250_000)  # 5 MB as JSON
        body, headers = _sqs_request("ReceiveMessage", {
            "QueueUrl": queue, "MaxNumberOfMessages": 10, "VisibilityTimeout": 600})
        stuck = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect((emulator.HOST, info.port))
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        stuck.sendall(f"POST / HTTP/1.1\r\nHost: {emulator.HOST}:{info.port}\r\n{head}"
                      f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        assert wait_until(lambda: not emulator.answers(info.url, timeout=0.5), 20), \
            "the emulator is not busy answering the receive"
        os.kill(info.pid, signal.SIGKILL)
        os.waitpid(info.pid, 0)  # started by this process: reap it
        stuck.close()
        recorded = [json.loads(line) for line in recording.path(state_dir).read_text().splitlines()]
        assert [e["headers"].get("X-Amz-Target") for e in recorded].count("AmazonSQS.SendMessage") == 10
        assert all(e["answered"] for e in recorded)
        assert "AmazonSQS.ReceiveMessage" not in [e["headers"].get("X-Amz-Target") for e in recorded]

        again = emulator.start(state_dir)
        assert again.pid != info.pid and again.restore["requests"] == len(recorded)
        sqs = boto3.client("sqs", endpoint_url=again.url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        queue = sqs.get_queue_url(QueueName="in-flight")["QueueUrl"]
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        assert len(got) == 10, "the receive nobody saw an answer to was replayed: the messages are hidden"
    finally:
        emulator.stop(state_dir)


def test_a_torn_last_line_of_the_recording_is_dropped_with_a_note(project):
    """A SIGKILL in the middle of writing a long line leaves half of it: that request counts as not
    done, the rest replays, and the restart says how many lines it dropped."""
    branch = "feature/torn"
    run_cli(project, "spinup", "--branch", branch)
    state_dir = config.load(str(project)).state_dir
    os.kill(emulator_pid(project), signal.SIGKILL)
    with open(recording.path(state_dir), "a", encoding="utf-8") as handle:
        handle.write('{"headers": {"Host": "127.0.0.1"}, "method": "PUT", "url": "http://127.0.0.1/torn-bu')
    listed = run_cli(project, "list", "--json")
    assert "dropped 1 unreadable lines of the emulator's recording" in listed.stderr
    assert [r["status"] for r in json.loads(listed.stdout)["environments"]] == ["ready"]
    assert stat.S_IMODE(recording.path(state_dir).stat().st_mode) == 0o600
    assert not recording.path(state_dir).read_text().rstrip("\n").endswith("torn-bu")
    again = json.loads(run_cli(project, "spinup", "--branch", branch, "--json").stdout)
    assert again["no_changes"] is True
    run_cli(project, "teardown", "--branch", branch)


def test_commands_that_find_no_emulator_at_once_start_one_between_them(project):
    """Two commands with no emulator running used to start one each: both replayed and then
    recorded into the same file, and emulator.json named one while the other lived on."""
    env = {**os.environ, "PROVISIONER_CONFIG": str(project)}
    procs = [subprocess.Popen([sys.executable, "-m", "provisioner", "list", "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    assert sum("started the local AWS emulator" in err for _, err in outs) == 1, [err for _, err in outs]
    state_dir = config.load(str(project)).state_dir
    assert moto_processes(state_dir) == [emulator_pid(project)], "a second emulator is running"


@pytest.mark.parametrize("delay", [0.7, 1.5])
def test_a_signal_while_the_emulator_starts_leaves_no_emulator_running(project, delay):
    """SIGTERM to a command in the middle of starting the emulator (before emulator.json names it):
    the half-started emulator is stopped, not left for a later one to run beside."""
    env = {**os.environ, "PROVISIONER_CONFIG": str(project)}
    proc = subprocess.Popen([sys.executable, "-m", "provisioner", "list"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    state_dir = config.load(str(project)).state_dir
    if proc.returncode in (143, -signal.SIGTERM):  # -15: before the CLI installed its handler
        assert emulator.read_info(state_dir) is None or moto_processes(state_dir) == [emulator_pid(project)]
        assert emulator.read_info(state_dir) is not None or moto_processes(state_dir) == [], err
    else:
        assert proc.returncode == 0, err  # it finished first
        assert moto_processes(state_dir) == [emulator_pid(project)]
