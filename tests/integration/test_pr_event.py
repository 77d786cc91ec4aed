"""End to end: `provisioner pr-event` in a subprocess, real Terraform against the emulator, and a fake
GitHub API over HTTP on loopback (tests/github_fake.py) reached through GITHUB_API_URL.

Three spinups in all: opened, synchronize (no changes), and one fork PR with a hostile branch."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import boto3
import pytest
from conftest import run_cli, write_project
from github_fake import FakeGitHub

from provisioner.domain import tags
from provisioner.domain.naming import stack_id, tag_value
from provisioner.github.comment import marker

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"
REPO = "acme/shop"
RUN_URL = "https://github.com/acme/shop/actions/runs/4242"


@pytest.fixture(scope="module")
def gh():
    with FakeGitHub(token="ghs_fake_installation_token") as fake:
        for number in (7, 9):   # the PRs of the fixtures, open (pr-event checks before it applies)
            fake.add_pull(REPO, number)
        yield fake


@pytest.fixture(scope="module")
def project(tmp_path_factory, moto_url, provider_mirror):
    return write_project(tmp_path_factory.mktemp("prevents"), moto_url, provider_mirror, smoke=True)


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def pr_event(cfg, gh, tmp_path, payload: dict, *args: str, token: str | None = None, check: bool = True):
    event = tmp_path / f"event-{len(list(tmp_path.iterdir()))}.json"
    event.write_text(json.dumps(payload))
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_API_URL": gh.url,
           "GITHUB_TOKEN": gh.token if token is None else token, "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": REPO, "GITHUB_RUN_ID": "4242", "GITHUB_ACTIONS": ""}
    return run_cli(cfg, "pr-event", *args, env=env, check=check)


def record(cfg, branch: str) -> dict | None:
    out = run_cli(cfg, "status", "--branch", branch, "--json", check=False)
    assert out.returncode in (0, 5), out.stderr   # 5: no such stack (the record is null)
    return json.loads(out.stdout)["record"]


def deployments(gh, slug: str) -> list[dict]:
    return [d for d in gh.deployments.values() if d["environment"] == f"staging/{slug}"]


def test_pr_preview_opened_synchronized_kept_closed(project, gh, tmp_path):
    branch = "feature/checkout-page"
    slug = stack_id(branch).slug

    opened = pr_event(project, gh, tmp_path, load("pull_request.opened"))
    assert "spinup: pull request opened" in opened.stdout and f"stack {slug}: applied" in opened.stdout
    rec = record(project, branch)
    assert rec["status"] == "ready" and rec["pr"] == 7 and rec["owner"] == "alice-dev"
    assert rec["branch_source"] == "event"
    url = rec["outputs"]["environment_url"]
    [comment] = gh.comments_on(REPO, 7)
    assert comment["body"].startswith(marker(slug)) and f"]({url})" in comment["body"]
    assert f"]({RUN_URL})" in comment["body"]
    assert re.search(r"\| Cost \| estimate\\: .*/h staging vs .*/h production", comment["body"])  # cost view
    unescaped = comment["body"].replace("\\", "")
    for production_only in ("events.pagerduty.com", "acme-prod-customer-exports", "rds:acme-prod",
                            "api.acme-corp.com"):
        assert production_only not in unescaped  # production-only values never reach the PR
    assert "(production-only)" in unescaped
    [dep] = deployments(gh, slug)
    assert dep["ref"] == load("pull_request.opened")["pull_request"]["head"]["sha"]
    assert gh.statuses(dep["id"]) == ["in_progress", "success"]
    assert dep["_statuses"][-1]["environment_url"] == url and dep["_statuses"][-1]["log_url"] == RUN_URL
    # the example's health checks and smoke suite ran: in the comment and as a commit status
    assert "| Health | ✅ passing |" in comment["body"] and "| Tests | ✅ passed in " in comment["body"]
    health = gh.commit_statuses[(REPO, dep["ref"])][0]
    assert health["state"] == "success" and health["context"] == "staging/health"
    assert health["description"] == "health passing, tests passed" and health["target_url"] == RUN_URL

    synced = pr_event(project, gh, tmp_path, load("pull_request.synchronize"))
    assert f"stack {slug}: no changes" in synced.stdout
    [again] = gh.comments_on(REPO, 7)
    # Terraform was skipped (inputs unchanged): the comment says so, beside the last apply's counts
    assert again["id"] == comment["id"]
    assert "No infrastructure changes" in again["body"] and "inputs unchanged since" in again["body"]
    assert len(gh.calls("PATCH", f"/comments/{comment['id']}")) == 1
    assert len(deployments(gh, slug)) == 2

    # no token: the stack is still handled; the comment goes to stdout, nothing to GitHub
    seen = len(gh.requests)
    kept = pr_event(project, gh, tmp_path, load("pull_request.labeled"), token="")
    assert kept.stdout.startswith(marker(slug)) and "kept" in kept.stdout
    assert "| Cost | estimate\\: " in kept.stdout and "monthly \\(730 h\\)" in kept.stdout  # kept after keep
    assert len(gh.requests) == seen
    assert record(project, branch)["keep"] is True

    closed = pr_event(project, gh, tmp_path, load("pull_request.closed.merged"))
    assert f"stack {slug}: destroyed; 2 deployment(s) marked inactive" in closed.stdout
    assert record(project, branch)["status"] == "destroyed"
    [final] = gh.comments_on(REPO, 7)
    assert "destroyed" in final["body"] and url not in final["body"]
    assert all(gh.statuses(d["id"])[-1] == "inactive" for d in deployments(gh, slug))


def fork_payload(action: str = "opened") -> dict:
    data = copy.deepcopy(load("pull_request.opened.fork"))
    if action == "closed":
        data["action"] = "closed"
        data["pull_request"]["state"] = "closed"
    return data


def test_fork_with_hostile_branch(project, gh, tmp_path, moto_url, provider_mirror):
    data = fork_payload()
    branch = data["pull_request"]["head"]["label"]
    slug = stack_id(branch).slug

    refused = pr_event(project, gh, tmp_path, data)
    assert refused.stdout.startswith("skip: pull requests from forks get no preview")
    assert not [r for r in gh.requests if "/issues/9/" in r.path]
    assert record(project, branch) is None

    allowing = write_project(tmp_path / "forks-allowed", moto_url, provider_mirror,
                             extra="[github]\nallow_forks = true\n")
    out_file = tmp_path / "comment.md"
    made = pr_event(allowing, gh, tmp_path, data, "--comment-out", str(out_file))
    assert f"stack {slug}: applied" in made.stdout
    assert record(allowing, branch)["branch"] == branch          # the full name is kept, as data
    [comment] = gh.comments_on(REPO, 9)
    assert out_file.read_text() == comment["body"]
    body = comment["body"]
    for raw in ("<img", "<script", "](javascript", "@everyone", "`id`", "{{7*7}}", "{{ 7*7 }}", "$("):
        assert raw not in body, raw
    assert "7\\*7" in body                                     # shown literally, never evaluated

    tagging = boto3.client("resourcegroupstaggingapi", endpoint_url=moto_url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
    found = tagging.get_resources(
        TagFilters=[{"Key": tags.STACK, "Values": [slug]}])["ResourceTagMappingList"]
    assert found
    for res in found:
        values = {t["Key"]: t["Value"] for t in res["Tags"]}
        assert values[tags.BRANCH] == tag_value(branch)[:256] and "$(" not in values[tags.BRANCH]

    closed = pr_event(allowing, gh, tmp_path, fork_payload("closed"))
    assert f"stack {slug}: destroyed" in closed.stdout
    assert record(allowing, branch)["status"] == "destroyed"
    assert "destroyed" in gh.comments_on(REPO, 9)[0]["body"]
