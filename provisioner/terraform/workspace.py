"""A stack's working directory: a private copy of the module tree plus generated files.

    <state_dir>/stacks/<slug>/tree/...            copy of the module tree
    <state_dir>/stacks/<slug>/tree/<root>/staging.auto.tfvars.json
    <state_dir>/stacks/<slug>/tree/<root>/zz_provisioner_override.tf.json
                                                   provider (tags, endpoints) + backend

Each stack gets its own copy so parallel stacks never share a ``.terraform``
directory or an override file, and the user's module directory is never
written to. The copy keeps ``.terraform`` between runs (re-runs skip
re-downloading providers). Everything generated is JSON, never hand-built HCL.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.aws.clients import SERVICES
from provisioner.config.schema import Settings
from provisioner.errors import LocalIOError, ProvisionerError
from provisioner.support.files import write_private_json
from provisioner.terraform.lockfile import LOCK_NAME, with_platform_hashes
from provisioner.terraform.mirror import _platform
from provisioner.terraform.providers import Neutralised, provider_overrides
from provisioner.terraform.rootmodule import RootModule, read_root_module

TFVARS_NAME = "staging.auto.tfvars.json"
OVERRIDE_NAME = "zz_provisioner_override.tf.json"
KEEP = (".terraform", ".terraform.lock.hcl")
# Variable files Terraform would load by itself are left out: the render reads them as layers
# under the baseline and stages exactly what it reports (staging.auto.tfvars.json).
IGNORE = (".terraform", ".git", ".venv", "*.tfstate", "*.tfstate.backup", "*_override.tf",
          "*_override.tf.json", "override.tf", "override.tf.json", "*.auto.tfvars", "*.auto.tfvars.json",
          "terraform.tfvars", "terraform.tfvars.json")

# Provider 3.x endpoint keys (no elbv2: "elb" covers aws_lb); the same keys work in 5.x.
PROVIDER_ENDPOINT_KEYS = tuple(s for s in SERVICES if s not in ("elbv2",))


@dataclass(frozen=True)
class Workspace:
    root: Path
    tree: Path
    module_dir: Path

    @property
    def tfvars(self) -> Path:
        return self.module_dir / TFVARS_NAME

    @property
    def override(self) -> Path:
        return self.module_dir / OVERRIDE_NAME


def locate(settings: Settings, slug: str) -> Workspace:
    root = settings.state_dir / "stacks" / slug
    tree = root / "tree"
    rel = settings.root_module.resolve().relative_to(settings.module_tree.resolve())
    return Workspace(root=root, tree=tree, module_dir=tree / rel)


def _clear_copy(tree: Path) -> None:
    """Remove the previous copy except Terraform's own data (providers, modules, lock file)."""
    if not tree.exists():
        return
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d not in KEEP]
        for name in filenames:
            if name not in KEEP:
                os.unlink(os.path.join(dirpath, name))


def copy_ignore(settings: Settings) -> Callable[[str, list[str]], set[str]]:
    """What the per-stack copy of the module tree leaves out (``shutil.copytree``'s ``ignore``):
    what Terraform never reads (``project.copy_exclude``: folder names such as ``examples``,
    ``tests``, ``docs``, but never a folder on the way to the root module), the state directory, and
    the files in ``IGNORE``. The input fingerprint walks the tree with the same rules."""
    state_dir = settings.state_dir.resolve()
    root = settings.root_module.resolve()
    excluded = set(settings.project.copy_exclude)
    patterns = shutil.ignore_patterns(*IGNORE)

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set(patterns(directory, names))
        for name in names:
            path = Path(directory, name)
            if path.resolve() == state_dir:
                skipped.add(name)
            elif name in excluded and path.is_dir() and not root.is_relative_to(path.resolve()):
                skipped.add(name)
        return skipped

    return ignore


def sync_tree(settings: Settings, ws: Workspace) -> None:
    """Copy the module tree, without what ``copy_ignore`` leaves out."""
    _clear_copy(ws.tree)
    shutil.copytree(settings.module_tree.resolve(), ws.tree, ignore=copy_ignore(settings),
                    dirs_exist_ok=True, symlinks=False)


