"""Strangers' text (branch names, titles, owners, error messages) as inert Markdown.

One set of rules for every Markdown the tool writes (the PR comment, the audit report): HTML
entities, backslashed Markdown punctuation, no autolinks, no @mentions, no control or bidi
characters, one line.
"""

from __future__ import annotations

import re
import unicodedata

ZWSP = "\u200b"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_BACKSLASHED = frozenset("\\`*_{}[]()#+-.!|~$=:")
_SCHEME = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|data|vbscript|file)\\:")
_WWW = re.compile(r"(?i)\bwww(?=\\\.)")


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


def escape(text: object, limit: int = 300) -> str:
    """Any text -> inert one-line Markdown, clipped to ``limit`` characters first."""
    return escape_markdown(clip(str(text), limit))
