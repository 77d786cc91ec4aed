"""Progress renderers fed real engine.ResourceEvent objects."""

from __future__ import annotations

import io

from provisioner.cli.progress import (
    GithubActionsReporter,
    PlainReporter,
    RichReporter,
    gha_escape,
    make_reporter,
)
from provisioner.terraform.events import ResourceEvent


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _feed(reporter, clock):
    reporter.step("terraform apply")
    reporter.event(ResourceEvent("aws_sqs_queue.jobs", "create", "planned"))
    reporter.event(ResourceEvent("aws_sqs_queue.jobs", "create", "start"))
    reporter.event(ResourceEvent("aws_s3_bucket.data", "create", "start"))
    clock.now += 2.5
    reporter.event(ResourceEvent("aws_sqs_queue.jobs", "create", "progress", elapsed=2.0))
    reporter.event(ResourceEvent("aws_sqs_queue.jobs", "create", "complete", elapsed=2.0, resource_id="q"))
    reporter.event(ResourceEvent("aws_s3_bucket.data", "create", "errored", message="AccessDenied: 50%"))


def test_plain_lines():
    out, clock = io.StringIO(), Clock()
    with PlainReporter(out, clock) as r:
        _feed(r, clock)
    assert out.getvalue().splitlines() == [
        "==> terraform apply",
        "    creating   aws_sqs_queue.jobs",
        "    creating   aws_s3_bucket.data",
        "    done       aws_sqs_queue.jobs (2.0s)",
        "    FAILED     aws_s3_bucket.data (2.5s)",
    ]


def test_destroy_verb():
    out = io.StringIO()
    PlainReporter(out).event(ResourceEvent("aws_vpc.main", "delete", "start"))
    assert out.getvalue() == "    destroying aws_vpc.main\n"


def test_github_actions_groups_and_annotations():
    out, clock = io.StringIO(), Clock()
    try:
        with GithubActionsReporter(out, clock) as r:
            r.step("stack s-1 for branch 'x'")
            r.step("terraform init")
            _feed(r, clock)
            raise RuntimeError("terraform apply failed\nError: AccessDenied")
    except RuntimeError:
        pass
    lines = out.getvalue().splitlines()
    assert lines[0] == "==> stack s-1 for branch 'x'"
    assert lines[1:4] == ["::group::terraform init", "::endgroup::", "::group::terraform apply"]
    assert "    done       aws_sqs_queue.jobs (2.0s)" in lines
    assert ("::error title=terraform creating failed::aws_s3_bucket.data: AccessDenied: 50%25"
            in lines)
    assert lines[-2:] == ["::endgroup::",
                          "::error title=provisioner::terraform apply failed%0AError: AccessDenied"]
    assert lines.count("::group::terraform apply") == 1


def test_github_actions_closes_group_without_error():
    out = io.StringIO()
    with GithubActionsReporter(out) as r:
        r.step("terraform destroy")
    assert out.getvalue().splitlines() == ["::group::terraform destroy", "::endgroup::"]


def test_escape():
    assert gha_escape("a%b\r\nc") == "a%25b%0D%0Ac"


def test_rich_table_states():
    out, clock = io.StringIO(), Clock()
    r = RichReporter(out, clock)
    r.event(ResourceEvent("a.pending", "create", "planned"))
    r.event(ResourceEvent("a.running", "create", "start"))
    clock.now += 3
    r.event(ResourceEvent("a.ok", "create", "start"))
    r.event(ResourceEvent("a.ok", "create", "complete", elapsed=1.0))
    r.event(ResourceEvent("a.bad", "delete", "errored"))
    states = {a: row["state"] for a, row in r._rows.items()}
    assert states == {"a.pending": "pending", "a.running": "creating", "a.ok": "done", "a.bad": "failed"}
    r.close()
    text = out.getvalue()
    assert "a.running" in text and "3.0s" in text and "failed" in text


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_factory_choice():
    assert type(make_reporter(io.StringIO(), {})) is PlainReporter
    assert type(make_reporter(_Tty(), {"GITHUB_ACTIONS": "true"})) is GithubActionsReporter
    assert type(make_reporter(_Tty(), {})) is RichReporter
    assert type(make_reporter(_Tty(), {"TERM": "dumb"})) is PlainReporter
