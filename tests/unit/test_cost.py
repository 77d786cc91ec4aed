"""Cost view from the example baseline and its staging render."""

from __future__ import annotations

import pytest

from provisioner.render import cost

PROD = {"app_desired_count": 12, "app_cpu": 2048, "app_memory": 4096, "table_billing_mode": "PROVISIONED",
        "table_read_capacity": 400, "table_write_capacity": 200, "create_load_balancer": True, "az_count": 3}
STAGING = {**PROD, "app_desired_count": 2, "app_cpu": 512, "app_memory": 1024, "table_read_capacity": 10,
           "table_write_capacity": 5, "create_load_balancer": False, "az_count": 2}


def test_estimate_lines():
    est = cost.estimate(PROD, cost.DEFAULT_PRICES)
    by = {line.item: line for line in est.lines}
    assert by["fargate vCPU"].quantity == 24 and by["fargate memory GB"].quantity == 48
    assert by["dynamodb RCU"].quantity == 400 and by["load balancer"].quantity == 1
    assert est.hourly == pytest.approx(24 * 0.04048 + 48 * 0.004445 + 400 * 0.00013 + 200 * 0.00065 + 0.0225)


def test_view_scale_and_saving():
    view = cost.cost_view(PROD, STAGING)
    scale = {c.variable: c for c in view.scale}
    assert scale["app_desired_count"].ratio == pytest.approx(2 / 12)
    assert scale["create_load_balancer"].staging is False
    assert "load balancer" not in {line.item for line in view.staging.lines}
    assert 0.9 < view.saving_ratio < 1
    data = view.to_json()
    assert set(data) == {"scale", "production", "staging", "saving_ratio"}
    assert any("less" in line for line in cost.format_view(view))


def test_pay_per_request_has_no_capacity_cost():
    est = cost.estimate({**STAGING, "table_billing_mode": "PAY_PER_REQUEST"}, cost.DEFAULT_PRICES)
    assert not any(line.item.startswith("dynamodb") for line in est.lines)


def test_config_prices_override_and_extend():
    extra = {"fargate_vcpu_hour": 1.0, "nat_gateway_hour": 0.05, "bastion_count": 0.01}
    view = cost.cost_view({**PROD, "create_nat_gateway": True, "bastion_count": 3},
                          {**STAGING, "create_nat_gateway": False, "bastion_count": 1}, extra)
    prod = {line.item: line for line in view.production.lines}
    assert prod["fargate vCPU"].unit_price == 1.0
    assert prod["NAT gateway"].hourly == pytest.approx(0.05)
    assert prod["bastion_count"].hourly == pytest.approx(0.03)
    assert "bastion_count" in {c.variable for c in view.scale}
