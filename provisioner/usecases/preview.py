"""What a stack would get, computed offline: the rendered variables, the differences from
production, the inputs digest and the cost view. Reads files only: no AWS, no emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provisioner.config import Settings
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.errors import ProvisionerError
from provisioner.render import cost
from provisioner.render.baseline import load_baseline
from provisioner.render.core import inputs_digest, render
from provisioner.render.model import Guards, RenderContext, Rendered
from provisioner.render.modulevars import module_variables
from provisioner.render.overrides import load_overrides
from provisioner.render.varfiles import layered, variable_files
from provisioner.terraform.providers import check_user_tags
from provisioner.terraform.rootmodule import RootModule, read_root_module
from provisioner.usecases.stacks import StackRequest, default_owner, stack_of


@dataclass(frozen=True)
class StackInputs:
    """What every stack's render reads from the project's files, the same for all its stacks: read
    once for many renders (the board renders every live stack; the root module's HCL alone is most
    of a render)."""

    root: RootModule
    overrides: Any
    module_vars: Any
    files: Any
    baseline: Any
    origins: Any
    production: Any   # the baseline file alone (the cost view compares with it)


def read_inputs(settings: Settings) -> StackInputs:
    s = settings
    root = read_root_module(s.root_module)
    check_user_tags(root)
    overrides = load_overrides(str(s.path(s.project.overrides)))
    module_vars = module_variables(str(s.root_module))
    files = variable_files(s.root_module, s.path(s.project.baseline))
    production = load_baseline(str(s.path(s.project.baseline)))
    baseline, origins = layered(production, files, module_vars)
    return StackInputs(root, overrides, module_vars, files, baseline, origins, production)


def render_stack(settings: Settings, stack: StackId, pr: int | None, owner: str,
                 inputs: StackInputs | None = None) -> Rendered:
    """Baseline + overrides -> Rendered, for this stack (from ``inputs`` if given, else read now)."""
    s = settings
    i = inputs or read_inputs(settings)
    root, overrides, module_vars, files, baseline, origins = (i.root, i.overrides, i.module_vars, i.files,
                                                              i.baseline, i.origins)
    ctx = RenderContext(stack=stack, pr=pr, owner=owner)
    injected = {s.project.name_variable: (stack.slug, "stack name derived from the branch")}
    guards = Guards(identifiers=s.production.forbidden, secrets=s.secrets, source=s.source)
    rendered = render(baseline, overrides, module_vars, ctx, injected=injected, guards=guards)
    if root.workspace_files:
        names = ", ".join(Path(f).name for f in root.workspace_files)
        note = (f"{names} read terraform.workspace: this stack runs in workspace {stack.slug!r} (never "
                "'default'), so names built from it differ from production's and between stacks")
        rendered = replace(rendered, notes=(note,))
    if not files:
        return rendered
    return replace(rendered, differences=tuple(replace(d, origin=origins.get(_head(d.variable), "")) if
                                               d.rule != "injected" else d for d in rendered.differences))


def _head(path: str) -> str:
    """The variable a key path (``table.read_capacity``, ``queues["x"]``) starts with."""
    return path.split(".", 1)[0].split("[", 1)[0]


def check_handed(settings: Settings, endpoint: str | None, stack: StackId, pr: int | None,
                 owner: str) -> None:
    """Refuse (exit 2) a production identifier in what the tool hands Terraform besides the
    variables: the default tags (branch, owner, PR), the provider settings, the backend settings."""
    from provisioner.domain.tags import default_tags
    from provisioner.render.guards import check_handed as scan
    from provisioner.state import backend
    from provisioner.terraform import workspace

    guards = Guards(identifiers=settings.production.forbidden, secrets=settings.secrets,
                    source=settings.source)
    providers, _notes = workspace.provider_block(settings, {}, endpoint)
    settings_only = [{k: v for k, v in block.items() if k != "default_tags"} for block in providers]
    scan({"provider default_tags": default_tags(stack, pr=pr, owner=owner, expires_at=None),
          "provider settings": settings_only,
          "backend settings": backend.backend_block(settings, backend.location(settings, stack.slug),
                                                    endpoint)}, guards)


def preview(settings: Settings, req: StackRequest) -> tuple[StackId, Rendered]:
    """The stack a request names and what it would be rendered as (``render``, ``diff``)."""
    stack = stack_of(settings, req)
    return stack, render_stack(settings, stack, req.pr, req.owner or default_owner())


def current_digest(settings: Settings) -> str:
    """The digest of today's baseline and overrides: a record with another one has config drift."""
    s = settings
    files = variable_files(s.root_module, s.path(s.project.baseline))
    baseline = load_baseline(str(s.path(s.project.baseline)))
    if files:
        baseline = layered(baseline, files, module_variables(str(s.root_module)))[0]
    return inputs_digest(baseline, load_overrides(str(s.path(s.project.overrides))))


def cost_of(settings: Settings, branch: str, rec: Record | None) -> cost.CostView:
    """The scale-down view of a branch's stack (rendered again, as it would be applied now)."""
    req = StackRequest(branch=branch, pr=rec.pr if rec else None, owner=rec.owner if rec else None)
    return cost.for_rendered(settings, preview(settings, req)[1])


def details(settings: Settings, rec: Record, inputs: StackInputs | None = None) -> dict[str, Any]:
    """Differences from production and the cost view of one environment (the status board)."""
    req = StackRequest(branch=rec.branch, pr=rec.pr, owner=rec.owner or None)
    try:
        stack = stack_of(settings, req)
        rendered = render_stack(settings, stack, req.pr, req.owner or default_owner(), inputs)
    except ProvisionerError as exc:
        return {"differences": [], "differences_error": str(exc)[:500], "cost": None}
    view = cost.cost_view(inputs.production.values, rendered.tfvars, settings.cost.prices) if inputs \
        else cost.for_rendered(settings, rendered)
    return {"differences": [d.to_json() for d in rendered.differences], "cost": view.to_json()}


def details_of_many(settings: Settings) -> Callable[[Record], dict[str, Any]]:
    """``details`` for many records, the project's files read once (now): a board of 1,000 stacks
    read and parsed them 1,000 times."""
    try:
        inputs = read_inputs(settings)
    except ProvisionerError as exc:
        problem = str(exc)[:500]
        return lambda _rec: {"differences": [], "differences_error": problem, "cost": None}
    return lambda rec: details(settings, rec, inputs)
