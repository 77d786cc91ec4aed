"""Where a preview's news goes: GitHub (one comment per stack, deployments and their statuses)
through ``GitHubPublisher``, or, without a token, a sink the CLI prints (``OfflinePublisher``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from provisioner.github.api import GitHubClient

ENVIRONMENT_PREFIX = "staging/"
HEALTH_CONTEXT = "staging/health"   # the commit status of a stack's health checks and tests


def environment_name(slug: str) -> str:
    return ENVIRONMENT_PREFIX + slug


class Publisher(Protocol):
    def start_deployment(self, repo: str | None, ref: str | None, environment: str,
                         description: str) -> Any: ...

    def finish_deployment(self, repo: str | None, handle: Any, state: str, *,
                          environment_url: str | None = None, description: str = "") -> None: ...

    def deactivate(self, repo: str | None, environment: str) -> int: ...

    def comment(self, repo: str | None, pr: int | None, mark: str, body: str, *, create: bool) -> str: ...

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

    def deactivate(self, repo: str | None, environment: str) -> int:
        return 0

    def commit_status(self, repo: str | None, sha: str | None, state: str, description: str) -> str:
        return "not posted (no GitHub token)"

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

    def commit_status(self, repo: str | None, sha: str | None, state: str, description: str) -> str:
        """``staging/health`` on the pull request's head commit (only for a commit sha)."""
        if not (repo and sha and re.fullmatch(r"[0-9a-f]{40}", sha)):
            return "not posted (no head commit)"
        self.client.create_commit_status(repo, sha, state, context=HEALTH_CONTEXT,
                                         description=description, target_url=self.log_url)
        return f"{state} on {sha[:7]}"

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
