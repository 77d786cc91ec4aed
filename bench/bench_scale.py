"""Start-up and scale: `list --json` and `--help` from cold processes, the nightly cleanup plan over
10,000 registry records (its registry read and its planning logic apart), `list` and the board over
1,000 records.

Run with `.venv/bin/python bench/bench_scale.py [--runs 7] [--records 10000] [--listed 1000]`.
Starts its own moto server on loopback, writes throwaway projects under a temp dir, prints a
markdown table and writes its section of BENCHMARKS.md (bench/report.py). Start-up figures are the
median of N runs of each command, interleaved (pass, help, list, pass, help, list, ...), so a burst
of load on the machine hits all three alike; `python -c pass` is the floor every process pays.

Records are fabricated (``fabricate``): the shape of real ones (outputs of the example stack, health
checks, test results, dataset versions, PRs), statuses mixed as a registry's history has them, and
written with BatchWriteItem in the registry's own item layout (``state.registry``), which is what
the tool's own puts write.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from projects import write_project  # noqa: E402
from report import write_section  # noqa: E402

from provisioner import config  # noqa: E402
from provisioner.aws import emulator  # noqa: E402
from provisioner.domain.naming import stack_id  # noqa: E402
from provisioner.domain.record import Record  # noqa: E402
from provisioner.state.backend import ensure_table  # noqa: E402
from provisioner.state.registry import Registry, _to_item  # noqa: E402
from provisioner.usecases import cleanup, runtime  # noqa: E402

MIRROR = REPO / ".provisioner" / "provider-mirror"
CLI = [sys.executable, "-m", "provisioner"]
DAY = 86400.0


def fabricate(n: int, *, live_share: float, seed: int = 20261201) -> list[Record]:
    """``n`` records; ``live_share`` of them live (ready mostly, a few failed/unhealthy/creating)."""
    rng, now = random.Random(seed), time.time()
    out = []
    for i in range(n):
        branch = f"feature/{rng.choice(['login', 'billing', 'search', 'api', 'ui'])}-{i}"
        created = now - rng.uniform(0, 30 * DAY)
        live = rng.random() < live_share
        status = (
            rng.choices(["ready", "unhealthy", "failed", "creating"], [85, 6, 6, 3])[0]
            if live
            else "destroyed"
        )
        slug = stack_id(branch).slug
        out.append(
            Record(
                slug=slug,
                branch=branch,
                pr=rng.randint(1, 5000) if rng.random() < 0.7 else None,
                owner=rng.choice(["alice", "bob", "carol", "dependabot[bot]"]),
                created_at=created,
                last_applied_at=created + 60,
                expires_at=created + DAY,
                fixed_expires_at=created + 2 * DAY,
                active_at=created + rng.uniform(0, DAY),
                status=status,
                digest=f"{i:064x}",
                error="Error: creating SQS queue: throttled" if status == "failed" else "",
                changes={"add": 33, "change": 0, "remove": 0},
                keep=rng.random() < 0.02,
                updated_at=created + 120,
                version=1,
                outputs={
                    k: f"{k}-{slug}"
                    for k in (
                        "environment_url",
                        "queue_url",
                        "table_name",
                        "bucket_name",
                        "vpc_id",
                        "log_group",
                        "alarm_names",
                        "role_arn",
                    )
                },
                health={
                    "status": "passing",
                    "checks": [
                        {"name": c, "ok": True, "detail": "ok", "attempts": 1}
                        for c in ("queue", "table", "bucket", "alarms")
                    ],
                },
                tests={"ok": True, "exit_code": 0, "duration": 3.2, "output_tail": "4 passed in 3.1s"},
                variable_digests={f"var_{k}": f"{k:016x}" for k in range(12)},
                open_prs=[],
                commit=f"{i:040x}",
            )
        )
    return out


def write_records(registry: Registry, records: list[Record]) -> None:
    ddb = registry._ddb
    for start in range(0, len(records), 25):
        batch = [{"PutRequest": {"Item": _to_item(r)}} for r in records[start : start + 25]]
        while batch:
            left = ddb.batch_write_item(RequestItems={registry.table: batch}).get("UnprocessedItems", {})
            batch = left.get(registry.table, [])


def median_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_costs(runs: int, fn: Callable[[], Any], emulator_pid: int) -> tuple[dict[str, float], Any]:
    """Median wall, this process's CPU (botocore parsing, our decoding) and the emulator's CPU."""
    wall, mine, theirs, result = [], [], [], None
    for _ in range(runs):
        t, c, e = time.perf_counter(), time.process_time(), _proc_cpu(emulator_pid)
        result = fn()
        wall.append(time.perf_counter() - t)
        mine.append(time.process_time() - c)
        theirs.append(_proc_cpu(emulator_pid) - e)
    med = statistics.median
    return {"wall": med(wall), "client_cpu": med(mine), "emulator_cpu": med(theirs)}, result


def _cli(cfg: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the process and its children) of one CLI run."""
    before = os.times()
    t = time.perf_counter()
    proc = subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    )
    wall = time.perf_counter() - t
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return wall, after.children_user + after.children_system - before.children_user - before.children_system


