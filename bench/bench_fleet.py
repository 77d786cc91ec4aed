"""Fleet benchmarks: parallel stacks, cleanup planning at scale, cleanup wall time by parallelism.

    .venv/bin/python bench/bench_fleet.py [--stacks 8] [--cleanup-stacks 16] [--levels 1,2,4]
    .venv/bin/python bench/bench_fleet.py --pairs 3 [--pair-stacks 8] [--pair-level 4]

``--pairs`` measures only the parallel-teardown target: 8 teardowns by ``cleanup --parallel 4``
against ``cleanup --parallel 1``, interleaved, median of the pairs, in a section of its own.

Starts its own moto server; prints a markdown table and writes its section of BENCHMARKS.md
(bench/report.py), leaving the core section and the hand-written notes as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from projects import write_project  # noqa: E402
from report import write_section  # noqa: E402

from provisioner import config  # noqa: E402
from provisioner.aws import emulator  # noqa: E402
from provisioner.domain.naming import stack_id  # noqa: E402
from provisioner.domain.record import Record  # noqa: E402
from provisioner.terraform import mirror  # noqa: E402
from provisioner.usecases import (  # noqa: E402
    cleanup,  # noqa: E402
    runtime,
)

MIRROR = REPO / ".provisioner" / "provider-mirror"


def run(cfg: Path, *args: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one CLI run."""
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "provisioner", *args],
                          capture_output=True, text=True, env=env)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"provisioner {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return took, int(proc.stderr.strip().splitlines()[-1])


def many(cfg: Path, op: str, branches: list[str], parallel: int) -> float:
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(lambda b: run(cfg, op, "--branch", b), branches))
    return time.perf_counter() - t


def parallel_stacks(cfg: Path, n: int) -> dict:
    names = [f"par/{i}" for i in range(n)]
    out = {"up_serial": many(cfg, "spinup", names, 1), "down_serial": many(cfg, "teardown", names, 1)}
    out["up_parallel"] = many(cfg, "spinup", names, 4)
    out["down_parallel"] = many(cfg, "teardown", names, 4)
    return out


def planning(cfg: Path, n: int = 1000) -> tuple[float, float]:
    """(median seconds of a whole plan, including the registry scan; of the planning logic alone)."""
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    now = time.time()
    for i in range(n):
        b = f"plan/{i}"
        rt.registry.put(Record(slug=stack_id(b).slug, branch=b, status="ready", created_at=now - i,
                               fixed_expires_at=now + (-1 if i % 10 == 0 else 3600), active_at=now),
                        expected=None)
    times, logic = [], []
    for _ in range(3):
        t = time.perf_counter()
        plan = cleanup.plan_cleanup(rt)
        times.append(time.perf_counter() - t)
    assert len(plan.items) >= n // 10
    records, states = rt.registry.all(), set()
    for _ in range(3):
        t = time.perf_counter()
        cleanup.plan_cleanup(rt, records=records, state_slugs=states)
        logic.append(time.perf_counter() - t)
    return statistics.median(times), statistics.median(logic)


def cleanup_runs(cfg: Path, n: int, levels: list[int]) -> dict:
    out = {}
    for level in levels:
        names = [f"clean{level}/{i}" for i in range(n)]
        many(cfg, "spinup", names, 4)  # setup, not measured
        time.sleep(1)
        env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
        t = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "provisioner", "cleanup",
                               "--parallel", str(level), "--json"], capture_output=True, text=True, env=env)
        took = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"cleanup failed:\n{proc.stderr[-3000:]}")
        rss = int(proc.stderr.strip().splitlines()[-1])
        out[level] = (took, rss)
    return out


