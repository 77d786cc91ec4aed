"""Throwaway project directories for tests and benchmarks (no pytest import, so bench/ can use it)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEALTH_MARKER = "# ---- health and tests"


def example_health(*, smoke: bool = True) -> str:
    """The example's [health] tables and (``smoke``) its [tests] table, as the repository's
    staging.toml has them."""
    text = (REPO / "staging.toml").read_text()
    end = text.find("# --- staging data")   # the datasets come last and are copied on request only
    section = text[text.index(HEALTH_MARKER):end if end > 0 else None]
    return section if smoke else section[:section.index("\n[tests]\n") + 1]


def example_datasets() -> str:
    """The example's `[data.*]` tables: /staging.toml from its "staging data" section to the end,
    with the paths made absolute (they are relative to the repository)."""
    text = (REPO / "staging.toml").read_text()
    section = text[text.index("# --- staging data"):]
    return section.replace('"modules/stack/', f'"{REPO}/modules/stack/')


def write_project(root: Path, moto_url: str, mirror: Path, *, engine: str = "embedded",
                  extra: str = "", health: str | None = None, smoke: bool = False,
                  data: bool = False) -> Path:
    """A project directory whose staging.toml points at the repo's example stack and the emulator,
    with the example's health checks (``health``: other tables instead; "" none), with ``smoke``
    its smoke suite as well, and with ``data`` the example's datasets (spinup then seeds them).

    The smoke suite is off by default: it is a pytest process after every spinup (~1 CPU-s), and
    the tests that test it (test_health_cli, test_pr_event, test_skip) ask for it."""
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "staging.toml"
    stack = REPO / "modules" / "stack"
    # Names unique per project directory: tests share one emulator, and two tests may both call
    # their project "nightly" (a shared registry would show one test the other's stacks).
    tag = f"{root.name[-20:].lower().replace('_', '-')}-{hashlib.sha1(str(root).encode()).hexdigest()[:7]}"
    cfg.write_text(f"""
[project]
root_module = "{stack}"
baseline = "{stack / 'production.tfvars'}"
overrides = "{stack / 'staging.overrides.toml'}"
state_dir = "{root / '.provisioner'}"

[target]
kind = "local"
endpoint = "{moto_url}"

[backend]
bucket = "it-{tag}-state"

[registry]
table = "it-{tag}-envs"

[engine]
command = "{engine}"
provider_mirror = "{mirror}"
{extra}
{example_health(smoke=smoke) if health is None else health}
{example_datasets() if data else ""}
""")
    return cfg


# The team repository (tests/teamrepo): nested modules, for_each, provider aliases, default_tags,
# committed tfvars and lock files; used by its tests and by bench/bench_skip.py.
TEAM_REPO = REPO / "tests" / "teamrepo"
TEAM_ROOT = Path("environments") / "orders"
TEAM_PRODUCTION_ACCOUNT = "210987654321"   # the account the team's provider assumes a role in


def write_team_config(repo: Path, moto_url: str, mirror: Path, name: str) -> Path:
    """The team repository's ``staging.toml`` (its own tables and bucket per ``name``) in ``repo``."""
    cfg = repo / "staging.toml"
    cfg.write_text(f"""
[project]
root_module = "{TEAM_ROOT}"
module_tree = "."
baseline = "{TEAM_ROOT / 'production.tfvars'}"
overrides = "{TEAM_ROOT / 'staging.overrides.toml'}"
state_dir = ".provisioner"
name_variable = "stack_name"

[target]
kind = "local"
endpoint = "{moto_url}"

[backend]
bucket = "it-team-{name}-state"

[registry]
table = "it-team-{name}-envs"

[engine]
provider_mirror = "{mirror}"

[production]
account_ids = ["{TEAM_PRODUCTION_ACCOUNT}"]
state_buckets = ["acme-prod-tfstate"]
""")
    return cfg


def copy_team_repo(dest: Path) -> Path:
    """A copy of tests/teamrepo at ``dest``, without its local state or config."""
    shutil.copytree(TEAM_REPO, dest, ignore=shutil.ignore_patterns(".provisioner", "staging.toml"))
    return dest