def startup(cfg: Path, runs: int) -> dict[str, dict[str, float]]:
    commands = {
        "pass": [sys.executable, "-c", "pass"],
        "help": [*CLI, "--help"],
        "list": [*CLI, "list", "--json"],
    }
    got: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            got[name].append(_cli(cfg, *argv))
    return {
        k: {
            "wall": statistics.median(w for w, _ in v),
            "cpu": statistics.median(c for _, c in v),
            "min": min(w for w, _ in v),
        }
        for k, v in got.items()
    }


def planning(root: Path, url: str, n: int, runs: int, emulator_pid: int) -> dict[str, Any]:
    """The plan over ``n`` records: the registry read (index query; whole-table scan) and the logic."""
    cfg = write_project(root / "plan", url, MIRROR)
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)  # bootstraps: the index
    out: dict[str, Any] = {}
    for label, share in (("all_live", 1.0), ("history", 0.2)):
        reg = Registry(rt.aws, f"{rt.settings.registry.table}-{label}")
        from provisioner.state.registry import LIVE_ATTRIBUTE, LIVE_INDEX

        ensure_table(reg._ddb, reg.table, "slug", index=LIVE_INDEX, index_attribute=LIVE_ATTRIBUTE)
        records = fabricate(n, live_share=share)
        write_records(reg, records)
        query_s, live = read_costs(runs, lambda reg=reg: reg.live(without=("outputs",)), emulator_pid)
        scan_s, scanned = read_costs(runs, lambda reg=reg: reg.all(without=("outputs",)), emulator_pid)
        assert sorted(r.slug for r in live) == sorted(r.slug for r in scanned if r.live)
        out[label] = {"records": n, "live": len(live), "query": query_s, "scan": scan_s}
    # the logic, on the worst case: every one of the n records live
    live = Registry(rt.aws, f"{rt.settings.registry.table}-all_live").live(without=("outputs",))
    rng = random.Random(7)
    states = {r.slug for r in live if r.status != "creating" and rng.random() < 0.97} | {
        f"orphan{i}-0000000" for i in range(50)
    }
    prs = {r.pr: rng.choice(["open", "open", "open", "closed", "merged"]) for r in live if r.pr}
    logic_s, plan = median_of(
        runs,
        lambda: cleanup.plan_cleanup(
            rt, records=list(live), state_slugs=states, pr_state=prs.__getitem__, current_digest="f" * 64
        ),
    )
    reasons: dict[str, int] = {}
    for item in plan.items:
        key = (
            "PR closed/merged"
            if item.reason.startswith("PR #")
            else "failed long ago"
            if item.reason.startswith("failed ")
            else item.reason.split(":")[0]
        )
        reasons[key] = reasons.get(key, 0) + 1
    out["logic"] = {"records": len(live), "seconds": logic_s, "items": len(plan.items), "reasons": reasons}
    return out


