"""action.yml run as GitHub would run it, step by step, on a clean checkout of this repository.

Every `run:` step runs in order with `bash --noprofile --norc -eo pipefail`, its `env:` evaluated
from the inputs and the outputs of the steps before it, with GITHUB_OUTPUT (one file per step),
GITHUB_ENV, GITHUB_PATH, GITHUB_ACTION_PATH, RUNNER_TEMP set to temporary files and folders. Steps
that use other actions (setup-python, cache, configure-aws-credentials) are not run: the runner
gives setup-python's outputs from this machine's Python and cache's `cache-hit` from the test.
The install is real: a fresh venv, the tool and its dependencies from the package index, ~15 s.
Only commands that need no AWS run here (render, diff): they work offline.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from checkout import clean_checkout
from gha import _TEMPLATE, condition, load, substitute

REPO = Path(__file__).resolve().parents[2]
ACTION = load(REPO / "action.yml")
STEP_NAMES = [s.get("name", s.get("id")) for s in ACTION["runs"]["steps"]]
INSTALL, RUN = "Install staging-provisioner from the action's checkout", "Run provisioner"
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"


@dataclass
class Run:
    outputs: dict[str, str]
    ran: list[str] = field(default_factory=list)        # run: steps that ran
    skipped: list[str] = field(default_factory=list)    # steps whose if: was false
    failed: str | None = None                           # the step that failed
    steps: dict[str, dict[str, str]] = field(default_factory=dict)   # outputs of each step that ran
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


def _read_file_commands(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV syntax: `name=value` lines and `name<<DELIM` ... `DELIM` blocks."""
    values, lines = {}, path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            values[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        assert name, f"bad line in {path.name}: {line!r}"
        values[name] = value
        i += 1
    return values


def _clean_env() -> dict[str, str]:
    """This process's environment without what would leak into the run (our PYTHONPATH, a venv)."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    return {k: v for k, v in os.environ.items()
            if k not in drop and not k.startswith(("GITHUB_", "PROVISIONER_", "RUNNER_", "INPUT_"))}


def run_action(inputs: dict[str, str], *, action_path: Path, workspace: Path, temp: Path,
               cache_hit: bool = False, python: Path = BASE_PYTHON) -> Run:
    declared = ACTION["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    github = {"action_path": str(action_path), "action_ref": "", "token": "", "workspace": str(workspace)}
    ctx: dict[str, Any] = {"github": github, "runner": {"temp": str(temp), "os": "Linux", "arch": "X64"},
                           "steps": {}, "env": {}, "inputs": {}}
    for name, spec in declared.items():
        if name in inputs:
            ctx["inputs"][name] = inputs[name]
        else:
            assert not spec.get("required") or name in inputs, f"required input {name} missing"
            ctx["inputs"][name] = substitute(str(spec.get("default", "")), ctx)
    files = temp / "files"
    files.mkdir(parents=True, exist_ok=True)
    github_env, github_path = files / "env", files / "path"
    github_env.touch()
    github_path.touch()
    result = Run(outputs={})
    status = "success"
    for i, step in enumerate(ACTION["runs"]["steps"]):
        name = step.get("name", step.get("id", str(i)))
        if not condition(step.get("if"), ctx, status):
            result.skipped.append(name)
            continue
        outputs: dict[str, str] = {}
        if "uses" in step:
            outputs = _fake_uses(step["uses"], cache_hit, python)
        else:
            proc = _run_step(step, i, ctx, action_path=action_path, workspace=workspace, temp=temp,
                             files=files, github_env=github_env, github_path=github_path)
            result.ran.append(name)
            result.stdout += proc.stdout
            result.stderr += proc.stderr
            outputs = _read_file_commands(files / f"output-{i}")
            if proc.returncode != 0:
                result.failed, result.returncode, status = name, proc.returncode, "failure"
        result.steps[name] = outputs
        if "id" in step:
            ctx["steps"][step["id"]] = {"outputs": outputs, "outcome": status}
        if status == "failure":
            break
    result.outputs = {k: substitute(v["value"], ctx) for k, v in ACTION["outputs"].items()}
    return result


def _fake_uses(uses: str, cache_hit: bool, python: Path) -> dict[str, str]:
    action = uses.split("@", 1)[0]
    if action == "actions/setup-python":
        return {"python-path": str(python), "python-version": platform.python_version()}
    if action == "actions/cache":
        return {"cache-hit": "true" if cache_hit else "false"}
    raise AssertionError(f"the test cannot stand in for {uses} (no AWS here)")


def _run_step(step: dict[str, Any], i: int, ctx: dict[str, Any], *, action_path: Path, workspace: Path,
              temp: Path, files: Path, github_env: Path,
              github_path: Path) -> subprocess.CompletedProcess[str]:
    assert step.get("shell") == "bash", f"step {i}: a composite run: step must name its shell"
    script = files / f"step-{i}.sh"
    script.write_text(substitute(step["run"], ctx), encoding="utf-8")   # as GitHub does, before bash
    (files / f"output-{i}").touch()
    env = {**_clean_env(), **_read_file_commands(github_env),
           "GITHUB_ACTIONS": "true", "GITHUB_ACTION_PATH": str(action_path),
           "GITHUB_WORKSPACE": str(workspace), "GITHUB_OUTPUT": str(files / f"output-{i}"),
           "GITHUB_ENV": str(github_env), "GITHUB_PATH": str(github_path), "RUNNER_TEMP": str(temp),
           "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
           # stand-ins for what a job with id-token: write has
           "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "not-a-real-token",
           "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/"}
    extra_path = [p for p in github_path.read_text().splitlines() if p]
    if extra_path:
        env["PATH"] = os.pathsep.join([*reversed(extra_path), env["PATH"]])
    for key, value in (step.get("env") or {}).items():
        env[key] = substitute(str(value), ctx)
    cwd = workspace / substitute(str(step.get("working-directory", ".")), ctx)
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return clean_checkout(tmp_path_factory.mktemp("action") / "staging-provisioner")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, checkout) -> Path:
    """A team's repository: staging.toml and the Terraform it names, and no tool source."""
    ws = tmp_path_factory.mktemp("workspace")
    shutil.copy2(checkout / "staging.toml", ws / "staging.toml")
    shutil.copytree(checkout / "modules", ws / "modules")
    return ws


@pytest.fixture(scope="module")
def temp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture(scope="module")
def python_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("python") / "calls.log"


@pytest.fixture(scope="module")
def first_run(checkout, workspace, temp, python_log) -> Run:
    """The first run: no cache, so the action installs the tool. The other tests reuse that venv.
    setup-python's interpreter is a wrapper that logs, per call, whether it saw the OIDC token."""
    wrapper = python_log.parent / "python3"
    wrapper.write_text(f"""#!/usr/bin/env bash
echo "token=${{ACTIONS_ID_TOKEN_REQUEST_TOKEN-unset}} url=${{ACTIONS_ID_TOKEN_REQUEST_URL-unset}} $*" \\
  >> {python_log}
exec {BASE_PYTHON} "$@"
""")
    wrapper.chmod(0o755)
    return run_action({"command": "render", "branch": "feature/Login_page"},
                      action_path=checkout, workspace=workspace, temp=temp, python=wrapper)


def _again(checkout: Path, workspace: Path, temp: Path, **inputs: str) -> Run:
    return run_action(inputs, action_path=checkout, workspace=workspace, temp=temp, cache_hit=True)


# --- tests ---------------------------------------------------------------------------------------

def test_first_run_installs_the_tool_from_the_checkout_and_renders(first_run, checkout, temp):
    assert first_run.failed is None, first_run.stdout + first_run.stderr
    assert first_run.ran == ["Check inputs", INSTALL, RUN]
    assert first_run.skipped == ["Assume the AWS role"]
    out = first_run.outputs
    assert out["stack-id"] == "login-page-9249239"
    assert out["status"] == "rendered" and out["exit-code"] == "0" and out["environment-url"] == ""
    doc = json.loads(out["result"])
    assert doc["stack"] == "login-page-9249239" and doc["branch"] == "feature/Login_page"
    assert doc["variables"]["environment"] == "staging"
    assert json.loads(Path(out["result-file"]).read_text()) == doc
    (venv,) = (temp / "staging-provisioner").glob("venv-py*")
    # installed, not linked to the checkout: the package lives in the venv
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert (site / "provisioner" / "__init__.py").exists()
    assert not list(site.glob("__editable__*")) and not list(site.glob("*.egg-link"))


def test_the_install_never_sees_the_oidc_request_token(first_run, python_log):
    calls = python_log.read_text().splitlines()
    installs = [c for c in calls if " -m venv " in c]
    assert installs and all(c.startswith("token=unset url=unset ") for c in installs), calls
    # the stand-in token was there for the step before: the install step itself removed it
    assert any(c.startswith("token=not-a-real-token ") for c in calls), calls


def test_a_cache_hit_skips_the_install(first_run, checkout, workspace, temp):
    run = _again(checkout, workspace, temp, command="diff", branch="demo")
    assert run.failed is None, run.stdout + run.stderr
    assert INSTALL in run.skipped and run.ran == ["Check inputs", RUN]
    assert run.outputs["stack-id"] == "demo-2a97516" and run.outputs["status"] == "rendered"
    differences = json.loads(run.outputs["result"])["differences"]
    assert differences and all(d["reason"] for d in differences)
    assert {"environment", "az_count"} <= {d["variable"] for d in differences}


def test_the_cache_key_names_the_python_and_the_source(first_run, checkout, workspace, temp):
    run = _again(checkout, workspace, temp, command="render", branch="demo")
    key = run.steps["Check inputs"]["key"]
    assert key.startswith(f"staging-provisioner-venv-Linux-X64-py{platform.python_version()}-local-")
    venv = temp / "staging-provisioner" / f"venv-py{platform.python_version()}"
    assert run.steps["Check inputs"]["venv"] == str(venv)
    edited = clean_checkout(temp.parent / "edited-checkout")
    (edited / "pyproject.toml").write_text((edited / "pyproject.toml").read_text() + "\n# changed\n")
    # a cache "hit" on an empty folder: the key differs, and a broken cache entry is named as such
    other = run_action({"command": "render"}, action_path=edited, workspace=workspace,
                       temp=temp.parent / "edited-temp", cache_hit=True)
    assert other.steps["Check inputs"]["key"] != key
    assert other.failed == RUN and "the tool is not installed in" in other.stdout


def test_args_are_split_into_words(first_run, checkout, workspace, temp):
    run = _again(checkout, workspace, temp, command="render", args="--branch\n  feature/Login_page ")
    assert run.failed is None, run.stderr
    assert run.outputs["stack-id"] == "login-page-9249239"


def test_json_false_passes_stdout_through(first_run, checkout, workspace, temp):
    run = _again(checkout, workspace, temp, command="render", branch="demo", json="false")
    assert run.failed is None, run.stderr
    tfvars = json.loads(run.outputs["result"])
    assert "stack" not in tfvars and tfvars["environment"] == "staging"   # plain render output
    assert run.outputs["stack-id"] == "" and run.outputs["status"] == "ok"


HOSTILE = '$(touch PWNED-1)`touch PWNED-2`"; touch PWNED-3 #'


def _no_pwned(*dirs: Path) -> None:
    found = [p for d in dirs for p in d.rglob("PWNED*")]
    assert not found, f"an input was executed as shell: {found}"


def test_a_hostile_branch_is_data(first_run, checkout, workspace, temp):
    run = _again(checkout, workspace, temp, command="render", branch=HOSTILE)
    assert run.failed is None, run.stderr
    assert run.outputs["stack-id"] == json.loads(run.outputs["result"])["stack"]
    assert set(run.outputs["stack-id"]) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    _no_pwned(workspace, temp, checkout)


def test_hostile_args_are_words_for_the_tool_not_shell(first_run, checkout, workspace, temp):
    run = _again(checkout, workspace, temp, command="render", args=HOSTILE)
    assert run.failed == RUN and run.returncode == 2
    assert "unexpected extra argument" in run.stderr.lower(), run.stderr
    assert run.outputs["exit-code"] == "2" and run.outputs["status"] == "error"
    _no_pwned(workspace, temp, checkout)


@pytest.mark.parametrize("inputs,message", [
    ({"command": "mirror"}, "input command 'mirror' is not a provisioner command this action runs"),
    ({"command": f"render; {HOSTILE}"}, f"input command 'render; {HOSTILE}' is not a provisioner command"),
    ({"command": "x\n::add-mask::%"}, "input command 'x%0A::add-mask::%25' is not a provisioner command"),
    ({"command": ""}, "input command '' is not a provisioner command"),
    ({"command": "pr-event", "branch": "main"}, "input branch is not used by 'pr-event'"),
    ({"command": "cleanup", "branch": "main"}, "input branch is not used by 'cleanup'"),
    ({"command": "render", "json": "yes"}, "input json must be 'true' or 'false', not 'yes'"),
])
def test_bad_inputs_fail_the_first_step_with_a_clear_message(inputs, message, checkout, workspace, tmp_path):
    run = run_action(inputs, action_path=checkout, workspace=workspace, temp=tmp_path)
    assert run.failed == "Check inputs" and run.returncode == 2
    assert f"::error title=staging-provisioner::{message}" in run.stdout, run.stdout
    assert len([line for line in run.stdout.splitlines() if line.startswith("::")]) == 1, run.stdout
    assert run.ran == ["Check inputs"], "nothing may be installed or run after a bad input"
    _no_pwned(workspace, tmp_path, checkout)


def test_a_failing_command_fails_the_step_and_still_sets_its_outputs(first_run, checkout, workspace, temp):
    run = _again(checkout, workspace, temp, command="render", config="no-such.toml")
    assert run.failed == RUN and run.returncode == 2
    assert "no-such.toml" in run.stderr
    assert run.outputs["exit-code"] == "2" and run.outputs["status"] == "error"
    assert run.outputs["stack-id"] == ""


def test_every_expression_in_the_action_names_a_declared_input_or_an_earlier_step():
    seen_ids: list[str] = []
    declared = set(ACTION["inputs"])
    for step in ACTION["runs"]["steps"]:
        text = json.dumps({k: v for k, v in step.items() if k != "run"})
        for expr in _TEMPLATE.findall(text):
            for ref in re.findall(r"\b(inputs|steps)\.([A-Za-z0-9_-]+)", expr):
                if ref[0] == "inputs":
                    assert ref[1] in declared, expr
                else:
                    assert ref[1] in seen_ids, f"{expr}: step {ref[1]} does not run before"
        if "id" in step:
            seen_ids.append(step["id"])
    for name, spec in ACTION["outputs"].items():
        (expr,) = _TEMPLATE.findall(spec["value"])
        assert expr.strip() == f"steps.run.outputs.{name}", name
