"""Drift from real refresh-only plans (tests/unit/fixtures/drift/, captured by capture.py from the
example stack on moto; manifest.json says what was changed by hand) and configuration drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.errors import ProvisionerError
from provisioner.health import (
    DriftError,
    config_drift,
    parse_refresh_plan,
    refresh_plan_args,
    show_args,
    variable_digests,
)
from provisioner.health.drift import SENSITIVE, diff_values, perpetual

FIXTURES = Path(__file__).parent / "fixtures" / "drift"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
SLUG = MANIFEST["stack"]


def plan(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def changes(report, address):
    (res,) = [r for r in report.resources if r.address == address]
    return res, {c.path: (c.before, c.after) for c in res.changes}


def test_untouched_example_stack_has_zero_drift_though_terraform_says_otherwise():
    assert MANIFEST["untouched"]["plan_retcode"] == 2          # -detailed-exitcode alone would cry wolf
    assert json.loads(plan("untouched"))["resource_drift"]       # and the raw plan lists entries
    report = parse_refresh_plan(plan("untouched"))
    assert report.drifted is False and report.resources == ()
    assert set(report.ignored) == {
        "module.app.aws_cloudwatch_metric_alarm.target_5xx: insufficient_data_actions",
        "module.app.aws_iam_role.task: inline_policy"}
    assert report.terraform_version.startswith("1.15")


def test_redrive_queue_with_emulator_empty_tags_has_zero_drift():
    report = parse_refresh_plan(plan("redrive"))
    assert not report.drifted
    assert report.ignored == ("aws_sqs_queue.dead: tags", "aws_sqs_queue.jobs: tags")


def test_changed_sqs_attribute_is_reported_with_before_and_after():
    report = parse_refresh_plan(plan("changed"))
    res, diff = changes(report, "module.data.aws_sqs_queue.jobs")
    assert res.action == "changed" and res.type == "aws_sqs_queue"
    assert diff == {"visibility_timeout_seconds": (60, 45)}
    assert res.resource_id and res.resource_id.endswith(f"/{SLUG}-jobs")


def test_deleted_parameter_is_reported_as_deleted():
    report = parse_refresh_plan(plan("changed"))
    address = 'module.data.aws_ssm_parameter.data_source["source-bucket"]'
    assert report.deleted == (address,)
    res, diff = changes(report, address)
    assert diff == {} and res.resource_id == f"/{SLUG}/data/source-bucket"


def test_changed_tag_is_reported_per_tag():
    report = parse_refresh_plan(plan("changed"))
    _, diff = changes(report, "module.data.aws_sns_topic.alerts")
    assert diff == {"tags.Role": ("data", "changed-by-hand"), "tags_all.Role": ("data", "changed-by-hand")}


def test_sensitive_values_are_masked_even_though_the_plan_holds_them():
    raw = plan("changed")
    assert "edited-by-hand" in raw                      # Terraform's JSON carries the value in clear
    report = parse_refresh_plan(raw)
    _, diff = changes(report, 'module.app.aws_ssm_parameter.config["environment"]')
    assert diff == {"value": (SENSITIVE, SENSITIVE), "version": (1, 2)}
    assert "edited-by-hand" not in json.dumps(report.to_json())


def test_changed_plan_reports_exactly_the_hand_changes():
    report = parse_refresh_plan(json.loads(plan("changed")))
    assert sorted(report.changed) == ['module.app.aws_ssm_parameter.config["environment"]',
                                      "module.data.aws_sns_topic.alerts", "module.data.aws_sqs_queue.jobs"]
    data = report.to_json()
    assert data["drifted"] is True and len(data["resources"]) == 4


@pytest.mark.parametrize(("before", "after", "expected"), [
    (None, [], True), (None, {}, True), ([], None, True),
    ('{"a": 1, "b": [1, 2]}', '{"a":1,"b":[1,2]}', True),      # redrive_policy whitespace
    ('{"maxReceiveCount": 4}', '{"maxReceiveCount": 5}', False),
    (None, "", False), (None, [1], False), ("{not json", "{not  json", False), (0, None, False),
])
def test_perpetual_differences(before, after, expected):
    assert perpetual(before, after) is expected


def test_diff_paths_nested_lists_and_keys_with_punctuation():
    before = {"tags": {"staging:stack": "a", "Name": "x"}, "ingress": [{"cidr": "10.0.0.0/8"}],
              "list": [1, 2], "secret": {"k": "old"}, "keys": ["a"]}
    after = {"tags": {"staging:stack": "b", "Name": "x"}, "ingress": [{"cidr": "0.0.0.0/0"}],
             "list": [1, 2, 3], "secret": {"k": "new"}, "keys": ["a", "b-secret"]}
    found = {c.path: (c.before, c.after) for c in diff_values(
        before, after, before_sensitive={"secret": True},
        after_sensitive={"secret": {"k": True}, "keys": [False, True]})}
    # a side that is sensitive only in parts is masked in those parts, however deep
    assert found == {'tags["staging:stack"]': ("a", "b"), "ingress[0].cidr": ("10.0.0.0/8", "0.0.0.0/0"),
                     "list": ([1, 2], [1, 2, 3]), "secret": (SENSITIVE, {"k": SENSITIVE}),
                     "keys": (["a"], ["a", SENSITIVE])}


@pytest.mark.parametrize("text", ["not json", "[]", '{"resource_drift": []}'])
def test_not_a_plan(text):
    with pytest.raises(DriftError) as err:
        parse_refresh_plan(text, source="drift.json")
    assert isinstance(err.value, ProvisionerError) and str(err.value).startswith("drift.json: ")


def test_commands_the_engine_runs():
    assert refresh_plan_args(lock_timeout="60s", var_files=["a.tfvars"]) == [
        "plan", "-refresh-only", "-detailed-exitcode", "-input=false", "-no-color", "-json",
        "-out=drift.tfplan", "-lock-timeout=60s", "-var-file=a.tfvars"]
    captured = MANIFEST["changed"]["plan_argv"]
    assert refresh_plan_args()[:-1] == [a for a in captured if not a.startswith("-out=")]
    assert show_args("x.tfplan") == ["show", "-json", "x.tfplan"]


def test_configuration_drift_names_the_variables():
    recorded = variable_digests({"app_cpu": 512, "tags": {"a": "1", "b": "2"}, "old": "x", "same": [1]})
    current = {"app_cpu": 256, "tags": {"b": "2", "a": "1"}, "same": [1], "new": True}
    drift = config_drift(recorded, current)
    assert drift.changed == ("app_cpu",) and drift.added == ("new",) and drift.removed == ("old",)
    assert drift.to_json() == {"drifted": True, "changed": ["app_cpu"], "added": ["new"], "removed": ["old"]}
    assert not config_drift(variable_digests(current), current).drifted


def test_recorded_digests_hold_no_values():
    digests = variable_digests({"domain_name": "stack.staging.acme-corp.test"})
    assert "acme" not in json.dumps(digests) and len(digests["domain_name"]) == 16
