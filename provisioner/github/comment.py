"""The pull request comment: one per stack, found again by a hidden marker.

Everything a stranger controls (branch, PR title, login, output values, error
text) is escaped here, in Python, before it reaches the template
``templates/pr_comment.md.j2``: the template only lays out strings that are
already safe Markdown. ``escape_markdown`` neutralises HTML, Markdown syntax,
links, autolinks, math and @mentions; error text goes into a code fence that
its content cannot close. A body over GitHub's 65,536 character limit is split
into continuation comments (``github.split``); no row is dropped.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.domain.difference import Difference
from provisioner.domain.record import Record
from provisioner.domain.tags import iso
from provisioner.support.localpaths import without_local_paths
from provisioner.support.markdown import ZWSP, clip, escape_markdown  # noqa: F401 (ZWSP, clip: re-exported)
from provisioner.support.templating import render_template

MAX_COMMENT_CHARS = 65_536   # GitHub refuses longer comment bodies
MAX_CELL_CHARS = 300
MAX_ERROR_CHARS = 4_000
MAX_DATASETS = 50                # a stack has a handful; the cap keeps the comment bounded
TEMPLATE = "pr_comment.md.j2"
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~%/+=&?#,-]*)?")
_STATUS_ICON = {"ready": "✅", "failed": "❌", "destroyed": "🗑️", "creating": "⏳", "destroying": "⏳",
                "stale": "⚠️", "unhealthy": "⚠️"}
_HEALTH_ICON = {"passing": "✅", "failing": "❌"}
_GONE = ("destroyed", "destroying", "not running")
HOURS_PER_MONTH = 730
GONE_NOTE = ("**Gone:** every resource of the stack (a sweep verified that nothing tagged with it "
             "remains), its Terraform state and stored inputs, and its URL; its deployments are inactive.")


def marker(slug: str) -> str:
    """The hidden first line that identifies the comment of one stack."""
    if not re.fullmatch(r"[a-z0-9-]+", slug):
        raise ValueError(f"not a stack slug: {slug!r}")
    return f"<!-- staging-provisioner:{slug} -->"


def parts_prefix(slug: str) -> str:
    """What every continuation comment of one stack starts with."""
    return marker(slug)[: -len(" -->")] + ":part-"


def part_marker(slug: str, n: int) -> str:
    """The first line of continuation ``n`` (2, 3, ...) of a stack's comment."""
    return f"{parts_prefix(slug)}{int(n)} -->"


