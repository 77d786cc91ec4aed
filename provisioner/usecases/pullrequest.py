"""Pull request previews: carry out what an event calls for, then tell GitHub.

``handle`` decides (``github.events.decide``, pure), then acts through the use cases
(spinup, teardown, set_keep) and reports through a ``github.publisher.Publisher``. The core
reads no environment: the run URL, the token and the sinks are built at the CLI edge.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from provisioner.config import Settings
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.errors import HealthFailed, LockTimeout, ProvisionerError
from provisioner.github.comment import HOURS_PER_MONTH, CommentInput, clip, render_comments
from provisioner.github.events import Decision, Event, Policy, decide
from provisioner.github.publisher import GitHubPublisher, OfflinePublisher, Publisher, environment_name
from provisioner.render.cost import for_tfvars
from provisioner.usecases.lifetime import set_keep, status
from provisioner.usecases.operation import operation
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
    keep_label: str = ""

    @property
    def request(self) -> StackRequest:
        d = self.decision
        if d.slug and not d.branch:  # a manual teardown by stack id: the branch may be gone
            return StackRequest(branch=None, slug=d.slug, source="event")
        return StackRequest(branch=d.branch, pr=d.pr, owner=d.owner, source="event")


def cost_line(settings: Settings, tfvars: Mapping[str, Any]) -> str:
    """Hourly and monthly (730 h) estimates, staging against production."""
    view = for_tfvars(settings, tfvars)
    s, p = view.staging.hourly, view.production.hourly
    saving = f" ({view.saving_ratio:.0%} less)" if view.saving_ratio is not None else ""
    return (f"estimate: ${s:.4f}/h staging vs ${p:.4f}/h production{saving}; monthly ({HOURS_PER_MONTH} h): "
            f"${s * HOURS_PER_MONTH:,.2f} vs ${p * HOURS_PER_MONTH:,.2f}")


def handle(event: Event, policy: Policy, open_runtime: Callable[[], Runtime], publisher: Publisher,
           reporter: Reporter, *, run_url: str | None = None,
           output_names: Sequence[str] | None = None) -> Outcome:
    """Decide what ``event`` calls for and do it. Skips and schedule runs open no runtime."""
    decision = decide(event, policy)
    reporter.step(f"{event.name}{'/' + event.action if event.action else ''}: {decision.action} "
                  f"({decision.reason})")
    if not decision.acts:
        return Outcome(decision, detail=decision.reason)
    job = _Job(open_runtime(), decision, publisher, reporter, run_url, output_names, policy.keep_label)
    actions: dict[str, Callable[[_Job], Outcome]] = {
        "spinup": _spinup, "teardown": _teardown, "stale": _stale,
        "keep": lambda j: _set_keep(j, True), "unkeep": lambda j: _set_keep(j, False)}
    return actions[decision.action](job)


def _comment(job: _Job, stack: StackId, record: Record | None, *, status: str, differences: Sequence = (),
             error: str = "", create: bool = True, pr: int | None = None, **more: Any) -> tuple[str, str]:
    """Render and post the stack's comment on ``pr`` (default: the event's PR)."""
    d = job.decision
    bodies = render_comments(CommentInput(
        slug=stack.slug, branch=stack.branch, status=status, pr=pr or d.pr,
        title=d.title if pr in (None, d.pr) else "", owner=record.owner if record else (d.owner or ""),
        record=record, differences=differences, error=error, run_url=job.run_url,
        output_names=job.output_names, keep_label=job.keep_label, updated_at=time.time(), **more))
    return "\n\n".join(bodies), job.publisher.comment(d.repo, pr or d.pr, stack.slug, bodies, create=create)


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
    if d.pr is not None and job.publisher.pr_open(d.repo, d.pr) is False:
        # a push queued just before the close: applying now would rebuild the stack after its teardown
        return Outcome(d, stack, job.rt.registry.get(stack.slug),
                       f"pull request #{d.pr} is no longer open (checked through the API); nothing applied")
    before = job.rt.registry.get(stack.slug)
    env = environment_name(stack.slug)
    ours = bool(before and before.live and before.github_environment)
    created_env = ours or job.publisher.environment_exists(d.repo, env) is False
    deployment = job.publisher.start_deployment(d.repo, d.ref, env, f"staging stack {stack.slug}")
    try:
        result = spinup(job.rt, job.request, job.reporter)
    except ProvisionerError as exc:
        _report_failure(job, stack, deployment, exc)
        raise
    record = result.record
    assert record is not None  # a spinup that was not a dry run always ends with its record
    record = job.rt.registry.put(replace(record, commit=d.ref if d.pr is not None and d.ref else "",
                                         github_environment=created_env and deployment is not None),
                                 expected=record)
    url = record.outputs.get("environment_url")
    job.publisher.finish_deployment(d.repo, deployment, "success",
                                    environment_url=url if isinstance(url, str) else None,
                                    description="staging stack ready")
    _health_status(job, record)
    body, how = _comment(job, stack, record, status=record.status, differences=result.differences,
                         cost=cost_line(job.rt.settings, result.tfvars), applied=result.applied,
                         note=" ".join(n for n in (_skip_note(result.skipped_since),
                                                   _shared_note(record, d.pr)) if n))
    detail = "no changes" if result.no_changes else "applied"
    return Outcome(d, stack, record, detail, body, how)


def _skip_note(since: float | None) -> str:
    """A spinup that skipped Terraform says so (the comment's change counts are the last apply's)."""
    if since is None:
        return ""
    from provisioner.usecases.skip import unchanged_note

    note = unchanged_note(since)
    return note[0].upper() + note[1:] + "."


def _shared_note(record: Record, pr: int | None) -> str:
    others = [p for p in record.using_prs() if p != pr]
    if not others:
        return ""
    return (f"This stack is shared with pull request{'s' if len(others) > 1 else ''} "
            f"{', '.join(f'#{p}' for p in others)} (same head branch); it is torn down when the last "
            "of them closes.")


def _teardown(job: _Job) -> Outcome:
    d = job.decision
    stack = resolve_stack(job.rt, job.request)
    if d.closing:
        shared = _leave_shared(job, stack)
        if shared is not None:
            return shared
    before = job.rt.registry.get(stack.slug)
    try:
        result = teardown(job.rt, job.request, job.reporter)
    except ProvisionerError as exc:
        _report_failure(job, stack, None, exc)
        raise
    env = environment_name(stack.slug)
    deactivated = job.publisher.deactivate(d.repo, env, f"staging stack destroyed: {d.reason}")
    removed = job.publisher.remove_environment(d.repo, env) if before and before.github_environment else ""
    _, record = status(job.rt, job.request)
    destroyed = result.action == "destroyed"
    body, how = _comment(job, stack, record, status="destroyed" if destroyed else "not running",
                         create=destroyed, note=f"Torn down: {d.reason}." if destroyed else "",
                         bring_back=_bring_back(d),
                         destroyed=result.counts.remove if destroyed and result.counts else None)
    detail = ("destroyed" if destroyed else "nothing to tear down") + (
        f"; {deactivated} deployment(s) marked inactive" if deactivated else "") + (
        f"; {removed}" if removed else "")
    return Outcome(d, stack, record, detail, body, how)


def _bring_back(d: Decision) -> str:
    if d.reason.startswith("converted to draft"):
        return "Mark the pull request ready for review to bring the stack back."
    if d.reason.startswith("pull request closed"):
        return "Reopen the pull request to bring the stack back."
    return ""


def _leave_shared(job: _Job, stack: StackId) -> Outcome | None:
    """The closing PR leaves the stack's set of open PRs. None when no other open PR uses it (then
    the caller tears it down); else the stack stays and both PRs' comments say so."""
    d, rt = job.decision, job.rt
    record = rt.registry.get(stack.slug)
    if record is None or not record.live or d.pr is None:
        return None
    others = [p for p in record.using_prs() if p != d.pr and job.publisher.pr_open(d.repo, p) is not False]
    if not others:
        return None
    with operation(rt, "pr-close (shared stack)", stack, job.reporter):
        current = rt.registry.get(stack.slug)
        if current is None or not current.live:
            return None
        record = rt.registry.put(replace(current, open_prs=others, pr=others[0]), expected=current)
    names = ", ".join(f"#{p}" for p in others)
    why = d.reason.removeprefix("pull request ")
    body, how = _comment(job, stack, record, status=record.status, note=(
        f"Pull request #{d.pr} {why}; the stack stays up: {names} still use{'s' if len(others) == 1 else ''} "
        "it (same head branch)."), create=False)
    for other in others:
        _comment(job, stack, record, status=record.status, pr=other, create=False, note=(
            f"Pull request #{d.pr} (same head branch) {why}; this stack stays up for this pull request."))
    return Outcome(d, stack, record, f"stack kept: still used by {names}", body, how)


def _stale(job: _Job) -> Outcome:
    """A kept stack of a PR turned draft: it stays, and the comment says it is not updated."""
    d = job.decision
    stack = resolve_stack(job.rt, job.request)
    record = job.rt.registry.get(stack.slug)
    if record is None or not record.live:
        return Outcome(d, stack, record, "no live stack")
    body, how = _comment(job, stack, record, status="stale", create=False, note=(
        "This pull request was converted to a draft: the preview is no longer updated (it shows the "
        "deployed commit). Mark it ready for review to update it."))
    return Outcome(d, stack, record, "marked stale (draft)", body, how)


def _set_keep(job: _Job, keep: bool) -> Outcome:
    d = job.decision
    stack = resolve_stack(job.rt, job.request)
    record = set_keep(job.rt, job.request, keep)
    if record is None:
        return Outcome(d, stack, None, f"no live stack to {'keep' if keep else 'unkeep'}")
    rendered = render_stack(job.rt.settings, stack, record.pr, record.owner)
    body, how = _comment(job, stack, record, status=record.status, differences=rendered.differences,
                         cost=cost_line(job.rt.settings, rendered.tfvars), note=_shared_note(record, d.pr))
    return Outcome(d, stack, record, "kept" if keep else "no longer kept", body, how)
