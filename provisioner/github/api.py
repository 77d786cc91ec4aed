"""A small GitHub REST client: issue comments, deployments, pull request state.

httpx for HTTP, tenacity for retries. Retried: 5xx, transport errors, and
secondary rate limits (403/429 carrying ``retry-after`` or
``x-ratelimit-remaining: 0``). ``retry-after`` is honoured but capped by the
injectable ``RetryPolicy`` so tests (and impatient CI jobs) stay fast. A plain
403/404/422 is an answer, not a hiccup, and is never retried.

The token is sent only to the configured API host (pagination links pointing
anywhere else are refused) and never appears in an error message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from provisioner.errors import BadInput, ProvisionerError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 50
DESCRIPTION_LIMIT = 140  # GitHub refuses longer deployment (status) descriptions
_REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
# Authors whose marker comments we update: bots (github-actions[bot], apps) and people with write access.
_TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


class GitHubError(ProvisionerError):
    """GitHub answered with an error (after retries, where retrying made sense)."""

    def __init__(self, method: str, path: str, status: int | None, detail: str) -> None:
        where = f"{method} {path}"
        super().__init__(f"GitHub API {where} failed" + (f" ({status})" if status else "") + f": {detail}",
                         method=method, path=path, status=status)
        self.status = status


class _Transient(Exception):
    """A response (or transport failure) worth another try; ``retry_after`` is the server's hint."""

    def __init__(self, status: int | None, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying. ``sleep`` is injectable so tests can record waits instead of sleeping."""

    attempts: int = 5
    backoff: float = 1.0       # first wait after a 5xx; doubles each time
    max_wait: float = 60.0     # cap on any one wait, retry-after included
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        if hinted is not None:
            return max(0.0, min(float(hinted), self.max_wait))
        return float(min(self.backoff * 2 ** (state.attempt_number - 1), self.max_wait))


def check_repo(repo: str) -> str:
    if not isinstance(repo, str) or not _REPO.fullmatch(repo) or ".." in repo:
        raise BadInput(f"{repo!r} is not a GitHub repository name like 'owner/name'")
    return repo


def _retry_after(resp: httpx.Response, now: float) -> float | None:
    value = resp.headers.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                return None
    if resp.headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(resp.headers.get("x-ratelimit-reset", "")) - now)
        except ValueError:
            return 0.0
    return None


def _message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300] or resp.reason_phrase
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])[:300]
    return resp.reason_phrase


def is_ours(comment: dict[str, Any], marker: str) -> bool:
    """A comment we wrote: starts with the marker and comes from a bot or someone with write access."""
    body = comment.get("body") or ""
    user = comment.get("user") or {}
    trusted = user.get("type") == "Bot" or comment.get("author_association") in _TRUSTED_ASSOCIATIONS
    return body.startswith(marker) and trusted


class GitHubClient:
    def __init__(self, token: str, base_url: str = DEFAULT_API_URL, *, policy: RetryPolicy | None = None,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        if not token:
            raise BadInput("a GitHub token is required (GITHUB_TOKEN)")
        self.base_url = base_url.rstrip("/") + "/"
        self.policy = policy or RetryPolicy()
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, follow_redirects=False,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION, "User-Agent": "staging-provisioner"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------

    def _once(self, method: str, url: str, body: Any, params: dict | None) -> httpx.Response:
        try:
            resp = self._http.request(method, url, json=body, params=params)
        except httpx.TransportError as exc:
            raise _Transient(None, f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500:
            raise _Transient(resp.status_code, _message(resp), _retry_after(resp, time.time()))
        if resp.status_code in (403, 429):
            hint = _retry_after(resp, time.time())
            if hint is not None:
                raise _Transient(resp.status_code, _message(resp), hint)
        return resp

    def request(self, method: str, url: str, *, body: Any = None, params: dict | None = None,
                ok: tuple[int, ...] = (200, 201)) -> httpx.Response:
        """One API call with retries; a status outside ``ok`` raises GitHubError."""
        retrying = Retrying(stop=stop_after_attempt(self.policy.attempts), wait=self.policy.wait,
                            retry=retry_if_exception_type(_Transient), sleep=self.policy.sleep, reraise=True)
        try:
            resp = retrying(self._once, method, url, body, params)
        except _Transient as exc:
            raise GitHubError(method, _path(url), exc.status,
                              f"{exc.detail} (gave up after {self.policy.attempts} attempts)") from None
        if resp.status_code not in ok:
            raise GitHubError(method, _path(url), resp.status_code, _message(resp))
        return resp

    def _pages(self, url: str, params: dict | None = None) -> list[Any]:
        items: list[Any] = []
        next_url: str | None = url
        query: dict[str, Any] | None = {**(params or {}), "per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if next_url is None:
                break
            resp = self.request("GET", next_url, params=query)
            items.extend(resp.json())
            next_url, query = resp.links.get("next", {}).get("url"), None
            if next_url and not next_url.startswith(self.base_url):
                raise GitHubError("GET", _path(url), None, f"pagination left the API host: {next_url}")
        return items

    # --- comments ----------------------------------------------------------------------------

    def find_comment(self, repo: str, number: int, marker: str) -> dict[str, Any] | None:
        comments = self._pages(f"repos/{check_repo(repo)}/issues/{int(number)}/comments")
        return next((c for c in comments if is_ours(c, marker)), None)

    def upsert_comment(self, repo: str, number: int, marker: str, body: str, *,
                       create: bool = True) -> tuple[str, dict[str, Any] | None]:
        """Update our comment that starts with ``marker``, else create one (unless ``create`` is false).

        Returns ("updated" | "created" | "absent", the comment or None)."""
        if not body.startswith(marker):
            raise ValueError("the comment body must start with its marker")
        found = self.find_comment(repo, number, marker)
        if found is not None:
            resp = self.request("PATCH", f"repos/{check_repo(repo)}/issues/comments/{int(found['id'])}",
                                body={"body": body})
            return "updated", resp.json()
        if not create:
            return "absent", None
        resp = self.request("POST", f"repos/{check_repo(repo)}/issues/{int(number)}/comments",
                            body={"body": body})
        return "created", resp.json()

    def sync_comments(self, repo: str, number: int, parts: list[tuple[str, str]], *, create: bool = True,
                      leftover_prefix: str = "") -> list[tuple[str, dict[str, Any] | None]]:
        """Upsert one comment per (marker, body), in order; delete our comments that start with
        ``leftover_prefix`` and match no part (continuations an earlier, longer body needed).

        One listing for all parts. With ``create`` false nothing is created: a part without a comment
        is "absent"."""
        if any(not body.startswith(mark) for mark, body in parts):
            raise ValueError("every comment body must start with its marker")
        comments = self._pages(f"repos/{check_repo(repo)}/issues/{int(number)}/comments")
        done: list[tuple[str, dict[str, Any] | None]] = []
        for mark, body in parts:
            found = next((c for c in comments if is_ours(c, mark)), None)
            if found is not None:
                resp = self.request("PATCH", f"repos/{check_repo(repo)}/issues/comments/{int(found['id'])}",
                                    body={"body": body})
                done.append(("updated", resp.json()))
            elif create or (done and done[0][0] != "absent"):  # a continuation follows its first part
                resp = self.request("POST", f"repos/{check_repo(repo)}/issues/{int(number)}/comments",
                                    body={"body": body})
                done.append(("created", resp.json()))
            else:
                done.append(("absent", None))
        marks = {mark for mark, _ in parts}
        for c in comments:
            if leftover_prefix and is_ours(c, leftover_prefix) and not any(is_ours(c, m) for m in marks):
                self.request("DELETE", f"repos/{check_repo(repo)}/issues/comments/{int(c['id'])}",
                             ok=(204, 404))
        return done

    # --- environments ------------------------------------------------------------------------

    def _environment(self, repo: str, name: str) -> str:
        return f"repos/{check_repo(repo)}/environments/{quote(name, safe='')}"

    def environment_exists(self, repo: str, name: str) -> bool:
        resp = self.request("GET", self._environment(repo, name), ok=(200, 404))
        return resp.status_code == 200

    def delete_environment(self, repo: str, name: str) -> bool:
        """Delete a deployment environment (needs administration: write); False when it was not there."""
        resp = self.request("DELETE", self._environment(repo, name), ok=(204, 404))
        return resp.status_code == 204

    # --- deployments -------------------------------------------------------------------------

    def create_deployment(self, repo: str, *, ref: str, environment: str, description: str = "") -> int:
        resp = self.request("POST", f"repos/{check_repo(repo)}/deployments", ok=(201,), body={
            "ref": ref, "environment": environment, "auto_merge": False, "required_contexts": [],
            "transient_environment": True, "production_environment": False,
            "description": description[:DESCRIPTION_LIMIT]})
        return int(resp.json()["id"])

    def create_deployment_status(self, repo: str, deployment_id: int, state: str, *,
                                 environment_url: str | None = None, log_url: str | None = None,
                                 description: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"state": state, "description": description[:DESCRIPTION_LIMIT]}
        if environment_url:
            body["environment_url"] = environment_url
        if log_url:
            body["log_url"] = log_url
        resp = self.request("POST", f"repos/{check_repo(repo)}/deployments/{int(deployment_id)}/statuses",
                            body=body, ok=(201,))
        answer: dict[str, Any] = resp.json()
        return answer

    def list_deployments(self, repo: str, environment: str) -> list[dict[str, Any]]:
        return self._pages(f"repos/{check_repo(repo)}/deployments", {"environment": environment})

    # --- commit statuses ---------------------------------------------------------------------

    def create_commit_status(self, repo: str, sha: str, state: str, *, context: str,
                             description: str = "", target_url: str | None = None) -> dict[str, Any]:
        """A status (error|failure|pending|success) on a commit: shown on the pull request's checks."""
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            raise GitHubError("POST", f"repos/{repo}/statuses", None, f"not a commit sha: {sha[:60]!r}")
        body: dict[str, Any] = {"state": state, "context": context,
                                "description": description[:DESCRIPTION_LIMIT]}
        if target_url:
            body["target_url"] = target_url
        resp = self.request("POST", f"repos/{check_repo(repo)}/statuses/{sha}", body=body, ok=(201,))
        answer: dict[str, Any] = resp.json()
        return answer

    # --- pull requests -----------------------------------------------------------------------

    def pull(self, repo: str, number: int) -> dict[str, Any] | None:
        """The pull request as GitHub has it now; None when it is gone (deleted, or never existed)."""
        resp = self.request("GET", f"repos/{check_repo(repo)}/pulls/{int(number)}", ok=(200, 404, 410))
        if resp.status_code in (404, 410):
            return None
        data: dict[str, Any] = resp.json()
        return data

    def pr_state(self, repo: str, number: int) -> str:
        """'open', 'closed', 'merged', or 'gone' (deleted, or never existed)."""
        data = self.pull(repo, number)
        if data is None:
            return "gone"
        if data.get("merged") or data.get("merged_at"):
            return "merged"
        return "open" if data.get("state") == "open" else "closed"


def _path(url: str) -> str:
    """The path of a request URL, for messages (no query string, no host)."""
    path = httpx.URL(url).path
    return path if path.startswith("/") else "/" + path


def api_url(configured: str | None, env_value: str | None) -> str:
    """The API base: the config key, else $GITHUB_API_URL, else api.github.com."""
    return (configured or env_value or DEFAULT_API_URL).rstrip("/")
