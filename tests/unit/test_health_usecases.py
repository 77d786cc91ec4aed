"""The pure decisions of the health use cases: what a round of checks does to the record's status,
when spinup's gate raises, and which findings become report items of the nightly cleanup."""

from __future__ import annotations

import pytest

from provisioner.domain.record import Record
from provisioner.errors import EXIT_FAILURE, HealthFailed
from provisioner.health import CheckResult, HealthReport, TestRun
from provisioner.usecases.audit_report import Findings, with_findings
from provisioner.usecases.cleanup import REPORT, TEARDOWN, Item, Plan
from provisioner.usecases.drift import StackDrift
from provisioner.usecases.health import Verified, gate, stamped

PASS = HealthReport((CheckResult("queue", "sqs_queue", True, "reachable", 0.1, 1),))
FAIL = HealthReport((CheckResult("queue", "sqs_queue", True, "reachable", 0.1, 1),
                     CheckResult("web", "http", False, "HTTP 500 (expected 200)", 0.2, 3)))
TESTS_OK = TestRun("pytest smoke/", 0, 1.0, "4 passed", 8, False, None)
TESTS_BAD = TestRun("pytest smoke/", 1, 1.0, "1 failed", 8, False, None)


def rec(status: str = "ready", **kw) -> Record:
    return Record(slug="shop-1234567", branch="shop", status=status, **kw)


@pytest.mark.parametrize(("found", "before", "after"), [
    (Verified(PASS, TESTS_OK), "ready", "ready"),
    (Verified(FAIL, None), "ready", "unhealthy"),
    (Verified(PASS, TESTS_BAD), "ready", "unhealthy"),
    (Verified(PASS, TESTS_OK), "unhealthy", "ready"),          # fixed: ready again
    (Verified(FAIL, None), "failed", "failed"),                # an apply that failed stays failed
    (Verified(HealthReport(()), None), "ready", "ready"),      # nothing configured: unchecked, ready
])
def test_stamped_status(found, before, after):
    out = stamped(found, rec(before))
    assert out.status == after
    assert out.health["status"] == found.health.status and out.health["checked_at"] > 0


def test_a_health_run_without_tests_keeps_the_last_test_result():
    earlier = rec(tests=TESTS_BAD.to_json())
    out = stamped(Verified(PASS, None), earlier)
    assert out.tests == TESTS_BAD.to_json() and out.status == "unhealthy"


def test_gate_raises_exit_1_naming_each_failed_check_unless_off():
    found = Verified(FAIL, None)
    unhealthy = stamped(found, rec())
    with pytest.raises(HealthFailed) as err:
        gate(found, unhealthy, enabled=True)
    assert err.value.exit_code == EXIT_FAILURE
    assert "health check web failed: HTTP 500 (expected 200)" in str(err.value)
    assert "kept for debugging" in str(err.value)
    gate(found, unhealthy, enabled=False)
    gate(Verified(PASS, TESTS_OK), stamped(Verified(PASS, TESTS_OK), rec()), enabled=True)


def test_findings_become_report_items_never_teardowns():
    kept = rec()
    plan = Plan((Item("old-7654321", "old", TEARDOWN, "expired"),))
    drifted = StackDrift(kept.slug, kept.branch, drifted=({"address": "aws_sqs_queue.jobs"},),
                         config_drift={"drifted": False})
    found = Findings(records=(kept,), health={kept.slug: FAIL}, drift={kept.slug: drifted})
    items = with_findings(plan, found).items
    assert items[0].action == TEARDOWN
    reasons = [(i.action, i.reason) for i in items[1:]]
    assert reasons == [(REPORT, "health failing: web (HTTP 500 (expected 200))"),
                       (REPORT, "drift: 1 resource changed outside Terraform")]
    clean = Findings(records=(kept,), health={kept.slug: PASS},
                     drift={kept.slug: StackDrift(kept.slug, kept.branch)})
    assert with_findings(plan, clean).items == plan.items


def test_stack_drift_counts_config_drift_too():
    assert not StackDrift("a", "b").any_drift
    assert StackDrift("a", "b", config_drift={"drifted": True, "changed": ["app_cpu"]}).any_drift
    assert StackDrift("a", "b", drifted=({"address": "x"},)).to_json()["drifted"] == [{"address": "x"}]
