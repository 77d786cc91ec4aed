"""The pull request comment: one per stack, found again by a hidden marker.

Everything a stranger controls (branch, PR title, login, output values, error
text) is escaped here, in Python, before it reaches the template
``templates/pr_comment.md.j2``: the template only lays out strings that are
already safe Markdown. ``escape_markdown`` neutralises HTML, Markdown syntax,
links, autolinks, math and @mentions; error text goes into a code fence that
its content cannot close. The body is kept under GitHub's 65,535 character
limit by showing fewer table rows, with a visible note saying so.
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
from provisioner.support.templating import render_template

MAX_COMMENT_CHARS = 65_535
MAX_CELL_CHARS = 300
MAX_ERROR_CHARS = 4_000
MAX_DATASETS = 50                # a stack has a handful; the cap keeps the comment bounded
TEMPLATE = "pr_comment.md.j2"
ZWSP = "\u200b"

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_BACKSLASHED = frozenset("\\`*_{}[]()#+-.!|~$=:")
_SCHEME = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|data|vbscript|file)\\:")
_WWW = re.compile(r"(?i)\bwww(?=\\\.)")
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~%/+=&?#,-]*)?")
_STATUS_ICON = {"ready": "✅", "failed": "❌", "destroyed": "🗑️", "creating": "⏳", "destroying": "⏳"}


def marker(slug: str) -> str:
    """The hidden first line that identifies the comment of one stack."""
    if not re.fullmatch(r"[a-z0-9-]+", slug):
        raise ValueError(f"not a stack slug: {slug!r}")
    return f"<!-- staging-provisioner:{slug} -->"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_markdown(text: str, *, break_links: bool = True) -> str:
    """User text -> Markdown that renders as exactly that text, on one line, with nothing active.

    ``break_links=False`` keeps URLs intact, for the label of a link we build ourselves."""
    out: list[str] = []
    for ch in str(text):
        if ch in "\r\n\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs"):
            continue  # control and bidi characters: invisible, and able to reorder what a reader sees
        elif ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _BACKSLASHED:
            out.append("\\" + ch)
        elif ch == "@":
            out.append("@" + ZWSP)  # no @mention, no team ping
        else:
            out.append(ch)
    escaped = "".join(out)
    if not break_links:
        return escaped
    # No autolinks either: break "scheme:" and "www." with an invisible space.
    escaped = _SCHEME.sub(lambda m: m.group(1) + ZWSP + "\\:", escaped)
    return _WWW.sub("www" + ZWSP, escaped)


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


def _changes(changes: dict[str, int]) -> str:
    if not changes:
        return "-"
    if not any(changes.values()):
        return "no changes"
    return (f"{changes.get('add', 0)} to add, {changes.get('change', 0)} to change, "
            f"{changes.get('remove', 0)} to destroy")


def _summary(inp: CommentInput) -> list[tuple[str, str]]:
    rec = inp.record
    status = inp.status + (" (kept: exempt from expiry)" if rec and rec.keep else "")
    rows = [("Status", f"{_STATUS_ICON.get(inp.status, 'ℹ️')} {escape_markdown(status)}")]
    url = rec.outputs.get("environment_url") if rec else None
    if url and inp.status not in ("destroyed", "destroying"):
        rows.append(("Environment", link(str(url), url)))
    rows.append(("Branch", text_cell(inp.branch)))
    if inp.pr is not None:
        rows.append(("Pull request", f"#{int(inp.pr)}" + (f" {text_cell(inp.title)}" if inp.title else "")))
    if inp.owner:
        rows.append(("Owner", text_cell(inp.owner)))
    if rec and rec.expires_at and inp.status not in ("destroyed", "destroying"):
        rows.append(("Expires", iso(rec.expires_at) + (" (kept)" if rec.keep else "")))
    if rec:
        rows.append(("Last apply", _changes(rec.changes)))
    if inp.cost and inp.status not in ("destroyed", "destroying"):
        rows.append(("Cost", escape_markdown(inp.cost)))
    if inp.run_url:
        rows.append(("Run", link("workflow run", inp.run_url)))
    return rows


def _outputs(inp: CommentInput) -> list[tuple[str, str]]:
    if inp.record is None or inp.status in ("destroyed", "destroying"):
        return []
    outputs = inp.record.outputs
    names = sorted(outputs) if inp.output_names is None else [n for n in inp.output_names if n in outputs]
    return [(text_cell(n), text_cell(outputs[n])) for n in names]


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


def _render(inp: CommentInput, outputs: list, diffs: list, shown: tuple[int, int]) -> str:
    hidden_o, hidden_d = len(outputs) - shown[0], len(diffs) - shown[1]
    error = fenced(clip(inp.error, MAX_ERROR_CHARS)) if inp.error else ""
    return render_template(
        TEMPLATE, marker=marker(inp.slug), slug=inp.slug, summary=_summary(inp), error=error,
        outputs=outputs[: shown[0]], outputs_total=len(outputs), outputs_hidden=hidden_o,
        differences=diffs[: shown[1]], differences_total=len(diffs), differences_hidden=hidden_d,
        datasets=_data(inp), limit=f"{MAX_COMMENT_CHARS:,}")


def _largest_fitting(fits: Any, high: int) -> int:
    """The largest n in [0, high] with fits(n), assuming fits is monotone and fits(0)."""
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def render_comment(inp: CommentInput, *, limit: int = MAX_COMMENT_CHARS) -> str:
    """The comment body, at most ``limit`` characters: fewer rows (and a note) when it must."""
    outputs, diffs = _outputs(inp), _differences(inp)
    body = _render(inp, outputs, diffs, (len(outputs), len(diffs)))
    if len(body) <= limit:
        return body
    n_out = len(outputs)
    if len(_render(inp, outputs, diffs, (n_out, 0))) > limit:
        n_out = _largest_fitting(lambda n: len(_render(inp, outputs, diffs, (n, 0))) <= limit, n_out)
    n_diff = _largest_fitting(lambda n: len(_render(inp, outputs, diffs, (n_out, n))) <= limit, len(diffs))
    body = _render(inp, outputs, diffs, (n_out, n_diff))
    if len(body) > limit:  # the fixed part alone is too long: cut, and say so
        note = "\n\n**Comment truncated** to GitHub's 65,535-character limit.\n"
        body = body[: limit - len(note)] + note
    return body
