"""BENCHMARKS.md is written in sections, one per benchmark script, between HTML comment markers.

A script replaces only its own section, so `bench_fleet.py` run alone does not wipe the core
figures (or append a second copy of its own), and the notes written by hand outside the markers
(conditions, explanations of missed targets) survive every re-run.
"""

from __future__ import annotations

import re
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nWritten by `make bench`; each section by the script it names.\n"


def write_section(name: str, body: str, path: Path = PATH) -> None:
    start, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
