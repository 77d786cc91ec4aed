"""GitHub beyond one PR: two PRs sharing a head branch's stack, draft conversion, the nightly cleanup
telling GitHub (comment, deployments, environment), workflow_dispatch refusals, the cleanup matrix,
and matrix teardowns as separate processes with separate state directories.

Real Terraform against the emulator; GitHub is tests/github_fake.py over HTTP on loopback."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import run_cli, write_project
from github_fake import FakeGitHub

from provisioner import config
from provisioner.domain.naming import stack_id
from provisioner.github.comment import marker
from provisioner.usecases import runtime

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"
REPO = "acme/shop"
BRANCH = "feature/checkout-page"          # the head branch of the PR fixtures (#7 into main, #8 into 1.x)
SLUG = stack_id(BRANCH).slug


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def on_branch(payload: dict, branch: str, number: int) -> dict:
    data = copy.deepcopy(payload)
    data["number"] = data["pull_request"]["number"] = number
    data["pull_request"]["head"]["ref"] = branch
    data["pull_request"]["head"]["label"] = f"acme:{branch}"
    return data


@pytest.fixture
def gh():
    with FakeGitHub(token="ghs_fake") as fake:
        for n in (7, 8, 21, 31):
            fake.add_pull(REPO, n)
        yield fake


def github_env(gh, event_name: str = "", event_path: str = "") -> dict:
    return {"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": event_path, "GITHUB_API_URL": gh.url,
            "GITHUB_TOKEN": gh.token, "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": "4242", "GITHUB_ACTIONS": ""}


def pr_event(cfg, gh, tmp_path, payload: dict, name: str = "pull_request", check: bool = True):
    event = tmp_path / f"event-{len(list(tmp_path.glob('event-*')))}.json"
    event.write_text(json.dumps(payload))
    return run_cli(cfg, "pr-event", env=github_env(gh, name, str(event)), check=check)


def record(cfg, branch: str) -> dict | None:
    return json.loads(run_cli(cfg, "status", "--branch", branch, "--json").stdout)["record"]


def body(gh, pr: int, slug: str = SLUG) -> str:
    """The stack's comment on ``pr`` as a reader sees the text (Markdown escapes dropped)."""
    [c] = [c for c in gh.comments_on(REPO, pr) if c["body"].startswith(marker(slug))]
    return c["body"].replace("\\", "")


def deployments(gh, slug: str) -> list[dict]:
    return [d for d in gh.deployments.values() if d["environment"] == f"staging/{slug}"]


def test_two_prs_share_a_stack_until_the_last_one_closes(tmp_path, gh, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "shared", moto_url, provider_mirror)
    first = pr_event(cfg, gh, tmp_path, load("pull_request.opened"))
    assert f"stack {SLUG}: applied" in first.stdout
    second = pr_event(cfg, gh, tmp_path, load("pull_request.opened.release-base"))
    assert f"stack {SLUG}: no changes" in second.stdout
    assert record(cfg, BRANCH)["open_prs"] == [7, 8]
    assert "shared with pull request #7" in body(gh, 8)
    assert (REPO, f"staging/{SLUG}") in gh.environments

    closed = pr_event(cfg, gh, tmp_path, load("pull_request.closed.release-base"))
    print(closed.stdout)
    assert f"stack {SLUG}: stack kept: still used by #7" in closed.stdout
    rec = record(cfg, BRANCH)
    assert rec["status"] == "ready" and rec["open_prs"] == [7] and rec["pr"] == 7
    assert "Pull request #8 closed (not merged); the stack stays up: #7 still uses it" in body(gh, 8)
    assert "Pull request #8 (same head branch) closed (not merged); this stack stays up" in body(gh, 7)
    assert all(gh.statuses(d["id"])[-1] == "success" for d in deployments(gh, SLUG))

    gh.add_pull(REPO, 7, state="closed", merged=True)
    last = pr_event(cfg, gh, tmp_path, load("pull_request.closed.merged"))
    print(last.stdout)
    assert f"stack {SLUG}: destroyed; 2 deployment(s) marked inactive; environment staging/{SLUG} " \
           "deleted" in last.stdout
    assert record(cfg, BRANCH)["status"] == "destroyed"
    gone = body(gh, 7)
    assert "| Destroyed |" in gone and "Torn down: pull request closed (merged)" in gone
    assert "Last apply" not in gone and "Environment" not in gone
    assert (REPO, f"staging/{SLUG}") not in gh.environments


