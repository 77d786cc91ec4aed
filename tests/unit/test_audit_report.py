"""The nightly audit report: content, grouping, and strangers' text staying inert Markdown."""

from __future__ import annotations

import re

import pytest

from provisioner.health import AuditReport, CleanupEntry, ReportRow, render_json, render_markdown
from provisioner.health.report import duration_text, rows_by_owner

NOW = 1_800_000_000.0
HOSTILE_BRANCH = "feat/[click](https://evil.example) <img src=x onerror=alert(1)> @acme/admins | x"


def row(slug="login-3f1c2ab", owner="alice", **kw):
    base = dict(slug=slug, branch="feature/login", owner=owner, status="ready",
                created_at=NOW - 3 * 86400 - 7200, expires_at=NOW + 3600)
    return ReportRow(**{**base, **kw})


def markdown():
    markdown_it = pytest.importorskip("markdown_it")
    pytest.importorskip("linkify_it")
    return markdown_it.MarkdownIt("gfm-like")


def full_report():
    return AuditReport(NOW, (
        row(pr=12, health="failing", failing_checks=("web",), drifted=True,
            drifted_resources=("module.data.aws_sqs_queue.jobs",), changed_variables=("app_cpu",),
            cost_per_hour=0.125, dataset="synthetic-v3", seeded_at=NOW - 8 * 86400),
        row("api-0000001", owner="bob", created_at=NOW - 600, expires_at=None, health="passing",
            drifted=False),
        row("old-1111111", created_at=NOW - 10 * 86400, expires_at=NOW - 7200, cost_per_hour=0.5,
            cleanup="teardown (expired): done"),
    ), (CleanupEntry("old-1111111", "old", "teardown", "expired", "done"),
        CleanupEntry("gone-2222222", "gone", "teardown", "pull request closed", "failed",
                     "DependencyViolation")),
        ("PR state skipped: GITHUB_TOKEN is not set",))


@pytest.mark.parametrize(("seconds", "text"), [(0, "0m"), (59, "0m"), (3700, "1h 1m"),
                                               (86400 * 3 + 7200, "3d 2h"), (-5, "0m")])
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


def test_markdown_content():
    text = render_markdown(full_report())
    assert text.startswith("# Staging audit, 2027-01-15 08:00 UTC")
    assert "3 live stacks, 1 failing health, 1 drifted, estimated $0.62/h in total." in text
    alice = text.index("## alice (2)")
    bob = text.index("## bob (1)")
    assert alice < bob
    lines = {line.split("|")[1].strip(): line for line in text.splitlines()
             if line.startswith("| `") and line.count("|") == 11}
    login = lines["`login-3f1c2ab`"]
    assert "(#12)" in login and "3d 2h" in login and "in 1h 0m" in login
    assert "❌ failing (web)" in login
    assert "⚠️ 1 resource: module\\.data\\.aws\\_sqs\\_queue\\.jobs" in login and "app\\_cpu" in login
    assert "$0.12/h" in login and "⚠️ synthetic\\-v3, seeded 8d 0h ago" in login
    assert "**overdue** 2h 0m" in lines["`old-1111111`"]
    assert "kept" in lines["`api-0000001`"] and "not checked" not in lines["`api-0000001`"]
    assert "failed: DependencyViolation" in text and "GITHUB\\_TOKEN is not set" in text
    # the old stack (oldest first) comes before the newer one of the same owner
    assert text.index("`old-1111111`") < text.index("`login-3f1c2ab`")


def test_hostile_text_stays_inert():
    md = markdown()
    report = AuditReport(NOW, (row(branch=HOSTILE_BRANCH, owner="<b>mallory</b> @acme/owners",
                                   failing_checks=("[x](javascript:alert(1))",), health="failing"),),
                         (CleanupEntry("evil-0000000", HOSTILE_BRANCH, "teardown", "expired | extra cell",
                                       "failed", "`code` ![img](https://evil.example/p.png)"),))
    html = md.render(render_markdown(report))
    assert "<a " not in html and "<img" not in html and "<b>" not in html
    assert "@acme" not in html                                 # no team mention
    assert "onerror" in html and "&lt;img" in html             # shown as text, not dropped
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    assert all(r.count("<td") in (0, 5, 10) for r in rows)    # a "|" in text never adds a cell


def test_configuration_drift_alone_counts_as_drifted():
    text = render_markdown(AuditReport(NOW, (row(drifted=False, changed_variables=("app_cpu", "tags")),)))
    assert "1 drifted" in text and "none; inputs changed: app\\_cpu, tags" in text


def test_no_stacks():
    text = render_markdown(AuditReport(NOW))
    assert "0 live stacks" in text and "No live stacks." in text and "Nothing to clean up." in text
    assert "estimated -" in text


def test_json_form_is_raw_and_complete():
    data = render_json(full_report())
    assert data["generated_at"] == NOW
    assert [s["slug"] for s in data["stacks"]] == ["login-3f1c2ab", "old-1111111", "api-0000001"]
    first = data["stacks"][0]
    assert first["age_seconds"] == 3 * 86400 + 7200 and first["expires_in_seconds"] == 3600
    assert first["failing_checks"] == ("web",) and first["drifted"] is True
    assert data["stacks"][2]["expires_in_seconds"] is None
    assert data["cleanup"][1] == {"slug": "gone-2222222", "branch": "gone", "action": "teardown",
                                  "reason": "pull request closed", "result": "failed",
                                  "error": "DependencyViolation"}
    hostile = render_json(AuditReport(NOW, (row(branch=HOSTILE_BRANCH),)))
    assert hostile["stacks"][0]["branch"] == HOSTILE_BRANCH    # data, not Markdown


def test_rows_by_owner():
    grouped = rows_by_owner(full_report().rows)
    assert list(grouped) == ["alice", "bob"]
    assert [r.slug for r in grouped["alice"]] == ["old-1111111", "login-3f1c2ab"]
