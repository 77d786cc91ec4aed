"""How long the local emulator takes to come back with its state (moto's recording, replayed).

    .venv/bin/python bench/replay.py [--stacks 1,5,20]

Spins up stacks of the example module one after another on the tool's own emulator; at each count
it stops the emulator (`provisioner emulator stop`), starts it again (`provisioner emulator start`,
which seeds it and replays the recording) and reads what the replay did (requests, seconds) from
emulator.json; then one `spinup` of the first stack must say "no changes" (ids came back). Prints a
table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from projects import write_project  # noqa: E402

from provisioner.aws import emulator, recording  # noqa: E402
from provisioner.terraform import mirror  # noqa: E402

MIRROR = REPO / ".provisioner" / "provider-mirror"


def cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg)}
    env.pop("GITHUB_HEAD_REF", None)
    out = subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True, text=True,
                         env=env, timeout=900)
    if out.returncode:
        raise SystemExit(f"provisioner {' '.join(args)} exited {out.returncode}: {out.stderr[-2000:]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stacks", default="1,5,20")
    counts = sorted(int(n) for n in ap.parse_args().stacks.split(","))
    mirror.build(MIRROR)
    rows = []
    with tempfile.TemporaryDirectory(prefix="replay-") as tmp:
        cfg = write_project(Path(tmp) / "replay", "http://unused", MIRROR)
        cfg.write_text(cfg.read_text().replace('endpoint = "http://unused"\n', ""))
        state_dir = Path(tmp) / "replay" / ".provisioner"
        made = 0
        try:
            for count in counts:
                while made < count:
                    cli(cfg, "spinup", "--branch", f"replay/{made}")
                    made += 1
                cli(cfg, "emulator", "stop")
                size = recording.path(state_dir).stat().st_size
                t0 = time.monotonic()
                cli(cfg, "emulator", "start")
                wall = time.monotonic() - t0
                info = emulator.read_info(state_dir)
                assert info is not None
                again = json.loads(cli(cfg, "spinup", "--branch", "replay/0", "--refresh", "--json").stdout)
                rows.append((count, info.restore.get("requests"), size, info.restore.get("seconds"), wall,
                             again["no_changes"]))
                print(rows[-1], file=sys.stderr, flush=True)
        finally:
            subprocess.run([sys.executable, "-m", "provisioner", "emulator", "stop"], capture_output=True,
                           env={**os.environ, "PROVISIONER_CONFIG": str(cfg)}, timeout=60)
    print("| stacks | recorded AWS requests | recording size | replay | `emulator start` (start + replay) "
          "| next spinup of stack 1 |")
    print("|---|---|---|---|---|---|")
    for count, requests, size, seconds, wall, same in rows:
        print(f"| {count} | {requests} | {size / 1e6:.1f} MB | {seconds:.1f} s | {wall:.1f} s | "
              f"{'no changes' if same else 'CHANGES'} |")


if __name__ == "__main__":
    main()