def test_draft_conversion_tears_down_and_a_push_after_close_applies_nothing(tmp_path, gh, moto_url,
                                                                           provider_mirror):
    cfg = write_project(tmp_path / "draft", moto_url, provider_mirror)
    branch, slug = "feature/draft-me", stack_id("feature/draft-me").slug
    made = pr_event(cfg, gh, tmp_path, on_branch(load("pull_request.opened"), branch, 21))
    assert f"stack {slug}: applied" in made.stdout
    ready = body(gh, 21, slug)
    assert "Next steps" in ready and "Plan applied:" in ready and "| Deployed commit |" in ready
    assert "monthly (730 h): $" in ready and "/h staging vs $" in ready

    kept = on_branch(load("pull_request.converted_to_draft"), branch, 21)
    kept["pull_request"]["labels"].append({"id": 1, "name": "staging:keep", "color": "ededed"})
    stale = pr_event(cfg, gh, tmp_path, kept)
    assert f"stack {slug}: marked stale (draft)" in stale.stdout
    assert record(cfg, branch)["status"] == "ready"
    assert "⚠️ stale" in body(gh, 21, slug) and "converted to a draft" in body(gh, 21, slug)

    drafted = pr_event(cfg, gh, tmp_path, on_branch(load("pull_request.converted_to_draft"), branch, 21))
    assert "teardown: converted to draft" in drafted.stdout and f"stack {slug}: destroyed" in drafted.stdout
    assert record(cfg, branch)["status"] == "destroyed"
    assert "Torn down: converted to draft" in body(gh, 21, slug)
    assert "Mark the pull request ready for review to bring the stack back" in body(gh, 21, slug)
    assert all(gh.statuses(d["id"])[-1] == "inactive" for d in deployments(gh, slug))

    # a push queued just before the PR closed: the API says closed, so nothing is applied
    gh.add_pull(REPO, 21, state="closed")
    late = pr_event(cfg, gh, tmp_path, on_branch(load("pull_request.synchronize"), branch, 21))
    assert "no longer open (checked through the API); nothing applied" in late.stdout
    assert record(cfg, branch)["status"] == "destroyed"


@pytest.mark.parametrize("fixture, named", [
    ("workflow_dispatch.no-action", "'action'"),
    ("workflow_dispatch.no-inputs", "'action'"),
    ("workflow_dispatch.tag", "is a tag"),
])
def test_workflow_dispatch_refusals_create_nothing(tmp_path, gh, moto_url, provider_mirror, fixture, named):
    cfg = write_project(tmp_path / "dispatch", moto_url, provider_mirror)
    proc = pr_event(cfg, gh, tmp_path, load(fixture), name="workflow_dispatch", check=False)
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr and "Traceback" not in proc.stderr
    assert gh.requests == [] and not (tmp_path / "dispatch" / ".provisioner").exists()


def expire(cfg: Path, branch: str) -> None:
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    rec = rt.registry.get(stack_id(branch).slug)
    past = time.time() - 60
    rt.registry.put(replace(rec, fixed_expires_at=past, expires_at=past), expected=rec)