def text_cell(value: Any, limit: int = MAX_CELL_CHARS) -> str:
    """Any value -> one escaped table cell (JSON for non-strings), clipped."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return escape_markdown(clip(text, limit))


def safe_url(url: Any) -> str | None:
    return url if isinstance(url, str) and _SAFE_URL.fullmatch(url) else None


def link(label: str, url: Any) -> str:
    """A Markdown link when the URL is a plain http(s) URL, else the escaped URL as text."""
    good = safe_url(url)
    if good is None:
        return text_cell(url) if url else "-"
    return f"[{escape_markdown(label, break_links=False)}]({good})"


def fenced(text: str) -> str:
    """A code block its content cannot close; control characters dropped."""
    body = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf"))
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}"


@dataclass(frozen=True)
class CommentInput:
    slug: str
    branch: str
    status: str
    pr: int | None = None
    title: str = ""
    owner: str = ""
    record: Record | None = None
    differences: Sequence[Difference] = ()
    error: str = ""
    run_url: str | None = None
    output_names: Sequence[str] | None = None   # None: every output
    cost: str = ""                               # one line: staging vs production hourly estimate
    commit: str = ""                             # the deployed commit (a SHA)
    updated_at: float | None = None              # when this comment's news happened
    applied: Sequence[tuple[str, str]] = ()      # (address, action) the last apply changed
    note: str = ""                               # why (plain text: escaped here), e.g. a cleanup's
    keep_label: str = ""                         # shown in the next steps
    destroyed: int | None = None                 # resources the teardown destroyed
    bring_back: str = ""                         # plain text: how to get a destroyed stack back


def _changes(changes: dict[str, int]) -> str:
    if not changes:
        return "-"
    if not any(changes.values()):
        return "no changes"
    return (f"{changes.get('add', 0)} to add, {changes.get('change', 0)} to change, "
            f"{changes.get('remove', 0)} to destroy")


def _code(text: str) -> str:
    """A short code span of [0-9A-Za-z] only (a SHA): nothing to escape."""
    return f"`{text}`" if re.fullmatch(r"[0-9A-Za-z]{1,64}", text) else text_cell(text)


def _summary(inp: CommentInput) -> list[tuple[str, str]]:
    rec = inp.record
    gone = inp.status in _GONE
    status = inp.status + (" (kept: exempt from expiry)" if rec and rec.keep and not gone else "")
    rows = [("Status", f"{_STATUS_ICON.get(inp.status, 'ℹ️')} {escape_markdown(status)}")]
    url = rec.outputs.get("environment_url") if rec else None
    if url and not gone:
        rows.append(("Environment", link(str(url), url)))
    commit = inp.commit or (rec.commit if rec else "")
    if commit and not gone:
        rows.append(("Deployed commit", _code(commit[:12])))
    if inp.updated_at:
        rows.append(("Updated", iso(inp.updated_at)))
    rows.append(("Branch", text_cell(inp.branch)))
    if inp.pr is not None:
        rows.append(("Pull request", f"#{int(inp.pr)}" + (f" {text_cell(inp.title)}" if inp.title else "")))
    if inp.owner:
        rows.append(("Owner", text_cell(inp.owner)))
    if rec and rec.expires_at and not gone:
        rows.append(("Expires", iso(rec.expires_at) + (" (kept)" if rec.keep else "")))
    if rec and not gone:
        rows.append(("Last apply", _changes(rec.changes)))
    if inp.destroyed is not None and gone:
        rows.append(("Destroyed", f"{int(inp.destroyed)} resources"))
    if rec and not gone:
        rows += _health_rows(rec)
    if inp.cost and not gone:
        rows.append(("Cost", escape_markdown(inp.cost)))
    if inp.run_url:
        rows.append(("Run", link("workflow run", inp.run_url)))
    return rows


def _health_rows(rec: Record) -> list[tuple[str, str]]:
    """Health (each failed check and why) and the last test run."""
    failed = [f"{text_cell(c.get('name'), 60)}: {text_cell(c.get('detail'), 200)}"
              for c in rec.health.get("checks", []) if c.get("ok") is False]
    health = f"{_HEALTH_ICON.get(rec.health_status, '➖')} {escape_markdown(rec.health_status)}"
    rows = [("Health", health + (" (" + "; ".join(failed[:5]) + ")" if failed else ""))]
    if rec.tests:
        took = rec.tests.get("duration")
        rows.append(("Tests", f"{_HEALTH_ICON['passing' if rec.tests_status == 'passed' else 'failing']} "
                              f"{escape_markdown(rec.tests_status)}"
                              + (f" in {float(took):.1f}s" if isinstance(took, int | float) else "")))
    return rows


def _outputs(inp: CommentInput) -> list[tuple[str, str]]:
    if inp.record is None or inp.status in ("destroyed", "destroying"):
        return []
    outputs = inp.record.outputs
    names = sorted(outputs) if inp.output_names is None else [n for n in inp.output_names if n in outputs]
    return [(text_cell(n), _value(outputs[n])) for n in names]


def _value(value: Any) -> str:
    """An output value; a plain http(s) URL stays whole (no zero-width space) so it copies as is."""
    url = safe_url(value)
    return f"<{url}>" if url else text_cell(value)


def _applied(inp: CommentInput) -> list[tuple[str, str]]:
    if inp.status in _GONE:
        return []
    return [(text_cell(address), escape_markdown(action)) for address, action in inp.applied]


def next_steps(inp: CommentInput) -> list[str]:
    """How to act on the stack from here (Markdown lines, already safe). No user text goes into a
    command: the branch is named as "the branch above", the stack by its slug."""
    if inp.status in _GONE:
        return [escape_markdown(inp.bring_back) if inp.bring_back else
                "Push a commit to the pull request to bring the stack back (or, with a gate label, "
                "remove and re-add it)."]
    label = escape_markdown(inp.keep_label) if inp.keep_label else ""
    kept = bool(inp.record and inp.record.keep)
    steps = []
    if label:
        steps.append(f"{'Remove' if kept else 'Add'} the label **{label}** to "
                     f"{'let it expire again' if kept else 'keep the stack past its expiry'}.")
    steps.append("Extend its life: `provisioner extend --branch BRANCH --by 24h` (BRANCH: the branch "
                 "above).")
    steps.append(f"Tear it down now: close the pull request, or `provisioner teardown --stack {inp.slug}`.")
    return steps


def _differences(inp: CommentInput) -> list[dict[str, str]]:
    rows = []
    for d in inp.differences:
        j = d.to_json()  # masks sensitive values
        rows.append({k: text_cell(j[k]) for k in ("variable", "production", "staging", "rule", "reason")})
    return rows


def _data(inp: CommentInput) -> list[dict[str, str]]:
    """The datasets loaded into the stack (from its record): rows, store, version, load time."""
    if inp.record is None or inp.status in ("destroyed", "destroying"):
        return []
    return [{"dataset": text_cell(d["dataset"]), "rows": str(int(d["rows"] or 0)),
             "store": text_cell(d["store"]), "version": text_cell(d["digest"]),
             "loaded": iso(float(d["loaded_at"])) if d["loaded_at"] else "-"}
            for d in inp.record.datasets[:MAX_DATASETS]]


def _full(inp: CommentInput) -> str:
    error = fenced(clip(without_local_paths(inp.error), MAX_ERROR_CHARS)) if inp.error else ""
    applied = _applied(inp)
    counts: dict[str, int] = {}
    for _, action in inp.applied:
        counts[action] = counts.get(action, 0) + 1
    note = escape_markdown(inp.note) if inp.note else ""
    rec = inp.record
    tests_tail = (fenced(clip(str(rec.tests.get("output_tail", "")), MAX_ERROR_CHARS))
                  if rec and rec.tests_status == "failed" and inp.status not in _GONE and rec.tests else "")
    if inp.status == "destroyed":
        note = (note + " " if note else "") + GONE_NOTE
    return render_template(
        TEMPLATE, marker=marker(inp.slug), slug=inp.slug, summary=_summary(inp), error=error,
        tests_tail=tests_tail, note=note, next_steps=next_steps(inp),
        applied=applied, applied_counts=", ".join(f"{n} {a}" for a, n in sorted(counts.items())),
        outputs=_outputs(inp), differences=_differences(inp), datasets=_data(inp))


def render_comments(inp: CommentInput, *, limit: int = MAX_COMMENT_CHARS) -> list[str]:
    """The comment: one body, or a first body and continuations, each at most ``limit`` characters."""
    from provisioner.github.split import split_body

    def heading(n: int) -> str:
        return f"{part_marker(inp.slug, n)}\n### Staging preview `{inp.slug}` (continued, part {n})\n"

    return split_body(_full(inp), limit, heading)


def render_comment(inp: CommentInput, *, limit: int = MAX_COMMENT_CHARS) -> str:
    """The first (usually the only) comment body."""
    return render_comments(inp, limit=limit)[0]
