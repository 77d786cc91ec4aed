"""Pull request previews: carry out what an event calls for, then tell GitHub.

``handle`` decides (``github.events.decide``, pure), then acts through the use cases
(spinup, teardown, set_keep) and reports through a ``github.publisher.Publisher``. The core
reads no environment: the run URL, the token and the sinks are built at the CLI edge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from provisioner.config import Settings
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.errors import HealthFailed, LockTimeout, ProvisionerError
from provisioner.github.comment import CommentInput, clip, marker, render_comment
from provisioner.github.events import Decision, Event, Policy, decide
from provisioner.github.publisher import GitHubPublisher, OfflinePublisher, Publisher, environment_name
from provisioner.render.cost import for_tfvars, summary
from provisioner.usecases.lifetime import set_keep, status
from provisioner.usecases.preview import render_stack
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.spinup import spinup
from provisioner.usecases.stacks import StackRequest, resolve_stack
from provisioner.usecases.teardown import teardown


def run_url(env: Mapping[str, str]) -> str | None:
    """The Actions run this event is handled in (linked from the comment and the deployment)."""
    server, repo, run = (env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run.isdigit():
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"
    return None


@contextmanager
def publisher_from_env(settings: Settings, env: Mapping[str, str], sink: Callable[[str], None], *,
                       copy: bool) -> Iterator[Publisher]:
    """GitHub with a token (every comment also handed to ``sink`` when ``copy``), else ``sink`` alone."""
    from provisioner.github.api import GitHubClient, api_url

    token = env.get("GITHUB_TOKEN", "")
    if not token:
        yield OfflinePublisher(sink)
        return
    client = GitHubClient(token, api_url(settings.github.api_url, env.get("GITHUB_API_URL")))
    try:
        yield GitHubPublisher(client, deployments=settings.github.deployments, log_url=run_url(env),
                              copy=sink if copy else None)
    finally:
        client.close()


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    stack: StackId | None = None
    record: Record | None = None
    detail: str = ""
    comment: str | None = None        # the body rendered, posted or not
    comment_result: str = ""


@dataclass(frozen=True)
class _Job:
    rt: Runtime
    decision: Decision
    publisher: Publisher
    reporter: Reporter
    run_url: str | None
    output_names: Sequence[str] | None

    @property
    def request(self) -> StackRequest:
        d = self.decision
        return StackRequest(branch=d.branch, pr=d.pr, owner=d.owner, source="event")


def handle(event: Event, policy: Policy, open_runtime: Callable[[], Runtime], publisher: Publisher,
           reporter: Reporter, *, run_url: str | None = None,
           output_names: Sequence[str] | None = None) -> Outcome:
    """Decide what ``event`` calls for and do it. Skips and schedule runs open no runtime."""
    decision = decide(event, policy)
    reporter.step(f"{event.name}{'/' + event.action if event.action else ''}: {decision.action} "
                  f"({decision.reason})")
    if not decision.acts:
        return Outcome(decision, detail=decision.reason)
    job = _Job(open_runtime(), decision, publisher, reporter, run_url, output_names)
    actions: dict[str, Callable[[_Job], Outcome]] = {
        "spinup": _spinup, "teardown": _teardown,
        "keep": lambda j: _set_keep(j, True), "unkeep": lambda j: _set_keep(j, False)}
    return actions[decision.action](job)


def _comment(job: _Job, stack: StackId, record: Record | None, *, status: str, differences: Sequence = (),
             error: str = "", create: bool = True, cost: str = "") -> tuple[str, str]:
    d = job.decision
    body = render_comment(CommentInput(
        slug=stack.slug, branch=stack.branch, status=status, pr=d.pr, title=d.title,
        owner=record.owner if record else (d.owner or ""), record=record, differences=differences,
        error=error, run_url=job.run_url, output_names=job.output_names, cost=cost))
    return body, job.publisher.comment(d.repo, d.pr, marker(stack.slug), body, create=create)


def _health_status(job: _Job, record: Record | None) -> None:
    """The stack's health and tests as a commit status on the head commit (best effort)."""
    if record is None or not record.health:
        return
    failing = record.failing_checks
    if failing or record.tests_status == "failed":
        state = "failure"
        text = f"failing: {', '.join(failing)}" if failing else "health passing; tests failed"
    else:
        state = "success"
        text = f"health {record.health_status}" + (f", tests {record.tests_status}" if record.tests else "")
    try:
        job.publisher.commit_status(job.decision.repo, job.decision.ref, state, clip(text, 140))
    except ProvisionerError as exc:
        job.reporter.step(f"could not post the health status to GitHub: {exc}")