def test_nightly_cleanup_tells_the_pr_and_plans_a_matrix(tmp_path, gh, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "nightly", moto_url, provider_mirror)
    branch, slug = "feature/expire-me", stack_id("feature/expire-me").slug
    gh.add_environment(REPO, f"staging/{slug}", protection_rules=[{"type": "required_reviewers"}])
    pr_event(cfg, gh, tmp_path, on_branch(load("pull_request.opened"), branch, 31))
    env = github_env(gh)

    empty = run_cli(cfg, "cleanup", "--plan-json", env=env)
    assert json.loads(empty.stdout) == {"include": []}

    expire(cfg, branch)
    planned = run_cli(cfg, "cleanup", "--plan-json", env=env)
    print("$ provisioner cleanup --plan-json\n" + planned.stdout)
    assert json.loads(planned.stdout) == {"include": [{"slug": slug, "reason": "expired"}]}
    assert record(cfg, branch)["status"] == "ready"          # planning only

    done = run_cli(cfg, "cleanup", env=env)
    print("$ provisioner cleanup\n" + done.stdout + done.stderr)
    assert f"github   {slug}: PR #31 told; 1 deployment(s) inactive" in done.stderr
    told = body(gh, 31, slug)
    print(told)
    assert "🗑️ destroyed" in told and "The nightly cleanup tore this stack down: expired" in told
    assert "To bring it back, push a commit" in told and "Last apply" not in told
    assert [gh.statuses(d["id"])[-1] for d in deployments(gh, slug)] == ["inactive"]
    assert (REPO, f"staging/{slug}") in gh.environments     # configured by someone else: left alone


def test_matrix_teardowns_run_as_separate_processes_with_separate_state_dirs(tmp_path, gh, moto_url,
                                                                              provider_mirror):
    cfg = write_project(tmp_path / "matrix", moto_url, provider_mirror)
    branches = [f"fleet/m-{i}" for i in range(3)]
    for n, b in enumerate(branches):
        run_cli(cfg, "spinup", "--branch", b, *(("--pr", "41") if n == 0 else ()))
    told = stack_id(branches[0]).slug
    gh.add_comment(REPO, 41, marker(told) + "\n✅ ready")   # the PR comment an earlier pr-event wrote
    gh.add_pull(REPO, 41, state="closed", merged=True)        # its PR went: that is the plan's reason
    rt = runtime.open_runtime(config.load(str(cfg)), start_emulator=False)
    past = time.time() - 60
    for b in branches[1:]:                                       # the others expired
        rec = rt.registry.get(stack_id(b).slug)
        rt.registry.put(replace(rec, fixed_expires_at=past, expires_at=past), expected=rec)
    matrix = json.loads(run_cli(cfg, "cleanup", "--plan-json", env=github_env(gh)).stdout)
    print("$ provisioner cleanup --plan-json\n" + json.dumps(matrix, indent=1))
    assert sorted((e["slug"], e["reason"]) for e in matrix["include"]) == sorted(
        [(told, "PR #41 merged")] + [(stack_id(b).slug, "expired") for b in branches[1:]])

    procs = []
    for n, entry in enumerate(matrix["include"]):   # one runner each: own checkout, own state directory
        runner = tmp_path / f"runner-{n}"
        runner.mkdir()
        own = runner / "staging.toml"
        own.write_text(cfg.read_text().replace(str(tmp_path / "matrix" / ".provisioner"),
                                               str(runner / ".provisioner")))
        env = {**os.environ, "PROVISIONER_CONFIG": str(own), "PROVISIONER_TEARDOWN_REASON": entry["reason"],
               **(github_env(gh) if entry["slug"] == told else {})}   # as the nightly's matrix job sets it
        env.pop("GITHUB_HEAD_REF", None)
        procs.append(subprocess.Popen([sys.executable, "-m", "provisioner", "teardown", "--stack",
                                       entry["slug"], "--json"], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    for out, err, code in results:
        assert code == 0, err
        assert json.loads(out)["action"] == "destroyed"
    [said] = [err for out, err, _ in results if json.loads(out)["stack"] == told]
    assert f"==> github: {told}: PR #41 told" in said
    gone = body(gh, 41, told)
    print(gone)
    assert "This stack was torn down: PR #41 merged." in gone and "🗑️ destroyed" in gone
    assert "reopen the pull request" in gone
    for n in range(3):
        assert (tmp_path / f"runner-{n}" / ".provisioner").is_dir()
    for b in branches:
        assert record(cfg, b)["status"] == "destroyed"
    assert json.loads(run_cli(cfg, "cleanup", "--plan-json").stdout) == {"include": []}
