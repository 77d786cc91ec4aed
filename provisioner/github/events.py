"""GitHub Actions event payloads -> what to do with the preview stack. Pure: no I/O.

``parse_event(name, payload)`` reads the fields we use from GitHub's event
payload (the JSON file at ``$GITHUB_EVENT_PATH``) into small typed views;
``decide(event, policy)`` turns one into a ``Decision``. Everything in a
payload that a fork author controls (branch, title, login) stays data: the
branch is slugged by ``naming``, the rest is escaped where it is shown.

A fork's branch is qualified with its owner (``head.label``, ``someone:main``),
so a fork PR can never name, and so never update or tear down, a stack that
belongs to a branch of the base repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from provisioner.errors import BadInput
from provisioner.github.api import check_repo

PR_EVENTS = ("pull_request", "pull_request_target")
SPINUP_ACTIONS = ("opened", "reopened", "synchronize", "ready_for_review")
DISPATCH_ACTIONS = ("spinup", "teardown")
CLEANUP_NOTE = ("the nightly cleanup is its own command, `provisioner cleanup` (it reads PR states "
                "with GITHUB_TOKEN and GITHUB_REPOSITORY); this pr-event run does nothing")


class Policy(Protocol):
    """What ``decide`` needs from the ``[github]`` settings."""

    @property
    def label(self) -> str | None: ...

    @property
    def keep_label(self) -> str: ...

    @property
    def skip_drafts(self) -> bool: ...

    @property
    def allow_forks(self) -> bool: ...


@dataclass(frozen=True)
class PullRequest:
    number: int
    state: str
    draft: bool
    merged: bool
    title: str
    author: str
    head_ref: str
    head_label: str
    head_sha: str
    head_repo: str | None   # None when the fork was deleted
    base_repo: str
    labels: tuple[str, ...] = ()

    @property
    def fork(self) -> bool:
        return self.head_repo != self.base_repo

    @property
    def branch(self) -> str:
        """The stack's branch: the head ref, owner-qualified for forks."""
        return self.head_label if self.fork else self.head_ref


@dataclass(frozen=True)
class Event:
    name: str
    action: str
    repo: str | None
    sender: str = ""
    pull_request: PullRequest | None = None
    label: str | None = None                    # labeled / unlabeled
    inputs: Mapping[str, Any] = field(default_factory=dict)   # workflow_dispatch
    ref: str = ""                               # workflow_dispatch


@dataclass(frozen=True)
class Decision:
    action: str          # spinup | teardown | keep | unkeep | stale | skip | cleanup
    reason: str
    repo: str | None = None
    branch: str | None = None
    pr: int | None = None
    owner: str | None = None
    ref: str | None = None      # what a deployment points at: the head commit, or the branch
    title: str = ""
    slug: str | None = None     # workflow_dispatch teardown by stack id (the branch may be gone)
    closing: bool = False       # the PR closed or turned draft: other open PRs may still use the stack

    @property
    def acts(self) -> bool:
        return self.action in ("spinup", "teardown", "keep", "unkeep", "stale")


# --- parsing ------------------------------------------------------------------------------------

