"""Messages that leave this machine (the board, the PR comment) carry no local paths: an absolute
path keeps only its last part. URLs and ``s3://`` locations are left alone."""

from __future__ import annotations

import re

# an absolute path's directories: a "/" not preceded by a word character, ":", "/" or "."
_DIRS = re.compile(r"(?<![\w:/.~-])(?:~)?/(?:[\w.+@-]+/)+(?=[\w.+@-])")


def without_local_paths(text: str) -> str:
    """``error in /home/ci/work/app/staging.toml: x`` -> ``error in staging.toml: x``."""
    return _DIRS.sub("", text)
