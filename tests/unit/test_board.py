"""Board rows and page: hostile text is escaped, only http(s) outputs become links."""

from __future__ import annotations

from provisioner.cli import board
from provisioner.domain.record import Record

NOW = 1_000_000.0


def rec(**kw):
    base = dict(slug="x-1234567", branch="feature/x", pr=7, owner="alice", created_at=NOW - 7200,
                expires_at=NOW + 3600, status="ready", last_applied_at=NOW - 60,
                outputs={"environment_url": "https://x.staging.test"}, changes={"add": 3})
    return Record(**{**base, **kw})


def test_rows_skip_destroyed_and_link_prs():
    rows = board.environments([rec(), rec(slug="gone", status="destroyed")], now=NOW,
                              env={"GITHUB_REPOSITORY": "acme/api"})
    assert [r["slug"] for r in rows] == ["x-1234567"]
    r = rows[0]
    assert r["pr_url"] == "https://github.com/acme/api/pull/7"
    assert (r["age_seconds"], r["expires_in_seconds"], r["url"]) == (7200, 3600, "https://x.staging.test")
    assert r["last_action"] == "applied (+3 ~0 -0)"


def test_page_escapes_hostile_text():
    evil = '<script>alert(1)</script>'
    rows = board.environments([rec(branch=f"x/{evil}", owner=evil,
                                   outputs={"environment_url": "javascript:alert(1)"})], now=NOW, env={},
                              details=lambda r: {"differences": [{"variable": "v", "production": evil,
                                                                  "staging": "s", "rule": "set",
                                                                  "reason": evil}], "cost": None})
    html = board.render_page(rows)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert 'href="#diff-x-1234567"' in html


def test_empty_page():
    assert 'id="empty"' in board.render_page([])
