"""A pytest plugin that writes each test's CPU time (its worker, the processes it ran, the worker's
emulator), to find where `make test` spends its two cores:

    PYTHONPATH=bench .venv/bin/python -m pytest -p testcpu -n 6 --dist loadscope \
        tests/integration tests/hostile tests/unit
    .venv/bin/python bench/testcpu.py            # the table, by file and by test

CPU of a test = the worker's own (user + system) + what its waited-for children used (the CLI
runs, and the Terraform and provider processes under them) + the growth of every descendant still
alive (the worker's moto server, a PostgreSQL). Wall time under xdist is inflated by the other
workers; CPU is not (much), so it says which tests to make cheaper. Rows go to
``.provisioner/testcpu/<worker>.jsonl``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / ".provisioner" / "testcpu"
TICK = os.sysconf("SC_CLK_TCK")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")   # rows come from the workers (run it with -n)


def _descendants() -> dict[int, float]:
    """CPU seconds so far of every live descendant of this process, by pid."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / TICK
    me, found = os.getpid(), {}
    for pid in cpu:
        p = pid
        while p > 1 and p in parents:
            p = parents[p]
            if p == me:
                found[pid] = cpu[pid]
                break
    return found


def _own() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


_before: dict[str, tuple[float, dict[int, float]]] = {}


def pytest_runtest_logstart(nodeid, location):
    if not WORKER:   # the xdist controller: its descendants are every worker's
        return
    _before[nodeid] = (_own(), _descendants())


def pytest_runtest_logfinish(nodeid, location):
    if not WORKER:
        return
    own0, alive0 = _before.pop(nodeid, (0.0, {}))
    alive1 = _descendants()
    grown = sum(t - alive0.get(pid, 0.0) for pid, t in alive1.items())
    # a descendant that ended during the test (a module's emulator stopped in its teardown) came back
    # whole in RUSAGE_CHILDREN: what it had used before the test was counted by earlier tests
    grown -= sum(t for pid, t in alive0.items() if pid not in alive1)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f"{WORKER}.jsonl", "a") as fh:
        fh.write(json.dumps({"test": nodeid, "cpu": round(_own() - own0 + grown, 3)}) + "\n")


def main() -> None:
    rows = [json.loads(line) for f in sorted(OUT.glob("*.jsonl")) for line in f.read_text().splitlines()]
    by_file: Counter[str] = Counter()
    for r in rows:
        by_file[r["test"].split("::")[0]] += r["cpu"]
    total = sum(by_file.values())
    print(f"{len(rows)} tests, {total:.0f} CPU-s ({total / 2 / 60:.1f} min on 2 cores)\n")
    by_tier: Counter[str] = Counter()
    for f, t in by_file.items():
        by_tier[f.split("/")[1]] += t
    for tier, t in by_tier.most_common():
        print(f"{t:8.1f}  tests/{tier} ({t / total:.0%})")
    print()
    for f, t in by_file.most_common(int(sys.argv[1]) if len(sys.argv) > 1 else 30):
        print(f"{t:8.1f}  {f}")
    print()
    for r in sorted(rows, key=lambda r: -r["cpu"])[:40]:
        print(f"{r['cpu']:8.1f}  {r['test']}")


if __name__ == "__main__":
    main()
