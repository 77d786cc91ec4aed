"""A real PostgreSQL on loopback beside the emulator, for `postgres` datasets of the local target.

    server = start(state_dir)          # initdb on first use, then pg_ctl start; reuses a running one
    server.dsn()                       # postgresql://provisioner:...@127.0.0.1:PORT/postgres
    status(state_dir) -> PgServer | None
    stop(state_dir) -> bool

Layout under `<state_dir>/postgres/`: `data/` (the cluster), `socket/` (the unix socket, so it
never lands in /tmp or /var/run), `server.log`, `pgserver.json` (port, user, password; mode 0600).

Access: TCP on 127.0.0.1 only, with a password (scram-sha-256) generated at initdb and kept in
`pgserver.json`; the unix socket trusts local users, but its directory is 0700, so only the
server's own user (and root) can reach it. Durability is traded for speed (fsync off): staging
data is reloadable by definition.

PostgreSQL refuses to run as root. Run as root (CI, these machines), the server runs as the
unprivileged `postgres` account (or `$PROVISIONER_PG_USER`), which must be able to reach the state
directory; the error says so when it cannot. Binaries: `$PROVISIONER_PG_BIN`, else `pg_config
--bindir`, else the newest `/usr/lib/postgresql/*/bin`, else `initdb` on PATH (`make install`
installs Debian's postgresql where none is found).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .errors import PgServerError

SUPERUSER = "provisioner"


@dataclass(frozen=True)
class PgServer:
    root: Path
    port: int
    user: str
    password: str = field(repr=False)
    pid: int | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{dbname}"


def find_bin_dir() -> Path:
    candidates: list[Path] = []
    if os.environ.get("PROVISIONER_PG_BIN"):
        candidates.append(Path(os.environ["PROVISIONER_PG_BIN"]))
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise PgServerError("no PostgreSQL server binaries (initdb, pg_ctl) found; run `make install` "
                        "(installs Debian's postgresql as root) or set PROVISIONER_PG_BIN")


def _runner() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root; None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("PROVISIONER_PG_USER", "postgres")
    try:
        entry = pwd.getpwnam(name)
    except KeyError as exc:
        raise PgServerError(f"running as root, and there is no user '{name}' to run PostgreSQL as "
                            "(it refuses root); create one or set PROVISIONER_PG_USER",
                            user=name) from exc
    return entry.pw_uid, entry.pw_gid


def _run(argv: list[str], root: Path, as_user: tuple[int, int] | None,
         check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    kwargs: dict[str, Any] = {"user": as_user[0], "group": as_user[1], "extra_groups": []} if as_user else {}
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=root, timeout=timeout,
                              env={**os.environ, "LC_ALL": "C"}, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PgServerError(f"{Path(argv[0]).name} failed: {exc}") from exc
    if check and proc.returncode != 0:
        raise PgServerError(f"{Path(argv[0]).name} exited {proc.returncode}: "
                            f"{(proc.stderr or proc.stdout).strip()[-1500:]}", command=argv[0])
    return proc


def _state(root: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((root / "pgserver.json").read_text()))
    except (OSError, ValueError):
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(root: Path, as_user: tuple[int, int] | None) -> None:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    (root / "socket").mkdir(exist_ok=True, mode=0o700)
    if as_user:
        for p in (root, root / "socket"):
            os.chown(p, *as_user)
        if _run(["test", "-w", str(root)], Path("/"), as_user, check=False).returncode != 0:
            raise PgServerError(f"the user PostgreSQL runs as (uid {as_user[0]}) cannot reach {root}: "
                                "every parent directory must be searchable by it (chmod o+x)",
                                path=str(root))


def _initdb(root: Path, bin_dir: Path, as_user: tuple[int, int] | None) -> str:
    password = secrets.token_urlsafe(24)
    pwfile = root / "initdb.pw"
    pwfile.write_text(password)
    pwfile.chmod(0o600)
    if as_user:
        os.chown(pwfile, *as_user)
    try:
        _run([str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER, "-E", "UTF8",
              "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"],
             root, as_user, timeout=120)
    finally:
        pwfile.unlink(missing_ok=True)
    conf = root / "data" / "postgresql.conf"
    conf.write_text(conf.read_text() + "\ninclude 'provisioner.conf'\n")
    return password


def _configure(root: Path, port: int, as_user: tuple[int, int] | None) -> None:
    conf = root / "data" / "provisioner.conf"
    conf.write_text(f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                    f"unix_socket_directories = '{root / 'socket'}'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
    if as_user:
        os.chown(conf, *as_user)


def status(state_dir: Path) -> PgServer | None:
    """The running server of this state dir, or None."""
    root = state_dir / "postgres"
    state = _state(root)
    if state is None or not (root / "data" / "PG_VERSION").exists():
        return None
    try:
        pid = int((root / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return PgServer(root=root, port=int(state["port"]), user=state["user"], password=state["password"],
                    pid=pid)


def start(state_dir: Path, *, port: int = 0, bin_dir: Path | None = None) -> PgServer:
    """Start (initialising on first use) the server of `state_dir`, or return the running one."""
    running = status(state_dir)
    if running is not None:
        return running
    root = state_dir / "postgres"
    bin_dir = bin_dir or find_bin_dir()
    as_user = _runner()
    _prepare(root, as_user)
    state = _state(root) if (root / "data" / "PG_VERSION").exists() else None
    if state is None:
        shutil.rmtree(root / "data", ignore_errors=True)
        state = {"user": SUPERUSER, "password": _initdb(root, bin_dir, as_user)}
    state["port"] = port or _free_port()
    _configure(root, state["port"], as_user)
    state_file = root / "pgserver.json"
    state_file.write_text(json.dumps(state))
    state_file.chmod(0o600)
    started = _run([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"),
                    "-w", "-t", "60", "start"], root, as_user, check=False, timeout=90)
    server = status(state_dir) if started.returncode == 0 else None
    if server is None:   # pg_ctl only says "examine the log output": the log says why
        log = root / "server.log"
        tail = log.read_text(errors="replace").strip()[-1500:] if log.exists() else started.stderr
        raise PgServerError(f"the server did not start on port {state['port']}: {tail}",
                            port=state["port"], log=str(log))
    return server


def stop(state_dir: Path, *, bin_dir: Path | None = None) -> bool:
    """Stop the server of `state_dir` (fast shutdown); False when none was running."""
    if status(state_dir) is None:
        return False
    root = state_dir / "postgres"
    _run([str((bin_dir or find_bin_dir()) / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w",
          "-t", "60", "stop"], root, _runner(), timeout=90)
    return True
