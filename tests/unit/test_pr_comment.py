"""The PR comment: escaping of strangers' text, the template, continuations past the 65,536 limit."""

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
    part_marker,
    render_comment,
    render_comments,
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


def _parts(**kw) -> list[str]:
    base = dict(slug="checkout-1a2b3c4", branch="feature/checkout", status="ready", pr=7,
                record=record(), differences=diffs())
    return render_comments(CommentInput(**{**base, **kw}))


def test_a_long_comment_continues_in_more_comments_and_drops_no_row():
    many = diffs(3000, reason="x" * 250)
    parts = _parts(differences=many)
    assert len(parts) > 1 and all(len(p) <= MAX_COMMENT_CHARS for p in parts)
    assert parts[0].startswith(marker("checkout-1a2b3c4") + "\n")
    for n, part in enumerate(parts[1:], start=2):
        assert part.startswith(part_marker("checkout-1a2b3c4", n) + "\n")
        assert f"(continued, part {n})" in part
    assert sum(p.count("| scale |") for p in parts) == 2998   # every row, once
    rows = [line for p in parts for line in p.splitlines() if "| scale |" in line]
    assert [r.split(" | ")[0] for r in rows] == [f"| var\\_{i}" for i in range(2998)]
    for part in parts[:-1]:
        assert part.rstrip().endswith("_Continued in the next comment._")
    md = markdown()
    for part in parts[1:]:  # each continuation renders on its own: details reopened, header repeated
        assert "<details><summary>Differences from production (3000) (continued)</summary>" in part
        assert "| variable | production | staging | rule | reason |" in part
        assert part.count("<details>") == part.count("</details>")
        assert "<table>" in md.render(part)


def test_huge_outputs_continue_too():
    outputs = {f"out_{i:04d}": "v" * 400 for i in range(1000)}
    parts = _parts(record=record(outputs=outputs), differences=diffs(50))
    assert len(parts) >= 5 and all(len(p) <= MAX_COMMENT_CHARS for p in parts)
    joined = "\n".join(parts)
    assert all(f"out\\_{i:04d}" in joined for i in range(1000))
    assert "Differences from production (50)" in joined


def test_a_small_limit_still_yields_valid_marked_comments():
    parts = render_comments(CommentInput(slug="a-1234567", branch="b", status="failed", error="e" * 5000),
                            limit=1200)
    assert all(len(p) <= 1200 for p in parts) and parts[0].startswith(marker("a-1234567"))
    assert "line cut" in "".join(parts)


def test_url_outputs_copy_whole_and_the_comment_says_what_to_do_next():
    body = comment(commit="0123456789abcdef0123", updated_at=1_790_000_000.0, keep_label="staging:keep",
                   applied=(("module.app.aws_sqs_queue.jobs", "create"), ("aws_s3_bucket.assets", "update")),
                   cost="estimate: $0.0100/h ($7.30/month) staging vs $1.0000/h ($730.00/month) production")
    assert "<https://checkout-1a2b3c4.staging.acme.test>" in body and ZWSP not in body.split("Outputs")[1]
    assert "<http://sqs.local/q>" in body
    assert "| Deployed commit | `0123456789ab` |" in body and "2026-09-21T" in body
    assert "Add the label **staging\\:keep**" in body
    assert "`provisioner extend --branch BRANCH --by 24h`" in body
    assert "`provisioner teardown --stack checkout-1a2b3c4`" in body
    assert "<details><summary>Plan applied: 1 create, 1 update</summary>" in body
    assert "| module\\.app\\.aws\\_sqs\\_queue\\.jobs | create |" in body
    assert "$730\\.00/month" in body


def test_destroyed_comment_says_what_is_gone_and_keeps_no_stale_apply():
    gone = comment(status="destroyed", record=record(status="destroyed", outputs={}), differences=(),
                   destroyed=31, note="The nightly cleanup tore the stack down: expired.",
                   applied=(("aws_sqs_queue.q", "create"),), cost="estimate: $1/h")
    assert "| Destroyed | 31 resources |" in gone and "expired" in gone
    assert "Last apply" not in gone and "Plan applied" not in gone and "Cost" not in gone
    assert "Push a commit" in gone and "remove and re-add" in gone


def test_marker_refuses_a_non_slug():
    with pytest.raises(ValueError):
        marker("x --> <img>")
