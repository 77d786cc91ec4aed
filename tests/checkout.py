"""A clean checkout of this repository for tests that build or install it (no pytest import)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clean_checkout(dest: Path) -> Path:
    """`git clone` of the repository plus the working tree's uncommitted changes; nothing ignored
    (no .venv, .provisioner, build/ or egg-info) comes along."""
    subprocess.run(["git", "clone", "-q", "--no-local", "--no-hardlinks", str(REPO), str(dest)], check=True)
    listed = subprocess.run(["git", "ls-files", "-z", "-m", "-o", "--exclude-standard"], cwd=REPO,
                            check=True, capture_output=True, text=True).stdout
    for rel in filter(None, listed.split("\0")):
        src = REPO / rel
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if src.exists():
            shutil.copy2(src, dest / rel)
        else:
            (dest / rel).unlink(missing_ok=True)
    return dest
