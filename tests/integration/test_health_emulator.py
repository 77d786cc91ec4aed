"""Health checks against real things: the moto server over HTTP (resources made with boto3), HTTP
and TLS servers this module starts on loopback, closed loopback ports, and real processes for the
test runner (including the example stack's smoke suite). No mocks, no patching."""

from __future__ import annotations

import http.server
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import REPO, aws_client

from provisioner.aws.clients import Aws
from provisioner.config.retry import AwsRetry
from provisioner.health import StackContext, parse_health, parse_tests, run_checks, run_tests
from provisioner.health.runner import aws_test_env, build_env

pytestmark = pytest.mark.integration


def spec(**tables):
    return parse_health({"checks": tables}, "staging.toml")


def by_name(report):
    return {c.name: c for c in report.checks}


@pytest.fixture
def slug():
    return f"hc-{uuid.uuid4().hex[:7]}"


@pytest.fixture
def aws(moto_url):
    return Aws(region="us-east-1", endpoint=moto_url, retries=AwsRetry(attempts=1))


@pytest.fixture
def stack(moto_url, slug):
    """A queue, a table, a bucket and an alarm tagged as the stack's, made with boto3."""
    tags = {"managed-by": "staging-provisioner", "staging:stack": slug}
    queue_url = aws_client(moto_url, "sqs").create_queue(QueueName=f"{slug}-jobs")["QueueUrl"]
    aws_client(moto_url, "dynamodb").create_table(
        TableName=f"{slug}-state", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    aws_client(moto_url, "s3").create_bucket(Bucket=f"{slug}-data")
    aws_client(moto_url, "cloudwatch").put_metric_alarm(
        AlarmName=f"{slug}-web-5xx", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=100,
        ComparisonOperator="GreaterThanThreshold", Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    outputs = {"queue_url": queue_url, "table_name": f"{slug}-state", "bucket_name": f"{slug}-data",
               "name": slug, "environment": "staging", "load_balancer_dns_name": None}
    return StackContext(slug=slug, branch=f"feature/{slug}", pr=None, outputs=outputs)


AWS_CHECKS = {
    "queue": {"kind": "sqs_queue", "queue_url": "{{ outputs.queue_url }}", "attempts": 1},
    "table": {"kind": "dynamodb_table", "table": "{{ outputs.table_name }}", "attempts": 1},
    "bucket": {"kind": "s3_bucket", "bucket": "{{ outputs.bucket_name }}", "attempts": 1},
    "alarms": {"kind": "cloudwatch_alarms", "attempts": 1},
}


def test_aws_checks_pass_on_a_working_stack(stack, aws, slug):
    report = run_checks(spec(**AWS_CHECKS), stack, aws)
    results = by_name(report)
    assert report.status == "passing", report.to_json()
    assert results["table"].detail == f"table {slug}-state is ACTIVE"
    assert "0 messages waiting" in results["queue"].detail
    # found through the tagging API: the alarm exists and is counted, not "no alarms"
    assert results["alarms"].detail == f"1 alarms tagged staging:stack={slug}, none in ALARM"


def test_aws_checks_fail_with_the_service_error(stack, aws, slug):
    gone = StackContext(slug, "b", None, {**stack.outputs, "table_name": f"{slug}-nope",
                                          "bucket_name": f"{slug}-nope",
                                          "queue_url": stack.outputs["queue_url"] + "-nope"})
    results = by_name(run_checks(spec(**AWS_CHECKS), gone, aws))
    assert results["table"].ok is False and results["table"].detail.startswith("ResourceNotFoundException")
    assert results["queue"].ok is False and "NonExistentQueue" in results["queue"].detail
    assert results["bucket"].ok is False and results["bucket"].detail.startswith("404")
    assert results["alarms"].ok is True


def test_alarm_in_alarm_state_fails_by_tag_and_by_prefix(stack, aws, moto_url, slug):
    cw = aws_client(moto_url, "cloudwatch")
    other = f"{slug}x-web-5xx"   # another stack's alarm with a similar name, firing too
    cw.put_metric_alarm(AlarmName=other, Namespace="N", MetricName="M", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                        Tags=[{"Key": "staging:stack", "Value": f"{slug}x"}])
    cw.set_alarm_state(AlarmName=other, StateValue="ALARM", StateReason="the other stack")
    checks = spec(tagged={"kind": "cloudwatch_alarms", "attempts": 1},
                  named={"kind": "cloudwatch_alarms", "prefix": "{{ stack }}-", "attempts": 1})
    assert run_checks(checks, stack, aws).status == "passing"   # only our own alarms count

    cw.set_alarm_state(AlarmName=f"{slug}-web-5xx", StateValue="ALARM", StateReason="5xx storm in test")
    results = by_name(run_checks(checks, stack, aws))
    for name in ("tagged", "named"):
        assert results[name].ok is False
        assert f"{slug}-web-5xx: 5xx storm in test" in results[name].detail
        assert other not in results[name].detail


def test_ecs_service_running_count(aws, moto_url, slug):
    ecs = aws_client(moto_url, "ecs")
    ecs.create_cluster(clusterName=slug)
    ecs.register_task_definition(family=slug, containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128}])
    ecs.create_service(cluster=slug, serviceName="web", taskDefinition=slug, desiredCount=0)
    ctx = StackContext(slug, "b", None, {"cluster": slug})
    checks = spec(web={"kind": "ecs_service", "cluster": "{{ outputs.cluster }}", "service": "web",
                       "attempts": 1},
                  api={"kind": "ecs_service", "cluster": "{{ outputs.cluster }}", "service": "api",
                       "attempts": 1})
    results = by_name(run_checks(checks, ctx, aws))
    assert results["web"].ok is True and "0 of 0 tasks running" in results["web"].detail
    assert results["api"].ok is False and "MISSING" in results["api"].detail


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        status, body = {"/healthz": (200, b"ok: all good"), "/broken": (500, b"database down\n")}.get(
            self.path, (404, b""))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(context: ssl.SSLContext | None = None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def web():
    server = _serve()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_checks(web):
    ctx = StackContext("s", "b", None, {"url": web})
    checks = spec(
        ok={"kind": "http", "url": "{{ outputs.url }}/healthz", "body": "all good", "attempts": 1},
        broken={"kind": "http", "url": "{{ outputs.url }}/broken", "attempts": 2, "wait": 0.1},
        wrong_body={"kind": "http", "url": "{{ outputs.url }}/healthz", "body": "ready", "attempts": 1},
        lb={"kind": "http", "url": "http://{{ outputs.lb }}/", "optional": True})
    report = run_checks(checks, ctx)
    results = by_name(report)
    assert results["ok"].ok is True and results["ok"].detail == f"GET {web}/healthz: HTTP 200"
    assert results["broken"].ok is False and results["broken"].attempts == 2
    assert results["broken"].detail == (f"GET {web}/broken: HTTP 500, expected 200: database down "
                                        "(after 2 attempts)")
    assert results["wrong_body"].ok is False and "does not contain 'ready'" in results["wrong_body"].detail
    assert results["lb"].ok is None
    assert report.status == "failing"


def test_tls_errors_are_failures(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = _serve(context)
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/healthz"
        (result,) = run_checks(spec(web={"kind": "http", "url": url, "attempts": 1}),
                               StackContext("s", "b")).checks
    finally:
        server.shutdown()
    assert result.ok is False and "TLS error" in result.detail
    assert "CERTIFICATE_VERIFY_FAILED" in result.detail


def test_tcp_check_to_a_closed_port_fails_fast_and_an_open_one_passes():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        ctx = StackContext("s", "b", None, {"closed": f"127.0.0.1:{closed}",
                                            "open": f"127.0.0.1:{listener.getsockname()[1]}"})
        started = time.monotonic()
        results = by_name(run_checks(spec(
            closed={"kind": "tcp", "address": "{{ outputs.closed }}", "timeout": 10, "attempts": 1},
            open={"kind": "tcp", "address": "{{ outputs.open }}", "attempts": 1}), ctx))
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert results["closed"].ok is False and "Connection refused" in results["closed"].detail
    assert elapsed < 5   # refused at once: far below the 10 s timeout
    assert results["open"].ok is True


# --------------------------------------------------------------------------- test runner


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
              "print('started', flush=True)\n"
              "time.sleep(60)\n")
    (tmp_path / "hang.py").write_text(script)
    tests = parse_tests({"command": f"{sys.executable} hang.py", "timeout": 1.5}, "s")
    started = time.monotonic()
    result = run_tests(tests, {"PATH": os.environ["PATH"]}, tmp_path)
    assert time.monotonic() - started < 10
    assert result.timed_out and result.exit_code is None and not result.ok
    assert "timed out after 1.5s" in (result.error or "")
    assert result.output_tail == "started\n"
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the test command's child outlived the timeout"


def test_output_tail_is_bounded_and_secrets_masked(tmp_path):
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    script = ("import os, sys\n"
              "sys.stdout.write('x' * 10000)\n"
              "print(' key=' + os.environ['AWS_SECRET_ACCESS_KEY'], flush=True)\n"
              "print('the end', file=sys.stderr)\n"
              "sys.exit(3)\n")
    (tmp_path / "noisy.py").write_text(script)
    tests = parse_tests({"command": f"{sys.executable} noisy.py", "tail_bytes": 1024}, "s")
    result = run_tests(tests, {"PATH": os.environ["PATH"], "AWS_SECRET_ACCESS_KEY": secret}, tmp_path)
    assert result.exit_code == 3 and not result.ok and not result.timed_out
    assert result.output_bytes > 10000 and len(result.output_tail.encode()) <= 1024
    assert result.output_tail.endswith(" key=***\nthe end\n")
    assert secret[:8] not in result.output_tail and secret[-8:] not in result.output_tail


def test_a_command_that_cannot_start(tmp_path):
    tests = parse_tests({"command": "no-such-test-runner-xyz"}, "s")
    result = run_tests(tests, {"PATH": "/usr/bin"}, tmp_path)
    assert not result.ok and result.exit_code is None and "cannot start" in (result.error or "")


def _smoke(stack: StackContext, aws: Aws, **outputs) -> object:
    ctx = StackContext(stack.slug, stack.branch, 5, {**stack.outputs, **outputs})
    env = build_env(ctx, aws_env=aws_test_env(aws), inherit=os.environ)
    tests = parse_tests({"command": f"{sys.executable} -m pytest smoke/ -q -p no:cacheprovider",
                         "timeout": "2m"}, "s")
    return run_tests(tests, {**env, "PYTHONDONTWRITEBYTECODE": "1"}, REPO / "modules" / "stack")


def test_example_smoke_suite_passes_against_the_stack(stack, aws):
    result = _smoke(stack, aws)
    assert result.ok, result.output_tail
    assert "4 passed" in result.output_tail


def test_example_smoke_suite_fails_on_a_production_stack(stack, aws):
    result = _smoke(stack, aws, environment="production")
    assert result.exit_code == 1
    assert "test_is_a_staging_stack" in result.output_tail and "3 passed" in result.output_tail
    assert not (Path(REPO) / "modules" / "stack" / "smoke" / "__pycache__").exists()
