"""Cost view: how far a staging stack is scaled down from production, and an hourly estimate.

Pure functions over two variable dicts (production baseline, rendered staging tfvars) and a price
table. The default prices are rough us-east-1 on-demand list prices in USD; the config's
``[cost.prices]`` replaces any of them, and any other key there names a root module variable
priced per unit-hour (a number counts that many units, ``true`` one, ``false`` none), e.g.
``bastion_count = 0.01``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_PRICES: dict[str, float] = {
    "fargate_vcpu_hour": 0.04048,
    "fargate_gb_hour": 0.004445,
    "dynamodb_rcu_hour": 0.00013,
    "dynamodb_wcu_hour": 0.00065,
    "load_balancer_hour": 0.0225,
    "nat_gateway_hour": 0.045,
}

# The variables of the example stack that size it (count, cpu/memory, capacities, switches).
SIZING = ("app_desired_count", "app_cpu", "app_memory", "table_read_capacity", "table_write_capacity",
          "az_count", "create_load_balancer", "create_nat_gateway", "nat_gateway_count")


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float
    unit_price: float

    @property
    def hourly(self) -> float:
        return self.quantity * self.unit_price

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "hourly": round(self.hourly, 6)}


@dataclass(frozen=True)
class Estimate:
    lines: tuple[Line, ...]

    @property
    def hourly(self) -> float:
        return sum(line.hourly for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {"hourly": round(self.hourly, 6), "lines": [line.to_json() for line in self.lines]}


@dataclass(frozen=True)
class ScaleChange:
    variable: str
    production: Any
    staging: Any

    @property
    def ratio(self) -> float | None:
        p, s = _number(self.production), _number(self.staging)
        return None if p in (None, 0) or s is None else s / p

    def to_json(self) -> dict[str, Any]:
        r = self.ratio
        return {**asdict(self), "ratio": None if r is None else round(r, 4)}


@dataclass(frozen=True)
class CostView:
    scale: tuple[ScaleChange, ...]
    production: Estimate
    staging: Estimate

    @property
    def saving_ratio(self) -> float | None:
        p = self.production.hourly
        return None if p == 0 else 1 - self.staging.hourly / p

    def to_json(self) -> dict[str, Any]:
        s = self.saving_ratio
        return {"scale": [c.to_json() for c in self.scale], "production": self.production.to_json(),
                "staging": self.staging.to_json(), "saving_ratio": None if s is None else round(s, 4)}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value) if isinstance(value, int | float) else None


def prices(extra: Mapping[str, float] | None = None) -> dict[str, float]:
    return {**DEFAULT_PRICES, **(extra or {})}


def estimate(values: Mapping[str, Any], price: Mapping[str, float]) -> Estimate:
    """Hourly estimate of one variable set (missing variables count as zero)."""
    def num(name: str, default: float = 0.0) -> float:
        n = _number(values.get(name))
        return default if n is None else n

    tasks = num("app_desired_count")
    lines = [Line("fargate vCPU", tasks * num("app_cpu") / 1024, price["fargate_vcpu_hour"]),
             Line("fargate memory GB", tasks * num("app_memory") / 1024, price["fargate_gb_hour"])]
    if str(values.get("table_billing_mode", "PROVISIONED")).upper() == "PROVISIONED":
        lines += [Line("dynamodb RCU", num("table_read_capacity"), price["dynamodb_rcu_hour"]),
                  Line("dynamodb WCU", num("table_write_capacity"), price["dynamodb_wcu_hour"])]
    if num("create_load_balancer"):
        lines.append(Line("load balancer", 1, price["load_balancer_hour"]))
    nat = num("nat_gateway_count", num("create_nat_gateway"))
    if nat:
        lines.append(Line("NAT gateway", nat, price["nat_gateway_hour"]))
    for name, unit in price.items():
        if name not in DEFAULT_PRICES and name not in ("nat_gateway_count", "create_nat_gateway") \
                and num(name):
            lines.append(Line(name, num(name), unit))
    return Estimate(tuple(line for line in lines if line.quantity))


def cost_view(production: Mapping[str, Any], staging: Mapping[str, Any],
              extra_prices: Mapping[str, float] | None = None) -> CostView:
    """Scale-down of every sizing variable, and both hourly estimates."""
    price = prices(extra_prices)
    names = [n for n in (*SIZING, *(k for k in price if k not in DEFAULT_PRICES))
             if n in production or n in staging]
    scale = tuple(ScaleChange(n, production.get(n), staging.get(n)) for n in dict.fromkeys(names))
    return CostView(scale, estimate(production, price), estimate(staging, price))


def format_view(view: CostView) -> list[str]:
    """Human lines for `status` (and the board)."""
    lines = []
    for c in view.scale:
        ratio = f"  (x{c.ratio:.3g})" if c.ratio is not None and c.ratio != 1 else ""
        lines.append(f"  {c.variable:<22} {c.production!s:>8} -> {c.staging!s:<8}{ratio}")
    saving = view.saving_ratio
    lines.append(f"  estimate: ${view.staging.hourly:.4f}/h staging vs ${view.production.hourly:.4f}/h "
                 f"production" + (f" ({saving:.0%} less)" if saving is not None else ""))
    return lines


def for_rendered(settings: Any, rendered: Any) -> CostView:
    """The cost view of one rendered stack against the configured production baseline."""
    return for_tfvars(settings, rendered.tfvars)


def for_tfvars(settings: Any, tfvars: Mapping[str, Any]) -> CostView:
    from provisioner.render.baseline import load_baseline

    baseline = load_baseline(str(settings.path(settings.project.baseline)))
    return cost_view(baseline.values, tfvars, settings.cost.prices)


def summary(view: CostView) -> str:
    """One line: the staging estimate against production (for the PR comment)."""
    return format_view(view)[-1].strip()
