"""The hardening faults (issue 13), each against the real CLI and the tool's own emulator.

    .venv/bin/python bench/faults.py --hardening [--trials N] [--seed S] [--faults KIND,...] [--keep DIR]

Faults, at a random point of a spinup or a teardown (the trials alternate):

- ``sigterm`` / ``sigint``: the signal to the CLI process alone (not its group);
- ``stall``: the emulator SIGSTOPped for 2-10 s, then SIGCONTed;
- ``emulator-kill``: the emulator SIGKILLed; the re-run starts a new one, which replays the recording.

After each fault the record must be truthful (no ``creating``/``destroying`` with nothing running,
unless the output said the record could not be written), then the same command is run again and must
converge. At the end every stack is torn down; the emulator is searched for resources tagged with a
trial's stack (orphans) and resources without a record (lost records), and the state directory is
searched for a canary secret (passed as the stack's ``third_party_api_key``, plain and base64).
Each trial's faulted run and re-run (stderr) are written to ``<work dir>/hardening/logs/``; with
``--keep DIR`` the work dir (state dir, emulator log, those logs) stays for reading afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from projects import write_project

from provisioner import config
from provisioner.aws import emulator, recording
from provisioner.domain.naming import stack_id
from provisioner.sweep.account import find_tagged
from provisioner.usecases import runtime

CANARY = "fault-canary-5b1c0e9a"
FAULTS = ("sigterm", "sigint", "stall", "emulator-kill")
BUSY = ("creating", "destroying")


def managed_project(root: Path, mirror: Path) -> Path:
    cfg = write_project(root, "http://unused", mirror, extra=(
        '[stacks]\nlease_ttl = "3s"\n\n[secrets]\nthird_party_api_key = "env:FAULT_CANARY"\n'))
    cfg.write_text(cfg.read_text().replace('endpoint = "http://unused"\n', ""))
    return cfg


def _env(cfg: Path) -> dict[str, str]:
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg), "FAULT_CANARY": CANARY}
    env.pop("GITHUB_HEAD_REF", None)
    return env


def cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True, text=True,
                          env=_env(cfg), timeout=900)


def _emulator_pid(cfg: Path) -> int | None:
    info = emulator.read_info(config.load(str(cfg)).state_dir)
    return info.pid if info else None


def _inject(kind: str, cfg: Path, proc: subprocess.Popen, rng: random.Random) -> str:
    if kind in ("sigterm", "sigint"):
        os.kill(proc.pid, signal.SIGTERM if kind == "sigterm" else signal.SIGINT)
        return kind
    pid = _emulator_pid(cfg)
    if pid is None:
        return "no emulator"
    if kind == "stall":
        pause = rng.uniform(2, 10)
        os.kill(pid, signal.SIGSTOP)
        time.sleep(pause)
        os.kill(pid, signal.SIGCONT)
        return f"stalled {pause:.1f}s"
    os.kill(pid, signal.SIGKILL)
    return "emulator killed"


def faulted(cfg: Path, args: list[str], kind: str, delay: float, rng: random.Random) -> dict:
    proc = subprocess.Popen([sys.executable, "-m", "provisioner", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=_env(cfg), start_new_session=True, text=True)
    try:
        proc.wait(timeout=delay)
        hit = "finished first"
    except subprocess.TimeoutExpired:
        hit = _inject(kind, cfg, proc, rng)
    _, err = proc.communicate(timeout=900)
    return {"hit": hit, "exit": proc.returncode, "stderr": err}


def truthful(status: str, fault: dict) -> bool:
    """A busy record after the command ended is a lie unless the output admitted it."""
    return status not in BUSY or "could not be updated" in fault["stderr"]


def trial(cfg: Path, branch: str, op: str, kind: str, delay: float, rng: random.Random) -> dict:
    if op == "teardown":
        cli(cfg, "spinup", "--branch", branch)
    fault = faulted(cfg, [op, "--branch", branch], kind, delay, rng)
    after = json.loads(cli(cfg, "status", "--branch", branch, "--json").stdout or "{}").get("record") or {}
    again = cli(cfg, op, "--branch", branch, "--json")
    logs = cfg.parent / "logs"
    logs.mkdir(exist_ok=True)
    (logs / f"{branch.replace('/', '-')}-{kind}-{op}.txt").write_text(
        f"== faulted {op} ({kind} after {delay:.2f}s: {fault['hit']}), exit {fault['exit']}\n"
        f"{fault['stderr']}\n== re-run, exit {again.returncode}\n{again.stderr}")
    final = json.loads(cli(cfg, "status", "--branch", branch, "--json").stdout or "{}").get("record") or {}
    want = "ready" if op == "spinup" else "destroyed"
    lines = [ln for ln in fault["stderr"].splitlines() if ln.strip()]
    return {"op": op, "fault": kind, "delay": round(delay, 2), "hit": fault["hit"], "exit": fault["exit"],
            "last_line": lines[-1][:140] if lines else "", "status_after": after.get("status"),
            "truthful": truthful(str(after.get("status")), fault),
            "converged": again.returncode == 0 and final.get("status") == want,
            "rerun_error": again.stderr.strip().splitlines()[-1][:140] if again.returncode else ""}


def canary_files(state_dir: Path) -> dict[str, list[str]]:
    """Files under the state dir holding the canary (plain or base64): where, by kind."""
    needles = (CANARY.encode(), base64.b64encode(CANARY.encode())[:16])
    found: dict[str, list[str]] = {"stack directories": [], "readable by others": [], "private (0600)": []}
    for path in state_dir.rglob("*"):
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 200_000_000:
            continue
        data = path.read_bytes()
        if not any(n in data for n in needles):
            continue
        rel = str(path.relative_to(state_dir))
        if rel.startswith("stacks/"):
            found["stack directories"].append(rel)
        elif path.stat().st_mode & 0o077:
            found["readable by others"].append(rel)
        else:
            found["private (0600)"].append(rel)
    return found


def run(tmp: Path, mirror: Path, trials: int, rng: random.Random, log: Callable[[dict], None],
        kinds: tuple[str, ...] = FAULTS) -> None:
    cfg = managed_project(tmp / "hardening", mirror)
    rows = []
    try:
        for i in range(trials):
            kind, op = kinds[i % len(kinds)], "spinup" if (i // len(kinds)) % 2 == 0 else "teardown"
            delay = rng.uniform(1.0, 6.0) if op == "spinup" else rng.uniform(1.0, 12.0)
            rows.append({"branch": f"hfault/{i}", **trial(cfg, f"hfault/{i}", op, kind, delay, rng)})
            log(rows[-1])
        for r in rows:
            down = cli(cfg, "teardown", "--branch", r["branch"])
            if down.returncode:
                print(f"final teardown of {r['branch']} failed: {down.stderr.strip()[-300:]}",
                      file=sys.stderr)
        settings = config.load(str(cfg))
        rt = runtime.open_runtime(settings, start_emulator=True)
        orphans = {r["branch"]: find_tagged(rt.aws, stack_id(r["branch"]).slug) for r in rows}
        records = {r.slug for r in rt.registry.all()}
        lost = [b for b, arns in orphans.items() if arns and stack_id(b).slug not in records]
        secrets = canary_files(settings.state_dir)
    finally:
        cli(cfg, "emulator", "stop")
    print("| fault | op | trials | hit mid-run | converged on re-run | orphans | lost records "
          "| secrets on disk (stack dirs / readable by others) | untruthful records |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in FAULTS:
        for op in ("spinup", "teardown"):
            mine = [r for r in rows if r["fault"] == kind and r["op"] == op]
            if not mine:
                continue
            print(f"| {kind} | {op} | {len(mine)} | {sum(r['hit'] != 'finished first' for r in mine)} | "
                  f"{sum(r['converged'] for r in mine)} | {sum(len(orphans[r['branch']]) for r in mine)} | "
                  f"{sum(r['branch'] in lost for r in mine)} | "
                  f"{len(secrets['stack directories'])} / {len(secrets['readable by others'])} | "
                  f"{sum(not r['truthful'] for r in mine)} |")
    print(f"\ncanary in private files: {secrets['private (0600)']} (recording: "
          f"{recording.RECORDING}, the emulator's own storage)")
    for r in rows:
        if not (r["converged"] and r["truthful"]):
            print(f"not converged or untruthful: {r}")
