"""The check runner with fake probes (same interface as the real ones): retry budgets, timeouts,
skipped optional checks, the overall status, parallel runs, and template rendering."""

from __future__ import annotations

import threading
import time

import pytest

from provisioner.config.health import HttpCheck, SqsQueueCheck, TcpCheck
from provisioner.health import HealthReport, StackContext, parse_health, run_checks
from provisioner.health.checks import Unrenderable, render_fields
from provisioner.health.model import CheckResult, Outcome
from provisioner.health.probes import split_address

CTX = StackContext(slug="login-3f1c2ab", branch="feature/login", pr=7,
                   outputs={"host": "127.0.0.1", "port": 5432, "lb": None, "queue_url": "http://q/1"})


def spec(**tables):
    return parse_health({"checks": tables}, "staging.toml")


class Script:
    """A fake probe answering from a list of outcomes, recording each call."""

    def __init__(self, *outcomes: Outcome | Exception | float) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[dict[str, str]] = []

    def __call__(self, check, fields, env):
        self.calls.append(dict(fields))
        item = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, float):
            time.sleep(item)
            return Outcome(True, "late")
        return item


def test_retries_until_the_probe_passes_within_budget():
    probe = Script(Outcome(False, "refused"), Outcome(False, "refused"), Outcome(True, "fine"))
    waits: list[float] = []
    report = run_checks(spec(db={"kind": "tcp", "address": "{{ outputs.host }}:{{ outputs.port }}",
                                 "attempts": 4, "wait": "3s"}), CTX, probes={TcpCheck: probe},
                        sleep=waits.append)
    (result,) = report.checks
    assert result.ok is True and result.attempts == 3 and result.detail == "fine"
    assert waits == [3.0, 3.0]
    assert probe.calls[0] == {"address": "127.0.0.1:5432"}
    assert report.status == "passing"


def test_budget_exhausted_reports_the_last_failure():
    probe = Script(Outcome(False, "HTTP 500, expected 200"))
    report = run_checks(spec(web={"kind": "http", "url": "http://x/", "attempts": 2, "wait": 0}), CTX,
                        probes={HttpCheck: probe}, sleep=lambda s: None)
    (result,) = report.checks
    assert result.ok is False and result.attempts == 2
    assert result.detail == "HTTP 500, expected 200 (after 2 attempts)"
    assert report.status == "failing" and report.failed == (result,)


def test_an_exception_is_a_failed_attempt_with_its_reason():
    probe = Script(ConnectionResetError("peer reset"))
    (result,) = run_checks(spec(q={"kind": "sqs_queue", "queue_url": "{{ outputs.queue_url }}",
                                   "attempts": 1}), CTX, probes={SqsQueueCheck: probe}).checks
    assert result.ok is False and result.detail == "ConnectionResetError: peer reset"


def test_an_attempt_that_hangs_costs_one_timeout():
    probe = Script(5.0)
    started = time.monotonic()
    (result,) = run_checks(spec(db={"kind": "tcp", "address": "h:1", "timeout": 0.2, "attempts": 1}), CTX,
                           probes={TcpCheck: probe}).checks
    assert time.monotonic() - started < 2
    assert result.ok is False and "no answer within 0.2s" in result.detail


def test_optional_check_on_a_null_output_is_skipped_not_failed():
    probe = Script(Outcome(True, "never called"))
    report = run_checks(spec(web={"kind": "http", "url": "http://{{ outputs.lb }}/", "optional": True}), CTX,
                        probes={HttpCheck: probe})
    (result,) = report.checks
    assert result.ok is None and result.detail.startswith("skipped: url:") and result.attempts == 0
    assert probe.calls == [] and report.status == "unchecked"


def test_required_check_on_a_missing_output_fails_without_retrying():
    probe = Script(Outcome(True, "never called"))
    (result,) = run_checks(spec(web={"kind": "http", "url": "{{ outputs.nope }}", "attempts": 5}), CTX,
                           probes={HttpCheck: probe}).checks
    assert result.ok is False and "nope" in result.detail and probe.calls == []


def test_checks_run_in_parallel_and_keep_config_order():
    barrier = threading.Barrier(3, timeout=5)

    def together(check, fields, env):
        barrier.wait()  # only passes when all three probes run at the same time
        return Outcome(True, fields["address"])

    tables = {n: {"kind": "tcp", "address": f"h:{i + 1}", "attempts": 1} for i, n in enumerate("cab")}
    report = run_checks(spec(**tables), CTX, probes={TcpCheck: together})
    assert [c.name for c in report.checks] == ["c", "a", "b"]
    assert [c.detail for c in report.checks] == ["h:1", "h:2", "h:3"]


def test_templates_see_stack_branch_pr_and_are_sandboxed():
    url = "https://{{ stack }}.x/{{ pr }}?b={{ branch | urlencode }}"
    check = spec(web={"kind": "http", "url": url}).checks[0]
    assert render_fields(check, CTX) == {"url": "https://login-3f1c2ab.x/7?b=feature/login"}
    evil = spec(web={"kind": "http", "url": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}).checks[0]
    with pytest.raises(Unrenderable) as err:
        render_fields(evil, CTX)
    assert not err.value.undefined


def test_status_and_json_shape():
    passed = CheckResult("a", "tcp", True, "ok", 0.1234, 1)
    skipped = CheckResult("b", "http", None, "skipped", 0.0, 0)
    failed = CheckResult("c", "s3_bucket", False, "NoSuchBucket", 1.0, 3)
    assert HealthReport(()).status == "unchecked"
    assert HealthReport((passed, skipped)).status == "passing"
    assert HealthReport((passed, skipped, failed)).status == "failing"
    data = HealthReport((passed, failed)).to_json()
    assert data["status"] == "failing"
    assert [{k: c[k] for k in ("name", "ok", "detail")} for c in data["checks"]] == [
        {"name": "a", "ok": True, "detail": "ok"}, {"name": "c", "ok": False, "detail": "NoSuchBucket"}]
    assert data["checks"][0]["duration"] == 0.123


@pytest.mark.parametrize(("text", "expected"), [
    ("db.internal:5432", ("db.internal", 5432)), ("[::1]:8080", ("::1", 8080)),
    (" 10.0.0.1:1 ", ("10.0.0.1", 1))])
def test_split_address(text, expected):
    assert split_address(text) == expected


@pytest.mark.parametrize("text", ["db.internal", ":5432", "h:0", "h:70000", "h:http"])
def test_split_address_refuses(text):
    with pytest.raises(ValueError):
        split_address(text)


def test_a_template_that_uses_a_sensitive_output_fails_the_check():
    ctx = StackContext(slug="login-3f1c2ab", branch="feature/login", outputs={"token": "(sensitive)",
                                                                               "host": "h"})
    check = spec(web={"kind": "http", "url": "http://{{ outputs.host }}/?t={{ outputs.token }}"}).checks[0]
    with pytest.raises(Unrenderable, match="sensitive output") as err:
        render_fields(check, ctx)
    assert not err.value.undefined          # failed, not skipped
    (result,) = run_checks(spec(web={"kind": "http", "url": "http://{{ outputs.token }}", "optional": True}),
                           ctx).checks
    assert result.ok is False and "sensitive output" in result.detail
