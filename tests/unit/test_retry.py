"""Unit tests for provisioner.retry: no Terraform, no AWS.

Failures come from saved real runs: ``fixtures/terraform/`` (lock, precondition, init errors...)
and ``fixtures/retry/`` (applies against moto behind tests/faultproxy.py that throttles or 503s;
see its capture.py), turned into ``TerraformError`` by the engine's own ``_check``.
``FakeEngine`` is a real class implementing the Engine protocol, not a patch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provisioner import config
from provisioner.aws.clients import Aws
from provisioner.config.policies import policies_from_settings
from provisioner.config.retry import (
    DEFAULT_TERRAFORM_PATTERNS,
    LOCK_PATTERN,
    AwsRetry,
    TerraformRetry,
    aws_retry_config,
)
from provisioner.errors import ConfigError, Diagnostic, TerraformError
from provisioner.terraform import engines as engine
from provisioner.terraform.events import ResourceEvent, RunResult
from provisioner.terraform.locks import LockInfo, parse_lock_info, recover_lock
from provisioner.terraform.retrying import RetryingEngine, RetryNotice, transient_match

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def saved_error(group: str, name: str) -> TerraformError:
    """The TerraformError the engine raises for a saved real run."""
    manifest = json.loads((FIXTURES / group / "manifest.json").read_text())[name]
    path = next((FIXTURES / group).glob(f"{name}.*"))
    lines = tuple(path.read_text().splitlines())
    captured = engine._Captured(lines, manifest["stderr"], manifest["retcode"])
    with pytest.raises(TerraformError) as info:
        engine._check(manifest["argv"][0], "/work/stack", captured)
    return info.value


NO_LOCK_TIMEOUT = TerraformRetry()
LOCK_TIMEOUT = TerraformRetry(lock_timeout_configured=True)

# (group, saved run, policy, the pattern that must match or None: never retried)
CLASSIFICATION = [
    ("retry", "apply_throttled_ssm", NO_LOCK_TIMEOUT, r"Throttling(Exception)?\b"),
    ("retry", "apply_request_limit_ec2", NO_LOCK_TIMEOUT, "RequestLimitExceeded"),
    ("retry", "apply_slowdown_s3", NO_LOCK_TIMEOUT, "SlowDown"),
    ("retry", "apply_unavailable_sts", NO_LOCK_TIMEOUT, "ServiceUnavailable(Exception)?"),
    ("terraform", "plan_lock_error", NO_LOCK_TIMEOUT, None),
    ("terraform", "plan_lock_error", LOCK_TIMEOUT, LOCK_PATTERN),
    ("terraform", "apply_precondition_error", LOCK_TIMEOUT, None),
    ("terraform", "apply_provisioner_error", LOCK_TIMEOUT, None),
    ("terraform", "init_error", LOCK_TIMEOUT, None),
    ("terraform", "init_backend_error", LOCK_TIMEOUT, None),
    ("terraform", "state_list_no_state", LOCK_TIMEOUT, None),
    ("terraform", "force_unlock_local", LOCK_TIMEOUT, None),
]


@pytest.mark.parametrize("group,name,policy,expected", CLASSIFICATION,
                         ids=[f"{c[1]}-{c[2].lock_timeout_configured}" for c in CLASSIFICATION])
def test_classification_of_saved_real_failures(group, name, policy, expected):
    assert transient_match(saved_error(group, name), policy) == expected


# Message shapes of errors we cannot provoke against moto (a network or a server fault inside AWS),
# in the forms the AWS SDKs for Go print them.
TEXTS = [
    ('read tcp 10.0.0.5:41234->52.94.1.1:443: read: connection reset by peer', True),
    ("dial tcp 52.94.1.1:443: i/o timeout", True),
    ("net/http: TLS handshake timeout", True),
    ("InternalError: We encountered an internal error. Please try again.\n\tstatus code: 500", True),
    ("operation error S3: PutObject, https response error StatusCode: 503, RequestID: X", True),
    ("Throttling: Rate exceeded\n\tstatus code: 400", True),
    ("InvalidParameterValue: Value (x) for parameter cidrBlock is invalid", False),
    ("Error: Reference to undeclared resource", False),
    ("AccessDenied: User is not authorized to perform: ssm:PutParameter", False),
    ("status code: 404, request id: 1", False),
]


@pytest.mark.parametrize("text,transient", TEXTS)
def test_default_patterns_on_sdk_messages(text, transient):
    err = TerraformError("apply", "/w", [Diagnostic("error", "Error creating thing", text)], "", 1)
    assert (transient_match(err, NO_LOCK_TIMEOUT) is not None) is transient


def test_a_lock_error_is_never_retried_by_another_pattern():
    lock = saved_error("terraform", "plan_lock_error")
    noisy = TerraformError("plan", "/w", [*lock.diagnostics, Diagnostic("error", "Throttling", "")], "", 1)
    assert transient_match(noisy, NO_LOCK_TIMEOUT) is None
    assert transient_match(ValueError("Throttling"), NO_LOCK_TIMEOUT) is None  # not a Terraform failure


# ------------------------------------------------------------------------------------ config


def settings(**sections) -> config.Settings:
    stack = REPO / "modules" / "stack"
    data = {"project": {"root_module": str(stack), "baseline": str(stack / "production.tfvars"),
                        "overrides": str(stack / "staging.overrides.toml")}, **sections}
    return config.validate(data, source="staging.toml")


def test_policies_from_settings_defaults_extend_and_replace():
    tf, aws = policies_from_settings(settings())
    assert tf.attempts == 3 and tf.patterns == DEFAULT_TERRAFORM_PATTERNS and not tf.lock_timeout_configured
    assert aws == AwsRetry(7, "standard")
    tf, aws = policies_from_settings(settings(
        retry={"terraform_attempts": 5, "terraform_patterns": ["Error: flaky plugin"], "aws_attempts": 9},
        backend={"lock_timeout": "60s"}))
    assert tf.attempts == 5 and tf.patterns == (*DEFAULT_TERRAFORM_PATTERNS, "Error: flaky plugin")
    assert tf.lock_timeout_configured and aws.attempts == 9
    tf, _ = policies_from_settings(settings(
        retry={"terraform_patterns": ["only this"], "terraform_patterns_mode": "replace"}))
    assert tf.patterns == ("only this",)


@pytest.mark.parametrize("section,key,message", [
    ({"terraform_patterns": ["(unclosed"]}, "retry.terraform_patterns", "not a regular expression"),
    ({"terraform_patterns": [".*"]}, "retry.terraform_patterns", "would retry every error"),
    ({"terraform_patterns_mode": "replace"}, "retry", "needs terraform_patterns"),
    ({"terraform_attempts": 0}, "retry.terraform_attempts", "greater than or equal to 1"),
    ({"terraform_atempts": 2}, "retry.terraform_atempts", "did you mean 'terraform_attempts'"),
])
def test_bad_retry_config_names_the_key(section, key, message):
    with pytest.raises(ConfigError) as info:
        settings(retry=section)
    assert info.value.key == key and message in str(info.value)


def test_aws_clients_take_attempts_and_mode_from_the_policy():
    aws = Aws(region="us-east-1", endpoint="http://127.0.0.1:9", retries=AwsRetry(4, "adaptive"))
    client = aws.client("s3")
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 4}
    assert Aws(region="us-east-1").client("s3").meta.config.retries == aws_retry_config()


# ------------------------------------------------------------------------------------ engine


class FakeEngine:
    """Implements the Engine protocol; each command fails with ``errors`` (in order), then succeeds."""

    def __init__(self, *errors: TerraformError) -> None:
        self.errors = list(errors)
        self.calls: list[tuple[str, dict]] = []
        self.unlocked: list[str] = []

    def _run(self, command: str, **kwargs) -> RunResult:
        self.calls.append((command, kwargs))
        if self.errors:
            raise self.errors.pop(0)
        if kwargs.get("on_event"):
            kwargs["on_event"](ResourceEvent("aws_vpc.this", "create", "complete"))
        return RunResult(command=command, retcode=0)

    def init(self, workdir, *, backend_config=()):
        return self._run("init", backend_config=backend_config)

    def plan(self, workdir, *, destroy=False, on_event=None, var_files=()):
        return self._run("plan", destroy=destroy, on_event=on_event, var_files=var_files)

    def apply(self, workdir, *, on_event=None, var_files=()):
        return self._run("apply", on_event=on_event, var_files=var_files)

    def destroy(self, workdir, *, on_event=None, var_files=()):
        return self._run("destroy", on_event=on_event, var_files=var_files)

    def output(self, workdir, *, mask_sensitive=False):
        self._run("output", mask_sensitive=mask_sensitive)
        return {"queue_url": "q"}

    def state_list(self, workdir):
        self._run("state list")
        return ["aws_vpc.this"]

    def force_unlock(self, workdir, lock_id):
        self.calls.append(("force-unlock", {"lock_id": lock_id}))
        self.unlocked.append(lock_id)

    def version(self):
        return "1.15.5"


def retrying(inner, **policy):
    waits: list[float] = []
    notices: list[RetryNotice] = []
    wrapped = RetryingEngine(inner, TerraformRetry(initial_wait=1, max_wait=3, jitter=0, **policy),
                             on_retry=notices.append, sleep=waits.append)
    return wrapped, waits, notices


def test_transient_failures_are_run_again_with_backoff():
    throttled = saved_error("retry", "apply_throttled_ssm")
    inner = FakeEngine(throttled, saved_error("retry", "apply_slowdown_s3"))
    wrapped, waits, notices = retrying(inner)
    events = []
    result = wrapped.apply("/w", on_event=events.append, var_files=("a.json",))
    assert result.retcode == 0 and [c[0] for c in inner.calls] == ["apply"] * 3
    assert inner.calls[-1][1]["var_files"] == ("a.json",) and len(events) == 1
    assert waits == [1.0, 2.0]
    assert [(n.command, n.attempt, n.attempts, n.pattern) for n in notices] == [
        ("apply", 1, 3, r"Throttling(Exception)?\b"), ("apply", 2, 3, "SlowDown")]
    assert notices[0].error is throttled and notices[1].wait == 2.0


def test_a_non_transient_failure_is_raised_at_once():
    precondition = saved_error("terraform", "apply_precondition_error")
    inner = FakeEngine(precondition)
    wrapped, waits, notices = retrying(inner, attempts=5)
    with pytest.raises(TerraformError) as info:
        wrapped.apply("/w")
    assert info.value is precondition and len(inner.calls) == 1 and waits == [] and notices == []


def test_gives_up_after_the_configured_attempts_with_the_last_error():
    errors = [saved_error("retry", "apply_request_limit_ec2") for _ in range(4)]
    inner = FakeEngine(*errors)
    wrapped, waits, notices = retrying(inner, attempts=3)
    with pytest.raises(TerraformError) as info:
        wrapped.destroy("/w")
    assert info.value is errors[2] and len(inner.calls) == 3
    assert waits == [1.0, 2.0] and [n.attempt for n in notices] == [1, 2]
    assert inner.errors == [errors[3]]


def test_held_lock_is_retried_only_with_a_lock_timeout():
    for configured, calls in ((False, 1), (True, 2)):
        inner = FakeEngine(saved_error("terraform", "plan_lock_error"))
        wrapped, _, notices = retrying(inner, lock_timeout_configured=configured)
        if configured:
            wrapped.plan("/w")
            assert notices[0].pattern == LOCK_PATTERN
        else:
            with pytest.raises(TerraformError):
                wrapped.plan("/w")
        assert len(inner.calls) == calls


def test_every_engine_method_goes_through_and_is_retried():
    wrapped, _, _ = retrying(FakeEngine())
    throttled = saved_error("retry", "apply_throttled_ssm")
    for name, call in [("init", lambda e: e.init("/w", backend_config=("k=v",))),
                       ("plan", lambda e: e.plan("/w", destroy=True)),
                       ("output", lambda e: e.output("/w", mask_sensitive=True)),
                       ("state list", lambda e: e.state_list("/w"))]:
        inner = FakeEngine(throttled)
        wrapped, _, notices = retrying(inner)
        call(wrapped)
        assert [c[0] for c in inner.calls] == [name, name] and notices[0].command == name
    assert wrapped.version() == "1.15.5"
    assert engine.make_engine("embedded", {}, retry=TerraformRetry()).__class__ is RetryingEngine
    assert isinstance(engine.make_engine("embedded", {}), engine.EmbeddedEngine)


# ------------------------------------------------------------------------------------ locks


def test_lock_info_from_the_saved_lock_error():
    info = parse_lock_info(saved_error("terraform", "plan_lock_error"))
    assert info == LockInfo(id="02f792d2-597d-6a76-268b-3287943480bf", path="terraform.tfstate",
                            operation="OperationTypeApply", who="root@vm", version="1.15.5",
                            created="2026-11-27 20:57:27.074990164 +0000 UTC", info="")
    created = datetime(2026, 11, 27, 20, 57, 27, 74990, tzinfo=UTC)
    assert info.created_at == pytest.approx(created.timestamp(), abs=1e-6)
    assert parse_lock_info(saved_error("terraform", "apply_precondition_error")) is None


def test_recover_lock_unlocks_only_a_dead_holders_lock():
    lock = saved_error("terraform", "plan_lock_error")
    asked: list[str] = []

    def alive(who: str) -> bool:
        asked.append(who)
        return True

    inner = FakeEngine()
    assert recover_lock(inner, "/w", lock, alive) is False and inner.unlocked == [] and asked == ["root@vm"]
    assert recover_lock(inner, "/w", lock, lambda who: False) is True
    assert inner.unlocked == ["02f792d2-597d-6a76-268b-3287943480bf"]
    other = saved_error("terraform", "apply_precondition_error")
    assert recover_lock(inner, "/w", other, lambda who: False) is False and len(inner.unlocked) == 1
    # through the retrying wrapper: force_unlock reaches the inner engine once
    wrapped, _, _ = retrying(FakeEngine())
    assert recover_lock(wrapped, "/w", lock, lambda who: False) is True
    assert wrapped.inner.unlocked == ["02f792d2-597d-6a76-268b-3287943480bf"]
