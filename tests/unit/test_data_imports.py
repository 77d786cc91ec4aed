"""provisioner.data stands alone: it imports only `errors` and `aws` from the rest of the package
(so the restructure can move everything else), each module imports on its own, and the core
neither prints nor exits."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "provisioner" / "data"
MODULES = sorted(PACKAGE.rglob("*.py"))
ALLOWED = {"provisioner.errors", "provisioner.aws.clients", "provisioner.aws.errors"}


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    here = _module(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            out.add(".".join(base + ([node.module] if node.module else [])))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_only_errors_and_aws_from_the_rest_of_the_package(path):
    for name in _imports(path):
        if name.startswith("provisioner") and not name.startswith("provisioner.data"):
            assert name in ALLOWED, f"{path.name} imports {name}"


def _entry_point(node: ast.AST) -> bool:
    """`if __name__ == "__main__":` - a process entry point (the spool worker), not the core."""
    return isinstance(node, ast.If) and isinstance(node.test, ast.Compare) \
        and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_print_or_exit_in_the_core(path):
    tree = ast.parse(path.read_text())
    tree.body = [n for n in tree.body if not _entry_point(n)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            assert name not in ("print", "exit", "input"), f"{path.name}:{node.lineno} calls {name}"


def test_one_module_imports_the_aws_factory():
    """The restructure moves provisioner/aws.py: one line (`_aws.py`) follows it."""
    users = [p.name for p in MODULES if any(n.startswith("provisioner.aws") for n in _imports(p))]
    assert users == ["_aws.py"]


def test_each_module_imports_alone():
    for path in MODULES:
        proc = subprocess.run([sys.executable, "-c", f"import {_module(path)}"], capture_output=True,
                              text=True)
        assert proc.returncode == 0, f"{_module(path)}: {proc.stderr[-500:]}"