def provider_block(settings: Settings, default_tags: dict[str, str], endpoint: str | None,
                   root: RootModule | None = None) -> tuple[list[dict[str, Any]], list[Neutralised]]:
    """The overrides of every ``provider "aws"`` block of the root module, and what they took out."""
    root = root if root is not None else read_root_module(settings.root_module)
    return provider_overrides(root, default_tags, region=settings.target.region, endpoint=endpoint,
                              endpoint_keys=PROVIDER_ENDPOINT_KEYS, max_retries=settings.target.max_retries())


def backend_override(root: RootModule, backend: dict[str, Any]) -> dict[str, Any]:
    """Our backend settings, with every other argument of the team's ``backend "s3"`` block unset
    (a production ``dynamodb_table``, ``profile`` or ``role_arn`` would otherwise survive the merge)."""
    cleared: dict[str, Any] = {key: None for key in root.backend if key not in backend}
    return {**cleared, **backend}


def mirror_dir(settings: Settings) -> Path | None:
    return settings.provider_mirror


def _stage_lock_file(settings: Settings, ws: Workspace) -> list[str]:
    """The stack's lock file: the team's plus this platform's hashes; a rebuilt one is kept while
    the team's file is unchanged. Returns the providers that got a hash."""
    user = settings.root_module / LOCK_NAME
    staged = ws.module_dir / LOCK_NAME
    marker = ws.root / REBUILT_STAMP
    if not user.is_file():
        return []
    text = user.read_text()
    if marker.is_file() and marker.read_text() == hashlib.sha256(text.encode()).hexdigest():
        return []
    marker.unlink(missing_ok=True)
    fixed, added = with_platform_hashes(text, mirror_dir(settings), _platform())
    staged.write_text(fixed)
    return added


def lock_rebuilt(settings: Settings, ws: Workspace) -> None:
    """After Terraform rejected the staged lock file: drop it (init writes a fresh one) and keep the
    rebuilt one for as long as the team's file stays the same."""
    (ws.module_dir / LOCK_NAME).unlink(missing_ok=True)
    user = settings.root_module / LOCK_NAME
    if user.is_file():
        (ws.root / REBUILT_STAMP).write_text(hashlib.sha256(user.read_bytes()).hexdigest())


def _io_problem(exc: OSError | shutil.Error) -> str:
    if isinstance(exc, shutil.Error):  # copytree: a list of (src, dst, why), one per failed file
        failures = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
        first = failures[0] if failures else ("", "", str(exc))
        return f"{first[2]} ({len(failures)} files could not be copied; first: {first[1]})"
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def prepare(settings: Settings, slug: str, *, tfvars: dict[str, Any], provider: list[dict[str, Any]],
            backend: dict[str, Any], root: RootModule | None = None) -> Workspace:
    """Write the stack's working directory; returns where Terraform should run. A local I/O failure
    (read-only or full disk) raises ``LocalIOError`` naming the directory."""
    ws = locate(settings, slug)
    root = root if root is not None else read_root_module(settings.root_module)
    override = {"provider": {"aws": provider},
                "terraform": {"backend": {"s3": backend_override(root, backend)}}}
    try:
        ws.root.mkdir(parents=True, exist_ok=True)
        os.chmod(ws.root, 0o700)
        rebuilt = (ws.module_dir / LOCK_NAME).read_bytes() if (ws.root / REBUILT_STAMP).is_file() and \
            (ws.module_dir / LOCK_NAME).is_file() else None
        sync_tree(settings, ws)
        if rebuilt is not None:
            (ws.module_dir / LOCK_NAME).write_bytes(rebuilt)  # the copy brought the team's file back
        _stage_lock_file(settings, ws)
        write_private_json(ws.tfvars, tfvars)
        write_private_json(ws.override, override)
    except (OSError, shutil.Error) as exc:
        raise LocalIOError(f"cannot write the working directory of stack {slug} at {ws.root}: "
                           f"{_io_problem(exc)}", path=str(ws.root)) from exc
    except ProvisionerError as exc:  # write_private_json's own OSError translation
        raise LocalIOError(f"cannot write the working directory of stack {slug}: {exc}",
                           path=str(ws.root)) from exc
    return ws


ERRORED_STATE = "errored.tfstate"
RESCUE_DIR = "unsaved-state"


