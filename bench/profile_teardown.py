"""Where a teardown's time goes: wall seconds per phase, for the tool's overhead over raw destroy.

    .venv/bin/python bench/profile_teardown.py [--runs 3]

Starts its own moto server, spins the example stack up with the CLI, then runs each teardown in
a fresh process (``--child``: the same code path as ``provisioner teardown``, with a wall-clock
timer wrapped around each phase function) and prints the median per phase. Phases nest ("sweep +
verify" holds its scans); "process start to main" is interpreter start-up plus the CLI's imports.
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
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from projects import write_project  # noqa: E402

from provisioner.aws import emulator  # noqa: E402
from provisioner.terraform import mirror  # noqa: E402

MIRROR = REPO / ".provisioner" / "provider-mirror"
SPENT: dict[str, float] = defaultdict(float)


def timer(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - t
    return wrapped


def instrument() -> None:
    """Wrap the phase functions where the teardown looks them up (module attributes)."""
    from provisioner.cli import context
    from provisioner.state import audit, backend, leases, registry
    from provisioner.sweep import account, plan
    from provisioner.terraform import engines, workspace
    from provisioner.usecases import notify, operation, runtime, stacks, teardown

    patches: list[tuple[Any, str, str]] = [
        (runtime, "open_runtime", "open runtime (emulator check, bootstrap stamp)"),
        (context, "open_runtime", "open runtime (emulator check, bootstrap stamp)"),
        (teardown, "check_providers", "check provider credentials"),
        (runtime.Runtime, "secret_values", "read secrets"),
        (registry.Registry, "get", "registry get"),
        (registry.Registry, "put", "registry put"),
        (backend, "state_exists", "state exists (head)"),
        (leases.Leases, "acquire", "lease acquire"),
        (leases.Leases, "release", "lease release"),
        (audit.AuditLog, "append", "audit append"),
        (teardown, "_inputs_for_teardown", "read stored inputs"),
        (teardown, "prepare_workspace", "prepare workspace (copy tree, write files)"),
        (teardown, "init", "terraform init (or skip)"),
        (engines.EmbeddedEngine if hasattr(engines, "EmbeddedEngine") else engines, "destroy",
         "terraform destroy"),
        (teardown, "_sweep_leftovers", "sweep + verify (total)"),
        (plan, "plan_sweep", "  sweep: find tagged"),
        (account, "find_tagged", "  verify: find tagged"),
        (teardown, "drop_stack_data", "drop stack data"),
        (backend, "delete_state", "delete state"),
        (workspace, "remove", "remove local stack dir"),
        (notify, "after_teardown", "after teardown (PR notices)"),
        (operation, "rescued_state", "rescued state (context)"),
    ]
    for target, attr, name in patches:
        if hasattr(target, attr):
            setattr(target, attr, timer(name, getattr(target, attr)))
    _ = stacks


def run_cli(cfg: Path, *args: str) -> float:
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "provisioner", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def child(branch: str) -> None:
    """One teardown in this (fresh) process; prints the phases as JSON on the last line."""
    from provisioner.cli.app import cli

    instrument()
    SPENT["process start to main"] = time.time() - float(os.environ["PROFILE_STARTED"])
    t = time.perf_counter()
    cli.main(["teardown", "--branch", branch], standalone_mode=False)
    SPENT["teardown command (main to exit)"] = time.perf_counter() - t
    print(json.dumps(SPENT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child)
    mirror.build(MIRROR)
    per_run: list[dict[str, float]] = []
    totals: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-prof-") as tmp:
        info = emulator.start(Path(tmp) / "emu")
        try:
            cfg = write_project(Path(tmp) / "p", info.url, MIRROR)
            run_cli(cfg, "bootstrap")
            os.environ["PROVISIONER_CONFIG"] = str(cfg)
            for i in range(args.runs + 1):
                branch = f"prof/{i}"
                run_cli(cfg, "spinup", "--branch", branch)
                t = time.perf_counter()
                proc = subprocess.run([sys.executable, __file__, "--child", branch], check=True,
                                      capture_output=True, text=True,
                                      env={**os.environ, "PROFILE_STARTED": repr(time.time())})
                took = time.perf_counter() - t
                if i:  # the first is a warm-up (moto loads its backends)
                    per_run.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                    totals.append(took)
        finally:
            emulator.stop(Path(tmp) / "emu")
    names = list(dict.fromkeys(k for r in per_run for k in r))
    print(f"| phase (median of {args.runs}) | seconds |\n|---|---|")
    for name in names:
        print(f"| {name} | {statistics.median(r.get(name, 0.0) for r in per_run):.3f} |")
    print(f"| whole process (wall, seen from outside) | {statistics.median(totals):.3f} |")


if __name__ == "__main__":
    main()
