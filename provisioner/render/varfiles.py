"""The variable files Terraform loads by itself from the root module, as layers under the baseline.

Terraform reads ``terraform.tfvars``, ``terraform.tfvars.json`` and then every ``*.auto.tfvars`` /
``*.auto.tfvars.json`` in lexical order, later files winning; the production baseline (given with
``-var-file`` in production) wins over all of them. The stack's copy of the module tree leaves these
files out, and the render stages the merged result, so what ``render`` prints is what Terraform
gets, ``drop`` really falls back to the module default, and the production identifier scan and the
``@production-only`` markers see every value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from provisioner.render.baseline import load_baseline
from provisioner.render.model import Baseline, ModuleVariable


def variable_files(root_module: str | os.PathLike, baseline_path: str | os.PathLike) -> list[Path]:
    """The files Terraform would load from ``root_module``, in its order, without the baseline."""
    directory = Path(root_module)
    fixed = [directory / "terraform.tfvars", directory / "terraform.tfvars.json"]
    auto = sorted(p for p in directory.iterdir() if p.is_file() and
                  (p.name.endswith(".auto.tfvars") or p.name.endswith(".auto.tfvars.json")))
    baseline = Path(baseline_path).resolve()
    return [p for p in [*fixed, *auto] if p.is_file() and p.resolve() != baseline]


def layered(baseline: Baseline, files: list[Path], module_vars: Mapping[str, ModuleVariable]
            ) -> tuple[Baseline, dict[str, str]]:
    """The baseline with the files' values beneath it, and the file each value came from.

    Values for variables the root module does not declare are left out, as Terraform ignores them
    (with a warning)."""
    values: dict = {}
    markers: dict[str, str] = {}
    origins: dict[str, str] = {}
    for path in files:
        layer = load_baseline(path)
        for name, value in layer.values.items():
            if name in module_vars:
                values[name] = value
                origins[name] = str(path)
        markers.update({k: v for k, v in layer.production_only.items() if k in module_vars})
    for name, value in baseline.values.items():
        values[name] = value
        origins[name] = baseline.path
        if name in markers and name not in baseline.production_only:
            markers.pop(name)  # the baseline's own value replaced the marked one
    return replace(baseline, values=values, production_only={**markers, **baseline.production_only}), origins