def listing(root: Path, url: str, n: int, runs: int) -> dict[str, float]:
    cfg = write_project(root / "listed", url, MIRROR)
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    write_records(rt.registry, fabricate(n, live_share=1.0, seed=11))
    export = root / "board.html"
    commands = {
        "list": [*CLI, "list"],
        "list_json": [*CLI, "list", "--json"],
        "board_json": [*CLI, "board", "--json"],
        "board_export": [*CLI, "board", "--export", str(export)],
    }
    got: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            got[name].append(_cli(cfg, *argv)[0])
    rows = json.loads(
        subprocess.run(
            [*CLI, "list", "--json"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PROVISIONER_CONFIG": str(cfg)},
        ).stdout
    )
    assert len(rows["environments"]) == n, len(rows["environments"])
    return {k: statistics.median(v) for k, v in got.items()}


def table(r: dict[str, Any], runs: int) -> str:
    s, p, lst = r["startup"], r["planning"], r["listing"]
    rows = [
        (
            "`provisioner --help` (`python -c pass`)",
            f"{s['help']['wall']:.3f} s, CPU {s['help']['cpu']:.3f} s ({s['pass']['wall']:.3f} s)",
            "< 0.1 s",
            f"{s['help']['wall']:.3f} s",
        ),
        (
            "`provisioner list --json`, empty registry",
            f"{s['list']['wall']:.3f} s, CPU {s['list']['cpu']:.3f} s",
            "< 0.35 s",
            f"{s['list']['wall']:.3f} s",
        ),
    ]
    for label, what in (("all_live", "all live"), ("history", "20% live, 80% destroyed")):
        q, sc = p[label]["query"], p[label]["scan"]
        rows.append(
            (
                f"cleanup plan, registry read: {p[label]['records']:,} records ({what}), index query vs "
                "whole-table scan: wall (tool CPU; emulator CPU)",
                f"{q['wall']:.3f} s ({q['client_cpu']:.3f} s; {q['emulator_cpu']:.2f} s) vs "
                f"{sc['wall']:.3f} s ({sc['client_cpu']:.3f} s; {sc['emulator_cpu']:.2f} s), "
                f"{p[label]['live']:,} live",
                "< 1 s (with the logic)",
                f"{q['wall']:.3f} s",
            )
        )
    lg = p["logic"]
    rows.append(
        (
            f"cleanup plan, planning logic: {lg['records']:,} live records",
            f"{lg['seconds']:.3f} s ({lg['items']:,} items planned)",
            "< 1 s (with the read)",
            f"{lg['seconds']:.3f} s",
        )
    )
    total = p["all_live"]["query"]["wall"] + lg["seconds"]
    tool = p["all_live"]["query"]["client_cpu"] + lg["seconds"]
    rows.append(
        (
            f"cleanup plan over {lg['records']:,} live records, read + logic (the tool's own share: read CPU "
            "+ logic)",
            f"{total:.3f} s ({tool:.3f} s)",
            "< 1 s",
            f"{total:.3f} s ({tool:.3f} s)",
        )
    )
    for key, what in (
        ("list", "`list`"),
        ("list_json", "`list --json`"),
        ("board_json", "`board --json`"),
        ("board_export", "`board --export FILE`"),
    ):
        rows.append(
            (
                f"{what} over {r['listed']:,} live records (whole command)",
                f"{lst[key]:.3f} s",
                "report",
                f"{lst[key]:.3f} s",
            )
        )
    head = [f"| figure | measured (median of {runs}) | target | result |", "|---|---|---|---|"]
    return "\n".join(head + [f"| {a} | {b} | {t} | {x} |" for a, b, t, x in rows])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--listed", type=int, default=1_000)
    ap.add_argument("--list-runs", type=int, default=3)
    ap.add_argument("--conditions", default="", help="a note on the machine's load, printed with the table")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        info = emulator.start(root / "emu")
        try:
            empty = write_project(root / "empty", info.url, MIRROR)
            _cli(empty, *CLI, "bootstrap")
            results = {
                "startup": startup(empty, args.runs),
                "listed": args.listed,
                "planning": planning(root, info.url, args.records, max(3, args.runs // 2), info.pid),
                "listing": listing(root, info.url, args.listed, args.list_runs),
            }
        finally:
            emulator.stop(root / "emu")
    text = table(results, args.runs)
    print(text)
    flags = " ".join(
        f"--runs {args.runs} --records {args.records} --listed {args.listed} "
        f"--list-runs {args.list_runs}".split()
    )
    write_section(
        "bench_scale",
        f"## Start-up and scale (bench/bench_scale.py{' ' + flags if flags else ''})\n\n"
        f"{args.conditions}\n\nStart-up: median of {args.runs}, interleaved; the registry reads "
        f"and the logic: median of {max(3, args.runs // 2)}; list and board: median of "
        f"{args.list_runs}.\n\n{text}\n\n```json\n{json.dumps(results, indent=2, default=str)}\n```",
    )


if __name__ == "__main__":
    main()
