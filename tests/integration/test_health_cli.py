"""Health, tests and drift through the real CLI: spinup runs the example's checks and its smoke
suite against a real stack (embedded Terraform, hashicorp/aws 3.39, moto over HTTP); a check that
fails keeps the stack and exits 1; hand changes made with boto3 are found by `drift` (a real
refresh-only plan) and put back by `drift --fix`."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from conftest import aws_client, run_cli, write_project

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory, moto_url, provider_mirror):
    return write_project(tmp_path_factory.mktemp("health-cli"), moto_url, provider_mirror, smoke=True)


@pytest.fixture(scope="module")
def stack(project):
    """One stack spun up with the example's [health] and [tests]; torn down at the end."""
    proc = run_cli(project, "spinup", "--branch", "health/cli", "--pr", "5", "--json")
    out = json.loads(proc.stdout)
    yield out
    run_cli(project, "teardown", "--stack", out["stack"])


def test_spinup_runs_the_checks_and_the_smoke_suite(project, stack):
    rec = stack["record"]
    assert rec["status"] == "ready"
    assert rec["health"]["status"] == "passing"
    checks = {c["name"]: c for c in rec["health"]["checks"]}
    assert set(checks) == {"queue", "table", "bucket", "alarms", "web"}
    assert all(checks[n]["ok"] for n in ("queue", "table", "bucket", "alarms"))
    assert checks["web"]["ok"] is None            # no load balancer in staging: skipped
    assert rec["tests"]["ok"] and rec["tests"]["exit_code"] == 0, rec["tests"]["output_tail"]
    assert "4 passed" in rec["tests"]["output_tail"]
    assert set(rec["variable_digests"]) >= {"name", "environment"}
    listed = run_cli(project, "list").stdout
    assert "HEALTH" in listed.splitlines()[0] and "passing" in listed
    shown = run_cli(project, "status", "--branch", "health/cli").stdout
    assert "health:   passing" in shown and "tests:    passed" in shown


def test_health_json_and_an_alarm_in_alarm(project, stack, moto_url):
    proc = run_cli(project, "health", "--branch", "health/cli", "--json")
    out = json.loads(proc.stdout)
    assert out["status"] == "passing" and {c["name"] for c in out["checks"]} >= {"queue", "alarms"}
    assert all({"name", "ok", "detail"} <= c.keys() for c in out["checks"])

    cw = aws_client(moto_url, "cloudwatch")
    (alarm,) = [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]
                if a["AlarmName"].startswith(stack["stack"])]
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: 5xx from the targets")
    try:
        proc = run_cli(project, "health", "--branch", "health/cli", "--json", check=False)
        assert proc.returncode == 1, proc.stderr
        out = json.loads(proc.stdout)
        failed = [c for c in out["checks"] if c["ok"] is False]
        assert out["status"] == "failing" and [c["name"] for c in failed] == ["alarms"]
        assert alarm in failed[0]["detail"]
        shown = run_cli(project, "status", "--branch", "health/cli").stdout
        assert "status:   unhealthy" in shown and "FAIL alarms: " in shown and alarm in shown
        assert "failing (1)" in run_cli(project, "list").stdout
    finally:
        cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test: back to normal")
    out = json.loads(run_cli(project, "health", "--branch", "health/cli", "--json").stdout)
    assert out["status"] == "passing"
    assert "status:   ready" in run_cli(project, "status", "--branch", "health/cli").stdout


def test_the_smoke_suite_on_demand(project, stack):
    out = json.loads(run_cli(project, "test", "--branch", "health/cli", "--json").stdout)
    assert out["tests"]["ok"] and "4 passed" in out["tests"]["output_tail"]
    assert out["tests"]["command"].startswith("python -m pytest smoke/")


def test_an_untouched_stack_has_no_drift(project, stack):
    proc = run_cli(project, "drift", "--branch", "health/cli", "--json")
    (one,) = json.loads(proc.stdout)["stacks"]
    assert one["drifted"] == [] and one["config_drift"]["drifted"] is False and one["error"] == ""


