"""Pull request previews: carry out what an event calls for, then tell GitHub.

``handle`` decides (``github_events.decide``, pure), then acts through the
lifecycle (spinup, teardown, set_keep) and reports through a ``Publisher``:
``GitHubPublisher`` posts the one comment per stack and the deployment
statuses; ``OfflinePublisher`` (no token) only hands the comment to a sink so
the CLI can print it. The core reads no environment: the run URL, the token
and the sinks are built at the CLI edge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.errors import LockTimeout, ProvisionerError
from provisioner.github.api import GitHubClient
from provisioner.github.comment import CommentInput, clip, marker, render_comment
from provisioner.github.events import Decision, Event, Policy, decide
from provisioner.render.cost import for_tfvars, summary
from provisioner.usecases import stacks as lifecycle
from provisioner.usecases.runtime import Runtime

ENVIRONMENT_PREFIX = "staging/"


def environment_name(slug: str) -> str:
    return ENVIRONMENT_PREFIX + slug


class Publisher(Protocol):
    def start_deployment(self, repo: str | None, ref: str | None, environment: str,
                         description: str) -> Any: ...

    def finish_deployment(self, repo: str | None, handle: Any, state: str, *,
                          environment_url: str | None = None, description: str = "") -> None: ...

    def deactivate(self, repo: str | None, environment: str) -> int: ...

    def comment(self, repo: str | None, pr: int | None, mark: str, body: str, *, create: bool) -> str: ...


class OfflinePublisher:
    """No GitHub token: no deployments; the comment goes to ``sink`` (stdout or a file)."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink

    def start_deployment(self, repo: str | None, ref: str | None, environment: str, description: str) -> Any:
        return None

    def finish_deployment(self, repo: str | None, handle: Any, state: str, *,
                          environment_url: str | None = None, description: str = "") -> None:
        return None

    def deactivate(self, repo: str | None, environment: str) -> int:
        return 0

    def comment(self, repo: str | None, pr: int | None, mark: str, body: str, *, create: bool) -> str:
        if not create:
            return "not written (no stack was destroyed)"
        self._sink(body)
        return "written (no GitHub token: not posted)"


class GitHubPublisher:
    """Comments and deployments through the API; ``copy`` also receives every comment posted."""

    def __init__(self, client: GitHubClient, *, deployments: bool = True, log_url: str | None = None,
                 copy: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.deployments = deployments
        self.log_url = log_url
        self._copy = copy

    def start_deployment(self, repo: str | None, ref: str | None, environment: str, description: str) -> Any:
        if not (self.deployments and repo and ref):
            return None
        dep_id = self.client.create_deployment(repo, ref=ref, environment=environment,
                                               description=description)
        self.client.create_deployment_status(repo, dep_id, "in_progress", log_url=self.log_url,
                                             description="applying the staging stack")
        return dep_id

    def finish_deployment(self, repo: str | None, handle: Any, state: str, *,
                          environment_url: str | None = None, description: str = "") -> None:
        if handle is None or not repo:
            return
        self.client.create_deployment_status(repo, handle, state, environment_url=environment_url,
                                             log_url=self.log_url, description=description)

    def deactivate(self, repo: str | None, environment: str) -> int:
        if not (self.deployments and repo):
            return 0
        found = self.client.list_deployments(repo, environment)
        for dep in found:
            self.client.create_deployment_status(repo, int(dep["id"]), "inactive", log_url=self.log_url,
                                                 description="staging stack destroyed")
        return len(found)

    def comment(self, repo: str | None, pr: int | None, mark: str, body: str, *, create: bool) -> str:
        if repo is None or pr is None:
            how = "not posted (no pull request)"
        else:
            how, found = self.client.upsert_comment(repo, pr, mark, body, create=create)
            if found:
                how = f"{how} {found.get('html_url') or ''}".rstrip()
        if self._copy and how != "absent":
            self._copy(body)
        return how


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
    reporter: lifecycle.Reporter
    run_url: str | None
    output_names: Sequence[str] | None

    @property
    def request(self) -> lifecycle.StackRequest:
        d = self.decision
        return lifecycle.StackRequest(branch=d.branch, pr=d.pr, owner=d.owner, source="event")


def handle(event: Event, policy: Policy, open_runtime: Callable[[], Runtime], publisher: Publisher,
           reporter: lifecycle.Reporter, *, run_url: str | None = None,
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


def _report_failure(job: _Job, stack: StackId, deployment: Any, exc: ProvisionerError) -> None:
    """Best effort: a failure to report must not hide the failure itself."""
    d = job.decision
    try:
        job.publisher.finish_deployment(d.repo, deployment, "failure", description=clip(str(exc), 140))
        if isinstance(exc, LockTimeout):
            return  # another run holds the stack and will update the comment itself
        _, record = lifecycle.status(job.rt, job.request)
        if record is not None and record.branch != stack.branch:
            record = None  # the slug belongs to another branch: show nothing of its stack here
        _comment(job, stack, record, status=record.status if record else "failed", error=str(exc))
    except ProvisionerError as again:
        job.reporter.step(f"could not report the failure to GitHub: {again}")


def _spinup(job: _Job) -> Outcome:
    d = job.decision
    stack = lifecycle.resolve_stack(job.rt, job.request)
    deployment = job.publisher.start_deployment(d.repo, d.ref, environment_name(stack.slug),
                                                f"staging stack {stack.slug}")
    try:
        result = lifecycle.spinup(job.rt, job.request, job.reporter)
    except ProvisionerError as exc:
        _report_failure(job, stack, deployment, exc)
        raise
    record = result.record
    url = record.outputs.get("environment_url")
    job.publisher.finish_deployment(d.repo, deployment, "success",
                                    environment_url=url if isinstance(url, str) else None,
                                    description="staging stack ready")
    cost_line = summary(for_tfvars(job.rt.settings, result.tfvars))
    body, how = _comment(job, stack, record, status=record.status, differences=result.differences,
                         cost=cost_line)
    detail = "no changes" if result.no_changes else "applied"
    return Outcome(d, stack, record, detail, body, how)


def _teardown(job: _Job) -> Outcome:
    d = job.decision
    stack = lifecycle.resolve_stack(job.rt, job.request)
    try:
        result = lifecycle.teardown(job.rt, job.request, job.reporter)
    except ProvisionerError as exc:
        _report_failure(job, stack, None, exc)
        raise
    deactivated = job.publisher.deactivate(d.repo, environment_name(stack.slug))
    _, record = lifecycle.status(job.rt, job.request)
    destroyed = result.action == "destroyed"
    body, how = _comment(job, stack, record, status="destroyed" if destroyed else "not running",
                         create=destroyed)
    detail = ("destroyed" if destroyed else "nothing to tear down") + (
        f"; {deactivated} deployment(s) marked inactive" if deactivated else "")
    return Outcome(d, stack, record, detail, body, how)


def _set_keep(job: _Job, keep: bool) -> Outcome:
    d = job.decision
    stack = lifecycle.resolve_stack(job.rt, job.request)
    record = lifecycle.set_keep(job.rt, job.request, keep)
    if record is None:
        return Outcome(d, stack, None, f"no live stack to {'keep' if keep else 'unkeep'}")
    differences = lifecycle.render_stack(job.rt, stack, record.pr, record.owner).differences
    body, how = _comment(job, stack, record, status=record.status, differences=differences)
    return Outcome(d, stack, record, "kept" if keep else "no longer kept", body, how)
