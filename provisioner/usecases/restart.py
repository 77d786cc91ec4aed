"""What a restarted local emulator means for the stacks: restored from the recording, or gone.

A new emulator replays its predecessor's recording (``aws.recording``). When that cannot bring the
state back (no recording, a failed replay), every stack the old emulator held is gone with it: the
tool says so once, loudly, and removes the local stack directories (copies of the module tree and
generated files) that no longer belong to anything, so nothing local pretends a stack still exists.
"""

from __future__ import annotations

import shutil

from provisioner.aws.emulator import EmulatorInfo
from provisioner.config import Settings


def local_stacks(settings: Settings) -> list[str]:
    root = settings.state_dir / "stacks"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def restart_notes(settings: Settings, info: EmulatorInfo) -> list[str]:
    """Notes for the user after ``info`` was started; reconciles local stack directories when the
    previous emulator's state could not come back."""
    r = info.restore
    previous = r.get("previous_pid")
    notes = []
    if r.get("dropped"):
        notes.append(f"dropped {r['dropped']} unreadable lines of the emulator's recording")
    if r.get("requests"):
        notes.append(f"restored the previous emulator's state: replayed {r['requests']} recorded requests "
                     f"in {r.get('seconds', 0):.1f}s")
        return notes
    stacks = local_stacks(settings)
    if not stacks and not r.get("error"):
        return notes  # nothing was lost (a first start, or an emulator that held nothing of ours)
    gone = ", ".join(stacks) or "none"
    removed = []
    for slug in stacks:
        shutil.rmtree(settings.state_dir / "stacks" / slug, ignore_errors=True)
        removed.append(slug)
    why = r.get("error") or "no recording of it was found"
    which = f"(pid {previous}) " if previous else ""
    notes.append(f"WARNING: the previous local emulator {which}stopped and its state could "
                 f"not be restored ({why}): every stack it held is gone (records, state and resources: "
                 f"{gone}); removed {len(removed)} local stack directories that belonged to them")
    return notes
