"""Strangers' text (branch names, owners, error messages) as inert Markdown.

The same rules as the PR comment's escaping (``provisioner.pr_comment.escape_markdown``): HTML
entities, backslashed Markdown punctuation, no autolinks, no @mentions, no control or bidi
characters, one line. Kept here because health may import only errors, aws and templating; once
the restructure lands both should share one ``support.markdown``.
"""

from __future__ import annotations

import re
import unicodedata

ZWSP = "\u200b"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_BACKSLASHED = frozenset("\\`*_{}[]()#+-.!|~$=:")
_SCHEME = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|data|vbscript|file)\\:")
_WWW = re.compile(r"(?i)\bwww(?=\\\.)")


def escape(text: object, limit: int = 300) -> str:
    """Any text -> Markdown that renders as exactly that text (clipped to ``limit`` characters)."""
    raw = str(text)
    raw = raw if len(raw) <= limit else raw[: limit - 1] + "…"
    out: list[str] = []
    for ch in raw:
        if ch in "\r\n\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs"):
            continue
        elif ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _BACKSLASHED:
            out.append("\\" + ch)
        elif ch == "@":
            out.append("@" + ZWSP)
        else:
            out.append(ch)
    escaped = _SCHEME.sub(lambda m: m.group(1) + ZWSP + "\\:", "".join(out))
    return _WWW.sub("www" + ZWSP, escaped)
