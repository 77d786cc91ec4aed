"""The override rules: how each one turns a production value into a staging value."""

from __future__ import annotations

import copy
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

from provisioner.domain.difference import UNSET
from provisioner.errors import RenderError
from provisioner.render.model import MAX_TEMPLATE_OUTPUT, ModuleVariable, Override, RenderContext
from provisioner.render.values import is_number, value_kind

_DECIMAL_ROUNDING = MappingProxyType({"ceil": ROUND_CEILING, "floor": ROUND_FLOOR, "round": ROUND_HALF_UP})


def _scale(override: Override, production: Any, declared: ModuleVariable | None,
           context: RenderContext) -> Any:
    if not is_number(production):
        shown = "not set, and the module default is not a number" if production is UNSET \
            else f"a {value_kind(production) or 'null'}"
        raise RenderError(override.source, override.variable, f"scale needs a number; the production "
                                                               f"value is {shown}")
    params = override.params
    result = Decimal(str(production)) * Decimal(str(params["factor"]))
    if "min" in params:
        result = max(result, Decimal(str(params["min"])))
    if "max" in params:
        result = min(result, Decimal(str(params["max"])))
    is_int = isinstance(production, int)
    rounding = params.get("round", "round" if is_int else "none")
    if rounding != "none":
        result = result.quantize(Decimal(1), rounding=_DECIMAL_ROUNDING[rounding])
    if not is_int:
        return float(result)
    if result != result.to_integral_value():
        raise RenderError(override.source, override.variable, f"scaling {production} gives {result}, "
                                                               "not a whole number; set round = "
                                                               "'ceil', 'floor' or 'round'")
    return int(result)


def _set(override: Override, production: Any, declared: ModuleVariable | None,
         context: RenderContext) -> Any:
    return copy.deepcopy(override.params["value"])


def _template(override: Override, production: Any, declared: ModuleVariable | None,
              context: RenderContext) -> Any:
    from jinja2 import TemplateError, UndefinedError
    from jinja2.sandbox import SecurityError

    from provisioner.support.templating import sandbox

    # Everything user-controlled is data in this scope, never template source.
    scope = {"stack": context.stack.slug, "branch": context.stack.branch, "pr": context.pr,
             "owner": context.owner, "production": None if production is UNSET else production}
    where = (override.source, override.variable)
    try:
        text = sandbox().from_string(override.params["template"]).render(scope)
    except SecurityError as exc:
        raise RenderError(*where, f"template did something the sandbox forbids: {exc}") from exc
    except UndefinedError as exc:
        raise RenderError(*where, f"template uses an undefined name: {exc.message}; in scope are "
                                  f"{', '.join(sorted(scope))}") from exc
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderError(*where, f"template failed: {exc}") from exc
    if len(text) > MAX_TEMPLATE_OUTPUT:
        raise RenderError(*where, f"template output is {len(text)} characters; the limit is "
                                  f"{MAX_TEMPLATE_OUTPUT}")
    return text


def _drop(override: Override, production: Any, declared: ModuleVariable | None,
          context: RenderContext) -> Any:
    if declared is None or not declared.has_default:
        raise RenderError(override.source, override.variable, "drop needs a module default, and the root "
                                                               "module declares none: Terraform would "
                                                               "have no value")
    return UNSET


def _merge(override: Override, production: Any, declared: ModuleVariable | None,
           context: RenderContext) -> Any:
    from provisioner.render.paths import deep_merge

    if not isinstance(production, dict):
        shown = "not set" if production is UNSET else f"a {value_kind(production) or 'null'}"
        raise RenderError(override.source, override.variable, f"merge needs an object; the production "
                                                               f"value is {shown}")
    return deep_merge(production, override.params["value"])


RULES = MappingProxyType({"scale": _scale, "set": _set, "template": _template, "drop": _drop,
                          "merge": _merge})