def _report_failure(job: _Job, stack: StackId, deployment: Any, exc: ProvisionerError) -> None:
    """Best effort: a failure to report must not hide the failure itself."""
    d = job.decision
    try:
        job.publisher.finish_deployment(d.repo, deployment, "failure", description=clip(str(exc), 140))
        if isinstance(exc, LockTimeout):
            return  # another run holds the stack and will update the comment itself
        _, record = status(job.rt, job.request)
        if record is not None and record.branch != stack.branch:
            record = None  # the slug belongs to another branch: show nothing of its stack here
        _comment(job, stack, record, status=record.status if record else "failed", error=str(exc))
        if isinstance(exc, HealthFailed):
            _health_status(job, record)
    except ProvisionerError as again:
        job.reporter.step(f"could not report the failure to GitHub: {again}")


def _spinup(job: _Job) -> Outcome:
    d = job.decision
    stack = resolve_stack(job.rt, job.request)
    deployment = job.publisher.start_deployment(d.repo, d.ref, environment_name(stack.slug),
                                                f"staging stack {stack.slug}")
    try:
        result = spinup(job.rt, job.request, job.reporter)
    except ProvisionerError as exc:
        _report_failure(job, stack, deployment, exc)
        raise
    record = result.record
    assert record is not None  # a spinup that was not a dry run always ends with its record
    url = record.outputs.get("environment_url")
    job.publisher.finish_deployment(d.repo, deployment, "success",
                                    environment_url=url if isinstance(url, str) else None,
                                    description="staging stack ready")
    _health_status(job, record)
    cost_line = summary(for_tfvars(job.rt.settings, result.tfvars))
    body, how = _comment(job, stack, record, status=record.status, differences=result.differences,
                         cost=cost_line)
    detail = "no changes" if result.no_changes else "applied"
    return Outcome(d, stack, record, detail, body, how)


def _teardown(job: _Job) -> Outcome:
    d = job.decision
    stack = resolve_stack(job.rt, job.request)
    try:
        result = teardown(job.rt, job.request, job.reporter)
    except ProvisionerError as exc:
        _report_failure(job, stack, None, exc)
        raise
    deactivated = job.publisher.deactivate(d.repo, environment_name(stack.slug))
    _, record = status(job.rt, job.request)
    destroyed = result.action == "destroyed"
    body, how = _comment(job, stack, record, status="destroyed" if destroyed else "not running",
                         create=destroyed)
    detail = ("destroyed" if destroyed else "nothing to tear down") + (
        f"; {deactivated} deployment(s) marked inactive" if deactivated else "")
    return Outcome(d, stack, record, detail, body, how)


def _set_keep(job: _Job, keep: bool) -> Outcome:
    d = job.decision
    stack = resolve_stack(job.rt, job.request)
    record = set_keep(job.rt, job.request, keep)
    if record is None:
        return Outcome(d, stack, None, f"no live stack to {'keep' if keep else 'unkeep'}")
    differences = render_stack(job.rt.settings, stack, record.pr, record.owner).differences
    body, how = _comment(job, stack, record, status=record.status, differences=differences)
    return Outcome(d, stack, record, "kept" if keep else "no longer kept", body, how)