def _get(data: Any, path: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    value = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None and not required:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadInput(f"event payload: {path} is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def _pull_request(payload: Mapping[str, Any]) -> PullRequest:
    pr = _get(payload, "pull_request", Mapping)

    def get(path: str, kind: type, required: bool = True) -> Any:
        return _get(payload, f"pull_request.{path}", kind, required=required)

    number = get("number", int)
    head_repo, head_ref = get("head.repo.full_name", str, False), get("head.ref", str)
    labels = pr.get("labels") or []
    return PullRequest(
        number=number, state=get("state", str), draft=bool(pr.get("draft")), merged=bool(pr.get("merged")),
        title=str(pr.get("title") or ""), author=get("user.login", str),
        head_ref=head_ref, head_sha=get("head.sha", str),
        head_label=get("head.label", str, False) or f"{head_repo or 'deleted-fork'}:{head_ref}",
        head_repo=head_repo, base_repo=check_repo(get("base.repo.full_name", str)),
        labels=tuple(str(lb.get("name")) for lb in labels if isinstance(lb, Mapping) and lb.get("name")),
    )


def parse_event(name: str, payload: Any) -> Event:
    """GitHub's event payload -> Event. Raises BadInput for a payload we cannot read."""
    if not isinstance(payload, Mapping):
        raise BadInput("event payload: the top level must be a JSON object")
    repo = _get(payload, "repository.full_name", str, required=False)
    sender = _get(payload, "sender.login", str, required=False) or ""
    if name in PR_EVENTS:
        pr = _pull_request(payload)
        return Event(name, _get(payload, "action", str), pr.base_repo, sender, pr,
                     label=_get(payload, "label.name", str, required=False))
    if name == "workflow_dispatch":
        inputs = _get(payload, "inputs", Mapping, required=False) or {}
        return Event(name, "", check_repo(repo) if repo else None, sender, inputs=dict(inputs),
                     ref=_get(payload, "ref", str, required=False) or "")
    if name == "schedule":
        return Event(name, "", repo, sender)
    raise BadInput(f"event {name!r} is not handled; pr-event handles "
                   f"{', '.join(PR_EVENTS)}, workflow_dispatch and schedule")


# --- deciding -----------------------------------------------------------------------------------

def _for_pr(action: str, reason: str, pr: PullRequest) -> Decision:
    return Decision(action, reason, repo=pr.base_repo, branch=pr.branch, pr=pr.number, owner=pr.author,
                    ref=pr.head_sha, title=pr.title)


def _gate(pr: PullRequest, policy: Policy) -> str | None:
    """Why this PR gets no preview, or None when it may have one."""
    if pr.state != "open":
        return f"the pull request is {pr.state}"
    if pr.draft and policy.skip_drafts:
        return "draft pull requests get no preview (github.skip_drafts)"
    if pr.fork and not policy.allow_forks:
        return "pull requests from forks get no preview (github.allow_forks is false)"
    if policy.label and policy.label not in pr.labels:
        return f"the pull request does not carry the label {policy.label!r} (github.label)"
    return None


def _spinup_unless_gated(pr: PullRequest, policy: Policy, why: str) -> Decision:
    gated = _gate(pr, policy)
    if gated:
        return _for_pr("skip", gated, pr)
    return _for_pr("spinup", why, pr)


def _closing(reason: str, pr: PullRequest) -> Decision:
    return replace(_for_pr("teardown", reason, pr), closing=True)


def _to_draft(pr: PullRequest, policy: Policy) -> Decision:
    if not policy.skip_drafts:
        return _for_pr("skip", "draft pull requests keep their preview (github.skip_drafts is false)", pr)
    if policy.keep_label in pr.labels:
        return _for_pr("stale", f"converted to draft; the stack is kept ({policy.keep_label!r}), so it "
                                "stays, but is not updated while the pull request is a draft", pr)
    return _closing("converted to draft: draft pull requests get no preview (github.skip_drafts)", pr)


def _decide_pr(event: Event, policy: Policy) -> Decision:
    pr = event.pull_request
    assert pr is not None
    action = event.action
    if action == "closed":
        return _closing(f"pull request closed ({'merged' if pr.merged else 'not merged'})", pr)
    if action == "converted_to_draft":
        return _to_draft(pr, policy)
    if action in SPINUP_ACTIONS:
        return _spinup_unless_gated(pr, policy, f"pull request {action}")
    if action in ("labeled", "unlabeled") and event.label is not None:
        added = action == "labeled"
        if event.label == policy.keep_label:
            if pr.state != "open":
                return _for_pr("skip", f"the pull request is {pr.state}", pr)
            return _for_pr("keep" if added else "unkeep",
                           f"label {event.label!r} {'added' if added else 'removed'}", pr)
        if policy.label and event.label == policy.label:
            if added:
                return _spinup_unless_gated(pr, policy, f"label {event.label!r} added")
            return _for_pr("teardown", f"label {event.label!r} removed (github.label)", pr)
        return _for_pr("skip", f"label {event.label!r} means nothing to the provisioner", pr)
    return _for_pr("skip", f"pull request action {action!r} needs nothing", pr)


def _input(event: Event, name: str) -> str:
    value = event.inputs.get(name)
    return value.strip() if isinstance(value, str) else ""


def _dispatch_branch(event: Event) -> str:
    """The ``branch`` input as a branch name: ``refs/heads/`` dropped, tags and other refs refused."""
    branch = _input(event, "branch")
    if branch.startswith("refs/tags/"):
        raise BadInput(f"workflow_dispatch input branch={branch!r} is a tag; staging stacks are per "
                       "branch", input="branch")
    if branch.startswith("refs/") and not branch.startswith("refs/heads/"):
        raise BadInput(f"workflow_dispatch input branch={branch!r} is not a branch", input="branch")
    return branch.removeprefix("refs/heads/")


def _decide_dispatch(event: Event) -> Decision:
    """Both inputs are required: nothing is guessed from the ref the workflow was started on.

    A teardown may name the stack by id (input ``stack``, which then wins over ``branch``): its branch
    may be gone, or its name not known exactly. A spinup given a stack id is refused."""
    action = _input(event, "action")
    if not action:
        raise BadInput("workflow_dispatch: the input 'action' is missing (spinup or teardown)",
                       input="action")
    if action not in DISPATCH_ACTIONS:
        raise BadInput(f"workflow_dispatch input action={action!r}: expected one of "
                       f"{', '.join(DISPATCH_ACTIONS)}", input="action")
    slug = _input(event, "stack") or None
    if slug and action != "teardown":
        raise BadInput(f"workflow_dispatch input stack={slug!r} is for teardown only: a spinup is built "
                       "from a branch (give the input 'branch')", input="stack")
    branch = _dispatch_branch(event)
    if not branch and not slug:
        raise BadInput("workflow_dispatch: the input 'branch' is missing (the branch whose stack to "
                       f"{action}" + ("; or name the stack with the input 'stack'" if action == "teardown"
                                      else "") + ")", input="branch")
    if slug:  # a teardown by stack id: the id names the stack exactly, the branch may be gone or mistyped
        return Decision(action, f"manual {action} of stack {slug} (workflow_dispatch)", repo=event.repo,
                        owner=event.sender or None, slug=slug)
    return Decision(action, f"manual {action} (workflow_dispatch)", repo=event.repo, branch=branch,
                    owner=event.sender or None, ref=branch)


def decide(event: Event, policy: Policy) -> Decision:
    """What to do for one event, and why."""
    if event.name in PR_EVENTS:
        return _decide_pr(event, policy)
    if event.name == "workflow_dispatch":
        return _decide_dispatch(event)
    return Decision("cleanup", CLEANUP_NOTE, repo=event.repo)