def _hand_changes(moto_url, stack) -> str:
    """An SQS attribute, a deleted SSM parameter, a changed tag: all behind Terraform's back."""
    slug, outputs = stack["stack"], stack["record"]["outputs"]
    sqs = aws_client(moto_url, "sqs")
    sqs.set_queue_attributes(QueueUrl=outputs["queue_url"], Attributes={"MessageRetentionPeriod": "3600"})
    ssm = aws_client(moto_url, "ssm")
    params = ssm.get_parameters_by_path(Path=f"/{slug}/app/", Recursive=True)["Parameters"]
    deleted = sorted(p["Name"] for p in params)[0]
    ssm.delete_parameter(Name=deleted)
    ddb = aws_client(moto_url, "dynamodb")
    arn = ddb.describe_table(TableName=outputs["table_name"])["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "Role", "Value": "changed-by-hand"}])
    return deleted


def test_hand_changes_are_reported_then_fixed(project, stack, moto_url):
    deleted = _hand_changes(moto_url, stack)
    proc = run_cli(project, "drift", "--branch", "health/cli", "--json", check=False)
    assert proc.returncode == 2, proc.stderr
    (one,) = json.loads(proc.stdout)["stacks"]
    found = {r["address"]: r for r in one["drifted"]}
    queue = found["module.data.aws_sqs_queue.jobs"]
    assert queue["action"] == "changed"
    assert ("message_retention_seconds", 86400, 3600) in [(c["path"], c["before"], c["after"])
                                                           for c in queue["changes"]]
    (param,) = [r for r in found.values() if r["type"] == "aws_ssm_parameter"]
    assert param["action"] == "deleted" and param["id"] == deleted
    table = found["module.data.aws_dynamodb_table.state"]
    assert any(c["path"] in ("tags.Role", "tags_all.Role") and c["after"] == "changed-by-hand"
               for c in table["changes"])
    text = run_cli(project, "drift", "--branch", "health/cli", check=False).stdout
    assert "module.data.aws_sqs_queue.jobs changed outside Terraform" in text
    assert "message_retention_seconds: 86400 -> 3600" in text

    fixed = run_cli(project, "drift", "--branch", "health/cli", "--fix", "--json", check=False)
    assert fixed.returncode == 2 and json.loads(fixed.stdout)["stacks"][0]["fixed"] is True
    attrs = aws_client(moto_url, "sqs").get_queue_attributes(
        QueueUrl=stack["record"]["outputs"]["queue_url"], AttributeNames=["MessageRetentionPeriod"])
    assert attrs["Attributes"]["MessageRetentionPeriod"] == "86400"
    assert aws_client(moto_url, "ssm").get_parameter(Name=deleted)["Parameter"]["Name"] == deleted
    clean = run_cli(project, "drift", "--all", "--json")
    assert [s["drifted"] for s in json.loads(clean.stdout)["stacks"]] == [[]]


class _Answers500(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b"boom")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def failing_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_failing_http_check_keeps_the_stack_and_exits_1(tmp_path, moto_url, provider_mirror,
                                                          failing_server):
    cfg = write_project(tmp_path / "p", moto_url, provider_mirror, health=f"""
[health.checks.queue]
kind = "sqs_queue"
queue_url = "{{{{ outputs.queue_url }}}}"

[health.checks.web]
kind = "http"
url = "{failing_server}/healthz?stack={{{{ stack }}}}"
attempts = 2
wait = "100ms"
""")
    proc = run_cli(cfg, "spinup", "--branch", "health/fail", check=False)
    try:
        assert proc.returncode == 1, proc.stderr
        assert "health check web failed" in proc.stderr and "500" in proc.stderr
        assert "kept for debugging" in proc.stderr and "Traceback" not in proc.stderr
        rec = json.loads(run_cli(cfg, "status", "--branch", "health/fail", "--json").stdout)["record"]
        assert rec["status"] == "unhealthy" and rec["health"]["status"] == "failing"
        (web,) = [c for c in rec["health"]["checks"] if c["ok"] is False]
        assert web["name"] == "web" and "500" in web["detail"] and web["attempts"] == 2
        assert rec["outputs"]["queue_url"]                     # the stack is still there
        aws_client(moto_url, "sqs").get_queue_attributes(QueueUrl=rec["outputs"]["queue_url"])
        again = run_cli(cfg, "spinup", "--branch", "health/fail", "--no-health-gate", "--json")
        assert json.loads(again.stdout)["record"]["status"] == "unhealthy"
    finally:
        run_cli(cfg, "teardown", "--branch", "health/fail")


def test_cleanup_reports_failing_health_and_drift_and_writes_the_audit(project, stack, moto_url,
                                                                      tmp_path):
    slug, outputs = stack["stack"], stack["record"]["outputs"]
    cw = aws_client(moto_url, "cloudwatch")
    (alarm,) = [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]
                if a["AlarmName"].startswith(slug)]
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    aws_client(moto_url, "sqs").set_queue_attributes(QueueUrl=outputs["queue_url"],
                                                     Attributes={"VisibilityTimeout": "45"})
    report = tmp_path / "report.md"
    try:
        proc = run_cli(project, "cleanup", "--dry-run", "--report", str(report), "--json")
    finally:
        cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test")
    out = json.loads(proc.stdout)
    reasons = [s["reason"] for s in out["stacks"] if s["slug"] == slug]
    assert all(s["action"] == "report" for s in out["stacks"] if s["slug"] == slug)
    assert any(r.startswith("health failing: alarms") for r in reasons), reasons
    assert "drift: 1 resource changed outside Terraform" in reasons
    (row,) = [r for r in out["audit"]["stacks"] if r["slug"] == slug]
    assert row["health"] == "failing" and row["failing_checks"] == ["alarms"]
    assert row["drifted"] is True and row["drifted_resources"] == ["module.data.aws_sqs_queue.jobs"]
    text = report.read_text()
    assert text.startswith("# Staging audit") and f"`{slug}`" in text
    assert "❌ failing (alarms)" in text and "module\\.data\\.aws\\_sqs\\_queue\\.jobs" in text
    assert json.loads(run_cli(project, "status", "--branch", "health/cli", "--json").stdout)["record"][
        "status"] in ("ready", "unhealthy")                       # reported, never torn down
