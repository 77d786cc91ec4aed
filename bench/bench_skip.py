"""A spinup with unchanged inputs (Terraform skipped) against the same spinup with `--refresh`.

    .venv/bin/python bench/bench_skip.py [--runs 5]

Starts its own moto server on loopback and writes throwaway projects: the example stack without
health checks (Terraform's share alone), the example with its `[health]` checks and smoke suite
(what `make demo` runs: both paths run them), and the team repository (tests/teamrepo, two regions,
nested modules). Each is spun up once; then, per round, one no-change spinup and one `--refresh`
spinup, interleaved, wall time of the whole CLI process; median of N rounds. Also times the input
digests alone (terraform/fingerprint.py) and `status --json` (the CLI's start-up, the runtime and
one registry read: the floor under any command) on each project. Writes its section of BENCHMARKS.md.
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

from projects import copy_team_repo, write_project, write_team_config  # noqa: E402
from report import write_section  # noqa: E402

from provisioner import config  # noqa: E402
from provisioner.aws import emulator  # noqa: E402
from provisioner.terraform import fingerprint, mirror  # noqa: E402

MIRROR = REPO / ".provisioner" / "provider-mirror"
TARGET = 5.0


def cli(cfg: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    env.pop("GITHUB_HEAD_REF", None)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True, text=True,
                         env=env, timeout=900)
    took = time.perf_counter() - t
    if out.returncode:
        raise SystemExit(f"provisioner {' '.join(args)} exited {out.returncode}: {out.stderr[-2000:]}")
    return took, out


def team_project(root: Path, url: str) -> Path:
    return write_team_config(copy_team_repo(root), url, MIRROR, "bench")


def digest_ms(cfg: Path, runs: int = 9) -> float:
    s = config.load(str(cfg))
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fingerprint.module_tree(s)
        fingerprint.versions(s)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def measure(cfg: Path, branch: str, runs: int) -> dict:
    cli(cfg, "spinup", "--branch", branch)
    skip, full, floor = [], [], []
    for _ in range(runs):
        floor.append(cli(cfg, "status", "--branch", branch, "--json")[0])   # start-up + one registry read
        took, out = cli(cfg, "spinup", "--branch", branch)
        assert "no infrastructure changes (inputs unchanged since" in out.stdout, out.stdout
        skip.append(took)
        took, out = cli(cfg, "spinup", "--branch", branch, "--refresh")
        assert "no changes;" in out.stdout, out.stdout
        full.append(took)
    s, f = statistics.median(skip), statistics.median(full)
    return {"skip": s, "refresh": f, "ratio": f / s, "skip_all": skip, "refresh_all": full,
            "status": statistics.median(floor), "digest_ms": digest_ms(cfg)}


def table(results: dict[str, dict], runs: int) -> str:
    rows = [f"| project | no-change spinup (skipped) | `spinup --refresh` (full plan) | ratio (median of "
            f"{runs}) | target | result | input digests alone | `status --json` (start-up floor) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        ok = "met" if r["ratio"] >= TARGET else "missed"
        rows.append(f"| {name} | {r['skip']:.2f} s | {r['refresh']:.2f} s | {r['ratio']:.1f}x | "
                    f">= {TARGET:.0f}x | {ok} | {r['digest_ms']:.1f} ms | {r['status']:.2f} s |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    runs = max(3, ap.parse_args().runs)
    mirror.build(MIRROR)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-skip-") as tmp:
        root = Path(tmp)
        info = emulator.start(root / "emu")
        try:
            projects = {
                "example, no health checks": write_project(root / "bare", info.url, MIRROR, health=""),
                "example with its checks and smoke suite": write_project(root / "checked", info.url, MIRROR,
                                                                         smoke=True),
                "team repository (tests/teamrepo)": team_project(root / "team", info.url),
            }
            for n, (name, cfg) in enumerate(projects.items()):   # one emulator: a branch each
                results[name] = measure(cfg, f"bench/skip-{n}", runs)
                print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
        finally:
            emulator.stop(root / "emu")
    text = table(results, runs)
    print(text)
    write_section("bench_skip", "## Unchanged inputs skip Terraform (bench/bench_skip.py)\n\n"
                  f"`.venv/bin/python bench/bench_skip.py --runs {runs}`: wall time of the whole CLI process "
                  "(start-up, guard, render, lease, registry, audit; the checks and smoke tests where "
                  "configured, which both paths run), the two spinups interleaved round by round, moto warm "
                  "on loopback. The machine is shared (2 cores, other engineers' test runs), so absolute "
                  "figures move between runs; the ratio is side by side in one run.\n\n"
                  f"{text}\n\n```json\n{json.dumps(results, indent=2)}\n```")


if __name__ == "__main__":
    main()
