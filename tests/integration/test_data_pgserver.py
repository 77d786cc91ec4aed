"""The local PostgreSQL launcher: initdb, start on loopback, reuse, stop, start again with the data."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from provisioner.data import pgserver

pytestmark = pytest.mark.integration


@pytest.fixture
def state():
    path = Path(tempfile.mkdtemp(prefix="provisioner-pg-test-"))
    path.chmod(0o711)
    yield path
    pgserver.stop(path)
    shutil.rmtree(path, ignore_errors=True)


def test_start_reuse_stop_and_start_again(state):
    assert pgserver.status(state) is None
    server = pgserver.start(state)
    assert pgserver.start(state).pid == server.pid                       # reused, not a second one
    assert (server.socket_dir / f".s.PGSQL.{server.port}").exists()      # the socket is ours
    assert oct((state / "postgres" / "pgserver.json").stat().st_mode & 0o777) == "0o600"
    with psycopg.connect(server.dsn()) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        conn.execute("CREATE TABLE kept (x int)")
    wrong = f"postgresql://{server.user}:wrong@127.0.0.1:{server.port}/postgres"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)
    assert pgserver.stop(state) is True and pgserver.status(state) is None
    assert pgserver.stop(state) is False
    again = pgserver.start(state)
    assert again.password == server.password
    with psycopg.connect(again.dsn()) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)


def test_a_port_in_use_fails_saying_why(state, pg_server):
    with pytest.raises(pgserver.PgServerError) as info:
        pgserver.start(state, port=pg_server.port)
    assert str(pg_server.port) in str(info.value) and "Address already in use" in str(info.value)
    assert pgserver.status(state) is None
