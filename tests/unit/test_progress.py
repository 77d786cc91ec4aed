"""Progress renderers fed real engine.ResourceEvent objects."""

from __future__ import annotations

import io
import shlex

from provisioner.cli.liveview import RichReporter, elapsed_text, estimate
from provisioner.cli.progress import (
    GithubActionsReporter,
    PlainReporter,
    QuietReporter,
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
    assert {a: row["state"] for a, row in r._rows.items()} == {
        "a.pending": "pending", "a.running": "running", "a.ok": "done", "a.bad": "failed"}
    live = _render(r)
    assert "creating  a.running  3.0s" in live and "done      a.ok" in live
    r.close()
    final = out.getvalue().split("\x1b[2K")[-1]   # what stays: counts and every failed row
    assert "failed  a.bad" in final and "1 running, 1 pending, 1 done not shown" in final
    assert "a.running" not in final


def _render(r, width=80):
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, height=r.console.size.height, color_system=None)
    console.print(r.table())
    return console.file.getvalue()


def test_rows_sorted_failed_running_pending_done_and_collapsed_to_height():
    clock = Clock()
    r = RichReporter(io.StringIO(), clock, height=14)
    r.step("stack web-1a2b3c4 for branch 'feat/x' (3 differences from production)")
    r.step("terraform apply")
    for i in range(30):
        r.event(ResourceEvent(f"aws_sqs_queue.q{i:02d}", "create", "planned"))
    for i in range(12):
        r.event(ResourceEvent(f"aws_sqs_queue.q{i:02d}", "create", "start"))
        clock.now += 1
        r.event(ResourceEvent(f"aws_sqs_queue.q{i:02d}", "create", "complete", elapsed=1.0))
    for i in (12, 13, 14, 15, 16, 17):
        r.event(ResourceEvent(f"aws_sqs_queue.q{i:02d}", "create", "start"))
        r.event(ResourceEvent(f"aws_sqs_queue.q{i:02d}", "create", "errored"))
    r.event(ResourceEvent("aws_sqs_queue.q18", "create", "start"))
    text = _render(r)
    r._live.stop()
    lines = text.splitlines()
    assert len(lines) <= 14 - 1
    assert "spinup web-1a2b3c4  phase: apply" in lines[0]
    assert "12/30" in lines[1] and "elapsed" in lines[1] and "6 failed" in lines[1]
    assert "about 8.0s left" in lines[1]   # 12 s for 18 resources: 12 left at 1.5 per second
    body = [line.split()[0] for line in lines[3:] if line.strip() and not line.startswith("  +")]
    assert body[:6] == ["failed"] * 6 and body[6] == "creating"
    assert body[7:] == ["pending"] * len(body[7:])
    assert lines[-1].strip().startswith("+ ") and "done not shown" in lines[-1]


def test_teardown_header_and_next_step_after_failure():
    out = io.StringIO()
    r = RichReporter(out, Clock(), height=24)
    r.step("stack web-1a2b3c4 for branch \"it's\": teardown")
    r.step("terraform init")
    assert "phase: init" in _render(r)
    r.step("terraform destroy")
    r.close(RuntimeError("boom"))
    assert "teardown web-1a2b3c4" in out.getvalue()
    assert "next: fix the cause above, then run `provisioner teardown --branch " + shlex.quote("it's") \
        in out.getvalue()


def test_elapsed_precision_and_estimate():
    assert [elapsed_text(s) for s in (0.04, 9.94, 12.6, 125, 3 * 3600 + 65)] == [
        "0.0s", "9.9s", "12s", "2m05s", "3h01m"]
    assert estimate(0, 10, 0) == "estimating..."
    assert estimate(5, 10, 10.0) == "about 10s left"
    assert estimate(10, 10, 10.0) == ""


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_factory_choice():
    assert type(make_reporter(io.StringIO(), {})) is PlainReporter
    assert type(make_reporter(_Tty(), {"GITHUB_ACTIONS": "true"})) is GithubActionsReporter
    assert type(make_reporter(_Tty(), {})) is RichReporter
    assert type(make_reporter(_Tty(), {"TERM": "dumb"})) is PlainReporter
    assert type(make_reporter(_Tty(), {}, quiet=True)) is QuietReporter