def rescue_state(settings: Settings, ws: Workspace) -> Path | None:
    """Move a state file Terraform left in the working directory (``errored.tfstate``: it could not
    reach the backend at the end of an apply; it holds every value in state, secrets included, in
    plaintext) to ``<state_dir>/unsaved-state/<slug>-<time>.tfstate``, mode 0600 in a 0700
    directory. Returns the new path (None: there was none). No state file stays in a stack directory."""
    found = [p for p in ws.module_dir.glob("*.tfstate*") if p.is_file()] if ws.module_dir.is_dir() else []
    if not found:
        return None
    target_dir = settings.state_dir / RESCUE_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(target_dir, 0o700)
    kept: Path | None = None
    for path in found:
        target = target_dir / f"{ws.root.name}-{int(time.time() * 1000)}-{path.name}"
        os.chmod(path, 0o600)
        shutil.move(str(path), target)
        kept = target if path.name == ERRORED_STATE or kept is None else kept
    return kept


def rescued(settings: Settings, ws: Workspace) -> list[Path]:
    """The state files ``rescue_state`` kept for this stack, oldest first (names hold the time)."""
    target_dir = settings.state_dir / RESCUE_DIR
    if not target_dir.is_dir():
        return []
    name = re.compile(rf"{re.escape(ws.root.name)}-(\d+)-{re.escape(ERRORED_STATE)}")
    found = [(int(m.group(1)), p) for p in target_dir.iterdir() if (m := name.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def recovery_note(path: Path, module_dir: Path) -> str:
    return (f"Terraform could not save its state to the backend; it is kept at {path} (mode 0600, it "
            f"holds secrets): the next spinup or teardown of this stack pushes it to the backend "
            f"first; to push it yourself when the backend answers again: `terraform -chdir="
            f"{module_dir} state push {path}`")


INIT_STAMP = "init.sha256"
REBUILT_STAMP = "lock-rebuilt.sha256"


def init_key(settings: Settings, ws: Workspace) -> str:
    """What ``terraform init`` depends on: the module sources, the backend settings, the engine and
    the provider source. Not the variables or the provider's tags, which change more often."""
    digest = hashlib.sha256()
    for path in sorted(p for p in ws.tree.rglob("*") if p.is_file() and ".terraform" not in p.parts
                       and p.name not in (TFVARS_NAME, OVERRIDE_NAME)):
        # the lock file counts: a changed (or corrupted) one must be seen by init
        digest.update(str(path.relative_to(ws.tree)).encode() + b"\0" + path.read_bytes() + b"\0")
    backend = json.loads(ws.override.read_text())["terraform"]
    engine = settings.engine
    digest.update(json.dumps([backend, engine.command, engine.provider_mirror, engine.plugin_cache],
                             sort_keys=True).encode())
    return digest.hexdigest()


def initialised(settings: Settings, ws: Workspace) -> bool:
    """True when a previous init of this working directory still holds (skip a redundant init)."""
    stamp = ws.root / INIT_STAMP
    providers = ws.module_dir / ".terraform" / "providers"
    if not (stamp.is_file() and (ws.module_dir / ".terraform.lock.hcl").is_file() and providers.is_dir()):
        return False
    if any(not p.exists() for p in providers.rglob("*")):  # a plugin-cache link that points nowhere
        return False
    return stamp.read_text() == init_key(settings, ws)


def mark_initialised(settings: Settings, ws: Workspace) -> None:
    (ws.root / INIT_STAMP).write_text(init_key(settings, ws))


@contextmanager
def init_lock(settings: Settings) -> Iterator[None]:
    """One ``terraform init`` at a time per state directory.

    Terraform's plugin cache is not safe for concurrent writers: parallel inits that find it empty
    all unpack the provider into it, and a run can then see a half-written package ("does not
    match any of the checksums recorded in the dependency lock file"). Inits are short; applies
    and destroys, which only read the cache, still run in parallel."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.state_dir / "init.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def forget_init(ws: Workspace) -> None:
    (ws.root / INIT_STAMP).unlink(missing_ok=True)


def remove(settings: Settings, slug: str) -> None:
    shutil.rmtree(locate(settings, slug).root, ignore_errors=True)
