"""What health checks, the smoke suite and drift cost: a spinup of the example stack with and without
the example's [health] and [tests], and `health`, `test`, `drift` run on their own (median of 3).

    .venv/bin/python bench/bench_health.py [--rounds 3]

Starts its own moto server; prints a markdown table and writes its section of BENCHMARKS.md
(bench/report.py). Each round spins up fresh stacks (new branches), so every spinup creates the
whole stack; nothing is torn down (the emulator is discarded at the end).
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from projects import write_project  # noqa: E402
from report import write_section  # noqa: E402

from provisioner.aws import emulator  # noqa: E402
from provisioner.terraform import mirror  # noqa: E402

MIRROR = REPO / ".provisioner" / "provider-mirror"


def run(cfg: Path, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True, text=True,
                          env=env)
    took = time.perf_counter() - t
    if proc.returncode not in ok:
        raise SystemExit(f"provisioner {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return took, proc.stdout


def rounds(plain: Path, checked: Path, n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in ("plain", "checked", "health", "test", "tests_in_record",
                                                   "drift", "list")}
    for i in range(n):
        out["plain"].append(run(plain, "spinup", "--branch", f"bench/plain-{i}")[0])
        took, stdout = run(checked, "spinup", "--branch", f"bench/checked-{i}", "--json")
        out["checked"].append(took)
        out["tests_in_record"].append(float(json.loads(stdout)["record"]["tests"]["duration"]))
        out["health"].append(run(checked, "health", "--branch", f"bench/checked-{i}")[0])
        out["test"].append(run(checked, "test", "--branch", f"bench/checked-{i}")[0])
        out["drift"].append(run(checked, "drift", "--branch", f"bench/checked-{i}")[0])
        out["list"].append(run(checked, "list")[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    mirror.build(MIRROR)
    with tempfile.TemporaryDirectory(prefix="bench-health-") as tmp:
        info = emulator.start(Path(tmp) / "emu")
        try:
            plain = write_project(Path(tmp) / "plain", info.url, MIRROR, health="")
            checked = write_project(Path(tmp) / "checked", info.url, MIRROR, smoke=True)
            for name, cfg in (("plain", plain), ("checked", checked)):   # fills each plugin cache
                run(cfg, "spinup", "--branch", f"bench/warm-{name}")       # (not measured)
            got = rounds(plain, checked, args.rounds)
        finally:
            emulator.stop(Path(tmp) / "emu")
    med = {k: statistics.median(v) for k, v in got.items()}
    added = med["checked"] - med["plain"]
    rows = [
        ("spinup of the example stack, no [health]/[tests]", f"{med['plain']:.2f} s"),
        ("spinup with the example's 5 checks and smoke suite", f"{med['checked']:.2f} s"),
        ("added to a spinup by health + tests", f"{added:.2f} s ({added / med['plain']:.0%})"),
        ("... of which the smoke suite (its own duration, recorded)", f"{med['tests_in_record']:.2f} s"),
        ("... so the 5 health checks (the rest)", f"{added - med['tests_in_record']:.2f} s"),
        ("`provisioner health` on its own (CLI start included)", f"{med['health']:.2f} s"),
        ("`provisioner list` (CLI start and one registry scan: the baseline)", f"{med['list']:.2f} s"),
        ("`provisioner test` on its own (checks + smoke suite)", f"{med['test']:.2f} s"),
        ("`provisioner drift` of one stack (init skipped, refresh-only plan, show)", f"{med['drift']:.2f} s"),
    ]
    table = "\n".join(["| measure | median of " + str(args.rounds) + " |", "|---|---|",
                       *(f"| {a} | {b} |" for a, b in rows)])
    print(table)
    write_section("health", f"## Health, tests and drift (bench/bench_health.py --rounds {args.rounds})\n\n"
                  f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} on the example stack against "
                  f"moto on loopback.\n\n{table}")


if __name__ == "__main__":
    main()
