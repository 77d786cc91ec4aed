"""Fault injection: SIGKILL spinup and teardown at random points, re-run, count what is left.

    .venv/bin/python bench/faults.py [--trials N] [--seed S]
    .venv/bin/python bench/faults.py --hardening [--trials N] [--seed S] [--faults K,..] [--keep DIR]
                                                               (bench/faults_hardening.py)

Each trial starts `provisioner spinup` (or, on a live stack, `provisioner teardown`) in its own
process group, kills the whole group (CLI and Terraform worker) after a random delay, then runs
the same command again and checks that it converges. At the end every stack is torn down and the
emulator is searched for resources tagged with any trial's stack (orphans) and for stacks with
resources but no record (lost records). Starts its own moto server; prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from projects import write_project  # noqa: E402

from provisioner import config  # noqa: E402
from provisioner.aws import emulator  # noqa: E402
from provisioner.domain.naming import stack_id  # noqa: E402
from provisioner.sweep.account import find_tagged  # noqa: E402
from provisioner.terraform import mirror  # noqa: E402
from provisioner.usecases import runtime  # noqa: E402

MIRROR = REPO / ".provisioner" / "provider-mirror"


def cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    return subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True, text=True,
                          env=env, timeout=900)


def killed(cfg: Path, args: list[str], delay: float) -> bool:
    """Run the command, SIGKILL its process group after ``delay``; True if it was still running."""
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    proc = subprocess.Popen([sys.executable, "-m", "provisioner", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def trial(cfg: Path, branch: str, op: str, delay: float) -> dict:
    if op == "teardown":
        cli(cfg, "spinup", "--branch", branch)
    hit = killed(cfg, [op, "--branch", branch], delay)
    again = cli(cfg, op, "--branch", branch, "--json")
    status = json.loads(cli(cfg, "status", "--branch", branch, "--json").stdout or "{}").get("record") or {}
    want = "ready" if op == "spinup" else "destroyed"
    return {"op": op, "delay": round(delay, 2), "killed": hit, "rerun_exit": again.returncode,
            "converged": again.returncode == 0 and status.get("status") == want,
            "error": again.stderr.strip().splitlines()[-1][:120] if again.returncode else ""}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hardening", action="store_true",
                    help="the hardening faults: SIGTERM/SIGINT to the CLI, emulator stall, emulator kill")
    ap.add_argument("--faults", default="",
                    help="with --hardening: only these kinds, comma-separated (sigterm,sigint,stall,"
                         "emulator-kill)")
    ap.add_argument("--keep", default="", help="with --hardening: work in this directory and keep it (logs)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    mirror.build(MIRROR)
    if args.hardening:
        import faults_hardening

        kinds = tuple(k for k in args.faults.split(",") if k) or faults_hardening.FAULTS
        if set(kinds) - set(faults_hardening.FAULTS):
            ap.error(f"--faults: unknown {sorted(set(kinds) - set(faults_hardening.FAULTS))}")
        show = lambda row: print(json.dumps(row), file=sys.stderr, flush=True)  # noqa: E731
        if args.keep:
            Path(args.keep).mkdir(parents=True, exist_ok=True)
            faults_hardening.run(Path(args.keep), MIRROR, args.trials, rng, show, kinds)
            return
        with tempfile.TemporaryDirectory(prefix="hfaults-") as tmp:
            faults_hardening.run(Path(tmp), MIRROR, args.trials, rng, show, kinds)
        return
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        info = emulator.start(Path(tmp) / "emu")
        try:
            cfg = write_project(Path(tmp) / "faults", info.url, MIRROR, extra='[stacks]\nlease_ttl = "3s"\n')
            rows = []
            for i in range(args.trials):
                op = "spinup" if i % 2 == 0 else "teardown"
                delay = rng.uniform(0.8, 4.5) if op == "spinup" else rng.uniform(1.0, 14.0)
                rows.append({"branch": f"fault/{i}", **trial(cfg, f"fault/{i}", op, delay)})
                print(json.dumps(rows[-1]), file=sys.stderr)
            for r in rows:
                cli(cfg, "teardown", "--branch", r["branch"])
            rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
            orphans = {r["branch"]: find_tagged(rt.aws, stack_id(r["branch"]).slug) for r in rows}
            records = {r.slug: r for r in rt.registry.all()}
            lost = [b for b, arns in orphans.items() if arns and stack_id(b).slug not in records]
        finally:
            emulator.stop(Path(tmp) / "emu")
    print("| op | trials | killed mid-run | converged on re-run | orphans after teardown | lost records |")
    print("|---|---|---|---|---|---|")
    for op in ("spinup", "teardown"):
        mine = [r for r in rows if r["op"] == op]
        killed_n, converged = sum(r["killed"] for r in mine), sum(r["converged"] for r in mine)
        print(f"| {op} | {len(mine)} | {killed_n} | {converged} | "
              f"{sum(len(orphans[r['branch']]) for r in mine)} | {sum(r['branch'] in lost for r in mine)} |")
    failures = [r for r in rows if not r["converged"]]
    for r in failures:
        print(f"not converged: {r}")


if __name__ == "__main__":
    main()
