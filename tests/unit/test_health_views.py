"""Where health and test results show: the record's derived fields, `list`/`status` text, the board
row, the PR comment (escaped: check details come from the stack's outputs and errors), and the
commit status on the head SHA (against the fake GitHub API over HTTP)."""

from __future__ import annotations

import pytest
from github_fake import FakeGitHub
from markdown_it import MarkdownIt

from provisioner.cli import board
from provisioner.cli.output import health_cell, health_lines
from provisioner.domain.record import Record
from provisioner.github.api import GitHubClient, GitHubError, RetryPolicy
from provisioner.github.comment import CommentInput, render_comment
from provisioner.github.publisher import HEALTH_CONTEXT, GitHubPublisher, OfflinePublisher

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
HOSTILE = "<img src=x onerror=alert(1)> [x](https://evil.example) @org/team"


def rec(**kw) -> Record:
    health = {"status": "failing", "checks": [
        {"name": "queue", "ok": True, "detail": "reachable"},
        {"name": "web", "ok": False, "detail": f"HTTP 500 from {HOSTILE}"},
        {"name": "lb", "ok": None, "detail": "skipped"}]}
    base = dict(slug="checkout-1a2b3c4", branch="feature/checkout", status="unhealthy", created_at=1.0,
                health=health, tests={"ok": False, "exit_code": 1, "command": "pytest smoke/",
                                      "duration": 2.5, "output_tail": "E   assert 500 == 200\n1 failed"})
    return Record(**{**base, **kw})


def test_record_derives_health_and_tests():
    r = rec()
    assert (r.health_status, r.failing_checks, r.tests_status) == ("failing", ["web"], "failed")
    fresh = Record(slug="a-1234567", branch="a")
    assert (fresh.health_status, fresh.failing_checks, fresh.tests_status) == ("unchecked", [], "not run")
    assert rec(tests={"ok": True}).tests_status == "passed"


def test_list_cell_and_status_lines():
    assert health_cell(rec()) == "failing (1), tests failed"
    assert health_cell(Record(slug="a-1234567", branch="a", health={"status": "passing"})) == "passing"
    lines = health_lines(rec())
    assert lines[0] == "health:   failing" and lines[1].startswith("  FAIL web: HTTP 500")
    assert any(line.startswith("tests:    failed (pytest smoke/, exit 1") for line in lines)
    assert lines[-1].strip() == "1 failed"


def test_board_row_has_health_and_each_failed_check():
    row = board.row(rec(), 10.0, {})
    assert row["health"] == "failing" and row["tests"] == "failed"
    assert row["failing_checks"] == [{"name": "web", "detail": f"HTTP 500 from {HOSTILE}"}]
    page = board.render_page([row])
    assert "health-failing" in page and "<img src=x" not in page and "&lt;img src=x" in page


def test_pr_comment_shows_failed_checks_escaped_and_the_test_output():
    body = render_comment(CommentInput(slug="checkout-1a2b3c4", branch="feature/checkout",
                                       status="unhealthy", pr=7, record=rec()))
    assert "| Status | ⚠️ unhealthy |" in body
    assert "| Health | ❌ failing (web: HTTP 500 from" in body and "| Tests | ❌ failed in 2.5s |" in body
    html = MarkdownIt("gfm-like").render(body)
    assert "<img" not in html and 'href="https://evil.example"' not in html and "@org/team" not in html
    assert "Test output (last lines)" in body and "assert 500 == 200" in body
    passing = render_comment(CommentInput(slug="checkout-1a2b3c4", branch="b", status="ready", record=rec(
        status="ready", health={"status": "passing", "checks": []}, tests={"ok": True, "duration": 1})))
    assert "| Health | ✅ passing |" in passing and "Test output" not in passing
    gone = render_comment(CommentInput(slug="checkout-1a2b3c4", branch="b", status="destroyed", record=rec()))
    assert "| Health |" not in gone


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def client(gh):
    with GitHubClient("test-token", gh.url, policy=RetryPolicy(attempts=2, sleep=lambda s: None)) as c:
        yield c


def test_commit_status_on_the_head_sha(gh, client):
    pub = GitHubPublisher(client, log_url="https://github.com/acme/shop/actions/runs/1")
    assert pub.commit_status("acme/shop", SHA, "failure", "failing: web") == "failure on 6dcb09b"
    [st] = gh.commit_statuses[("acme/shop", SHA)]
    assert st == {"id": st["id"], "state": "failure", "context": HEALTH_CONTEXT,
                  "description": "failing: web", "target_url": "https://github.com/acme/shop/actions/runs/1"}
    assert pub.commit_status("acme/shop", "feature/branch", "success", "x") == "not posted (no head commit)"
    assert OfflinePublisher(print).commit_status("acme/shop", SHA, "success", "x").startswith("not posted")
    assert len(gh.commit_statuses) == 1


def test_commit_status_errors_are_typed(gh, client):
    with pytest.raises(GitHubError, match="not a commit sha"):
        client.create_commit_status("acme/shop", "../../x", "success", context=HEALTH_CONTEXT)
    with pytest.raises(GitHubError, match="422"):
        client.create_commit_status("acme/shop", SHA, "in_progress", context=HEALTH_CONTEXT)
    assert client.create_commit_status("acme/shop", SHA, "success", context=HEALTH_CONTEXT,
                                       description="d" * 300)["description"] == "d" * 140