def cleanup_once(cfg: Path, names: list[str], level: int) -> float:
    """Spin ``names`` up (4 at once, not measured), let them expire, time one ``cleanup --parallel``."""
    many(cfg, "spinup", names, 4)
    time.sleep(1)
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    t = time.perf_counter()
    argv = [sys.executable, "-m", "provisioner", "cleanup", "--parallel", str(level), "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    took = time.perf_counter() - t
    report = json.loads(proc.stdout or "{}")
    if proc.returncode != 0 or report.get("failed") or len(report.get("stacks", [])) != len(names):
        raise SystemExit(f"cleanup failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return took


def cleanup_pairs(cfg: Path, n: int, runs: int, level: int) -> dict[str, list[float]]:
    """``n`` teardowns by ``cleanup --parallel level`` against ``--parallel 1``, interleaved (the
    order alternating run by run), ``runs`` pairs."""
    out: dict[str, list[float]] = {"serial": [], "parallel": []}
    for i in range(runs):
        for lvl in ((1, level) if i % 2 == 0 else (level, 1)):
            names = [f"pair{i}-{lvl}/{k}" for k in range(n)]
            took = cleanup_once(cfg, names, lvl)
            out["serial" if lvl == 1 else "parallel"].append(took)
            print(f"pair {i}: --parallel {lvl}: {took:.1f} s", flush=True)
    return out


def pairs_main(n: int, runs: int, level: int) -> None:
    mirror.build(MIRROR)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        info = emulator.start(Path(tmp) / "emu")
        try:
            cfg = write_project(Path(tmp) / "pairs", info.url, MIRROR, extra='[stacks]\ndefault_ttl = "1s"\n',
                                health="")
            times = cleanup_pairs(cfg, n, runs, level)
        finally:
            emulator.stop(Path(tmp) / "emu")
    serial, par = statistics.median(times["serial"]), statistics.median(times["parallel"])
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = (f"| figure | measured (median of {runs}, interleaved) | target | result |\n|---|---|---|---|\n"
            f"| {n} teardowns: `cleanup --parallel {level}` vs `cleanup --parallel 1` | {par:.1f} s vs "
            f"{serial:.1f} s | >= 3x | {serial / par:.2f}x |")
    print(text)
    write_section("bench_fleet_teardowns", f"## Parallel teardowns (bench/bench_fleet.py --pairs {runs} "
                  f"--pair-stacks {n})\n\nThe example stack without health checks; every stack expires a "
                  f"second after its spinup and one `cleanup` tears them all down. Load average at the "
                  f"end: {load} (2 cores).\n\n{text}\n\n```json\n{json.dumps(times, indent=1)}\n```")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stacks", type=int, default=8)
    ap.add_argument("--cleanup-stacks", type=int, default=16)
    ap.add_argument("--levels", default="1,2,4", help="cleanup parallelism levels; '' skips the cleanup runs")
    ap.add_argument("--skip-planning", action="store_true")
    ap.add_argument("--pairs", type=int, default=0, help="only: N interleaved pairs of cleanup --parallel "
                    "--pair-level against --parallel 1 (its own BENCHMARKS.md section)")
    ap.add_argument("--pair-stacks", type=int, default=8)
    ap.add_argument("--pair-level", type=int, default=4)
    args = ap.parse_args()
    if args.pairs:
        return pairs_main(args.pair_stacks, args.pairs, args.pair_level)
    levels = [int(x) for x in args.levels.split(",") if x]
    mirror.build(MIRROR)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        info = emulator.start(Path(tmp) / "emu")
        try:
            fast = write_project(Path(tmp) / "fleet", info.url, MIRROR)
            # every stack expires a second after it is made, so the cleanup finds them all
            expiring = write_project(Path(tmp) / "clean", info.url, MIRROR,
                                     extra='[stacks]\ndefault_ttl = "1s"\n')
            plan_cfg = write_project(Path(tmp) / "plan", info.url, MIRROR)
            par = parallel_stacks(fast, args.stacks)
            plan_s = None if args.skip_planning else planning(plan_cfg)
            runs = cleanup_runs(expiring, args.cleanup_stacks, levels)
        finally:
            emulator.stop(Path(tmp) / "emu")
    rows = [
        (f"{args.stacks} spinups: 4 at once vs one after another", f"{par['up_parallel']:.1f} s vs "
         f"{par['up_serial']:.1f} s", ">= 1.5x", f"{par['up_serial'] / par['up_parallel']:.2f}x"),
        (f"{args.stacks} teardowns: 4 at once vs one after another", f"{par['down_parallel']:.1f} s vs "
         f"{par['down_serial']:.1f} s", ">= 3x", f"{par['down_serial'] / par['down_parallel']:.2f}x"),
    ]
    if plan_s:
        rows.append(("cleanup planning over 1,000 registry records (median of 3)", f"{plan_s[0]:.3f} s, of "
                     f"which planning logic {plan_s[1]:.3f} s (the rest: the emulator's scan)", "< 1 s",
                     f"{plan_s[0]:.3f} s"))
    for level, (took, rss) in runs.items():
        rows.append((f"cleanup of {args.cleanup_stacks} stacks at --parallel {level}", f"{took:.1f} s, "
                     f"peak RSS {rss / 1024:.0f} MiB (largest process)", "report", f"{took:.1f} s"))
    text = "\n".join(["| figure | measured (one run each) | target | result |", "|---|---|---|---|"]
                     + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows])
    print(text)
    flags = " ".join(sys.argv[1:])
    write_section("bench_fleet", f"## Fleet (bench/bench_fleet.py{' ' + flags if flags else ''})\n\n{text}")


if __name__ == "__main__":
    main()
