"""The one place that builds Jinja2 environments.

Every environment is sandboxed with ``StrictUndefined``: template *source*
comes from our ``templates/`` directory or from a team's overrides file, and
values that strangers control (branch names, PR titles, owners) are only ever
passed in as data, never concatenated into template source.

``sandbox()`` is for short template strings taken from config or overrides;
``render_template(name, **ctx)`` renders a file from the templates directory
(``templates/`` next to the package, or ``$PROVISIONER_TEMPLATES``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from provisioner.errors import ProvisionerError

TEMPLATES_ENV = "PROVISIONER_TEMPLATES"

# Bounds on what one template expression may build: `{{ 'x' * 10**9 }}` would
# otherwise allocate a gigabyte before any output limit could refuse it.
MAX_REPEAT = 100_000
MAX_EXPONENT = 1_000


class _BoundedSandbox(SandboxedEnvironment):
    """A sandbox that also refuses huge repetitions and powers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_number(right) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
        if operator == "*" and _repeat_count(left, right) > MAX_REPEAT:
            raise SecurityError(f"repetition longer than {MAX_REPEAT} items")
        return super().call_binop(context, operator, left, right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _repeat_count(left: Any, right: Any) -> int:
    """Length of ``left * right`` when it repeats a sequence, else 0."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            return len(seq) * max(times, 0)
    return 0


def sandbox(**options: Any) -> SandboxedEnvironment:
    """A sandboxed environment for template strings (StrictUndefined, no autoescape)."""
    return _BoundedSandbox(undefined=StrictUndefined, autoescape=False, **options)


def templates_dir() -> Path:
    """Where template files live: ``$PROVISIONER_TEMPLATES`` or ``templates/`` beside the package."""
    override = os.environ.get(TEMPLATES_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "templates"


def _render_file(name: str, ctx: dict[str, Any], **options: Any) -> str:
    directory = templates_dir()
    env = _BoundedSandbox(undefined=StrictUndefined, loader=FileSystemLoader(str(directory)),
                          trim_blocks=True, lstrip_blocks=True, **options)
    try:
        template = env.get_template(name)
    except TemplateNotFound as exc:
        raise ProvisionerError(f"template {name!r} not found in {directory}", template=name,
                               directory=str(directory)) from exc
    return template.render(**ctx)


def render_template(name: str, **ctx: Any) -> str:
    """Render the template file ``name`` from the templates directory with ``ctx`` as data."""
    return _render_file(name, ctx, autoescape=False, keep_trailing_newline=True)


def render_html(name: str, **ctx: Any) -> str:
    """Render an HTML template file with autoescaping on (sandboxed, StrictUndefined)."""
    return _render_file(name, ctx, autoescape=True)
