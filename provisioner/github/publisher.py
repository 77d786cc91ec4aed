"""Where a preview's news goes: GitHub (one comment per stack, deployments and their statuses)
through ``GitHubPublisher``, or, without a token, a sink the CLI prints (``OfflinePublisher``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from provisioner.github.api import GitHubClient, GitHubError
from provisioner.github.comment import marker, part_marker, parts_prefix

ENVIRONMENT_PREFIX = "staging/"
HEALTH_CONTEXT = "staging/health"   # the commit status of a stack's health checks and tests


def environment_name(slug: str) -> str:
    return ENVIRONMENT_PREFIX + slug


class Publisher(Protocol):
    def start_deployment(self, repo: str | None, ref: str | None, environment: str,
                         description: str) -> Any: ...

    def finish_deployment(self, repo: str | None, handle: Any, state: str, *,
                          environment_url: str | None = None, description: str = "") -> None: ...

    def deactivate(self, repo: str | None, environment: str, description: str = "") -> int: ...

    def comment(self, repo: str | None, pr: int | None, slug: str, bodies: Sequence[str], *,
                create: bool) -> str: ...

    def pr_open(self, repo: str | None, pr: int | None) -> bool | None:
        """Whether the PR is open now (None: cannot tell)."""

    def environment_exists(self, repo: str | None, environment: str) -> bool | None: ...

    def remove_environment(self, repo: str | None, environment: str) -> str: ...

    def commit_status(self, repo: str | None, sha: str | None, state: str, description: str) -> str: ...


class OfflinePublisher:
    """No GitHub token: no deployments; the comment goes to ``sink`` (stdout or a file)."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink = sink

    def start_deployment(self, repo: str | None, ref: str | None, environment: str, description: str) -> Any:
        return None

    def finish_deployment(self, repo: str | None, handle: Any, state: str, *,
                          environment_url: str | None = None, description: str = "") -> None:
        return None

    def deactivate(self, repo: str | None, environment: str, description: str = "") -> int:
        return 0

    def commit_status(self, repo: str | None, sha: str | None, state: str, description: str) -> str:
        return "not posted (no GitHub token)"

    def comment(self, repo: str | None, pr: int | None, slug: str, bodies: Sequence[str], *,
                create: bool) -> str:
        if not create:
            return "not written (no stack was destroyed)"
        self._sink("\n\n".join(bodies))
        return "written (no GitHub token: not posted)"

    def pr_open(self, repo: str | None, pr: int | None) -> bool | None:
        return None

    def environment_exists(self, repo: str | None, environment: str) -> bool | None:
        return None

    def remove_environment(self, repo: str | None, environment: str) -> str:
        return ""


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

    def deactivate(self, repo: str | None, environment: str, description: str = "") -> int:
        """Mark every deployment of ``environment`` inactive that is not already."""
        if not (self.deployments and repo):
            return 0
        found = self.client.list_deployments(repo, environment)
        for dep in found:
            self.client.create_deployment_status(repo, int(dep["id"]), "inactive", log_url=self.log_url,
                                                 description=description or "staging stack destroyed")
        return len(found)

    def commit_status(self, repo: str | None, sha: str | None, state: str, description: str) -> str:
        """``staging/health`` on the pull request's head commit (only for a commit sha)."""
        if not (repo and sha and re.fullmatch(r"[0-9a-f]{40}", sha)):
            return "not posted (no head commit)"
        self.client.create_commit_status(repo, sha, state, context=HEALTH_CONTEXT,
                                         description=description, target_url=self.log_url)
        return f"{state} on {sha[:7]}"

    def comment(self, repo: str | None, pr: int | None, slug: str, bodies: Sequence[str], *,
                create: bool) -> str:
        """The stack's comment (and its continuations, when the body needed several)."""
        if repo is None or pr is None:
            how = "not posted (no pull request)"
        else:
            marks = [marker(slug)] + [part_marker(slug, n) for n in range(2, len(bodies) + 1)]
            done = self.client.sync_comments(repo, pr, list(zip(marks, bodies, strict=True)), create=create,
                                             leftover_prefix=parts_prefix(slug))
            how, found = done[0]
            if found:
                how = f"{how} {found.get('html_url') or ''}".rstrip()
            if len(done) > 1:
                how += f" (+{len(done) - 1} continuation comment{'s' if len(done) > 2 else ''})"
        if self._copy and not how.startswith("absent"):
            self._copy("\n\n".join(bodies))
        return how

    def pr_open(self, repo: str | None, pr: int | None) -> bool | None:
        """None when GitHub cannot tell (an error after retries): the caller goes on as before."""
        if repo is None or pr is None:
            return None
        try:
            return self.client.pr_state(repo, pr) == "open"
        except GitHubError:
            return None

    def environment_exists(self, repo: str | None, environment: str) -> bool | None:
        if not (self.deployments and repo):
            return None
        try:
            return self.client.environment_exists(repo, environment)
        except GitHubError:
            return None   # e.g. a token that may not read environments: then it is not ours to delete

    def remove_environment(self, repo: str | None, environment: str) -> str:
        """Delete the environment; a token without administration rights leaves it, saying so."""
        if not (self.deployments and repo):
            return ""
        try:
            gone = self.client.delete_environment(repo, environment)
        except GitHubError as exc:
            if exc.status in (401, 403):
                return f"environment {environment} left: the token may not delete environments ({exc.status})"
            raise
        return f"environment {environment} deleted" if gone else ""
