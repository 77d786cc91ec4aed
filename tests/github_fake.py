"""A fake GitHub REST API on loopback: a real HTTP server (http.server in a thread) implementing the
endpoints the provisioner uses, with state, pagination, auth, and injectable faults. It records every
request so tests can assert on what was sent.

    with FakeGitHub() as gh:            # gh.url is http://127.0.0.1:<free port>
        gh.fail(502, times=2)           # the next two requests get a 502
        ...
        gh.comments_on("acme/shop", 7)  # state, as GitHub would hold it
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
MAX_BODY = 65536


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class _Fault:
    status: int
    headers: dict[str, str]
    body: Any
    times: int
    method: str | None
    path: str | None


class FakeGitHub:
    def __init__(self, token: str = "test-token", *, prefix: str = "", page_size: int = 100) -> None:
        self.token, self.prefix, self.page_size = token, prefix, page_size
        self.requests: list[Request] = []
        self.comments: dict[int, dict] = {}
        self.deployments: dict[int, dict] = {}
        self.pulls: dict[tuple[str, int], dict] = {}
        # (repo, name) -> environment; as on GitHub, a deployment to a new name creates one
        self.environments: dict[tuple[str, str], dict] = {}
        self.environment_admin = True   # False: the token may not delete environments (403)
        self.commit_statuses: dict[tuple[str, str], list[dict]] = {}   # (repo, sha) -> oldest first
        self._faults: list[_Fault] = []
        self._ids = 1000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    # --- test controls -----------------------------------------------------------------------

    def fail(self, status: int, *, headers: dict[str, str] | None = None, body: Any = None, times: int = 1,
             method: str | None = None, path: str | None = None) -> None:
        """Answer the next ``times`` matching requests with this response instead."""
        with self._lock:
            self._faults.append(_Fault(status, headers or {}, body if body is not None else
                                       {"message": f"fake {status}"}, times, method, path))

    def add_comment(self, repo: str, number: int, body: str, *, user: dict | None = None,
                    association: str = "NONE") -> dict:
        with self._lock:
            return self._new_comment(repo, number, body, user or BOT, association)

    def add_pull(self, repo: str, number: int, *, state: str = "open", merged: bool = False) -> None:
        self.pulls[(repo, number)] = {"number": number, "state": state, "merged": merged,
                                      "merged_at": "2026-11-27T10:00:00Z" if merged else None}

    def add_environment(self, repo: str, name: str, *, protection_rules: list | None = None) -> dict:
        """An environment someone configured (say with protection rules) before the tool ran."""
        env = {"id": self._next_id(), "name": name, "protection_rules": protection_rules or [],
               "html_url": f"https://github.com/{repo}/deployments/activity_log?environments_filter={name}"}
        self.environments[(repo, name)] = env
        return env

    def comments_on(self, repo: str, number: int) -> list[dict]:
        return [c for c in self.comments.values() if c["_issue"] == (repo, number)]

    def statuses(self, deployment_id: int) -> list[str]:
        return [s["state"] for s in self.deployments[deployment_id]["_statuses"]]

    def calls(self, method: str, contains: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == method and contains in r.path]

    # --- state changes (under the lock) ------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _new_comment(self, repo: str, number: int, body: str, user: dict, association: str) -> dict:
        cid = self._next_id()
        c = {"id": cid, "body": body, "user": user, "author_association": association,
             "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
             "_issue": (repo, number)}
        self.comments[cid] = c
        return c

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for f in self._faults:
            if (f.method in (None, method)) and (f.path is None or f.path in path):
                f.times -= 1
                if f.times <= 0:
                    self._faults.remove(f)
                return f
        return None


def _public(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _routes(fake: FakeGitHub) -> list[tuple[str, re.Pattern, Any]]:
    repo = r"(?P<repo>[^/]+/[^/]+)"
    return [
        ("GET", re.compile(rf"/repos/{repo}/issues/(?P<n>\d+)/comments"), _list_comments),
        ("POST", re.compile(rf"/repos/{repo}/issues/(?P<n>\d+)/comments"), _create_comment),
        ("PATCH", re.compile(rf"/repos/{repo}/issues/comments/(?P<id>\d+)"), _update_comment),
        ("POST", re.compile(rf"/repos/{repo}/deployments"), _create_deployment),
        ("GET", re.compile(rf"/repos/{repo}/deployments"), _list_deployments),
        ("POST", re.compile(rf"/repos/{repo}/deployments/(?P<id>\d+)/statuses"), _create_status),
        ("DELETE", re.compile(rf"/repos/{repo}/issues/comments/(?P<id>\d+)"), _delete_comment),
        ("GET", re.compile(rf"/repos/{repo}/pulls/(?P<n>\d+)"), _get_pull),
        # the environment name is URL-encoded in the path ("staging/x" -> "staging%2Fx")
        ("GET", re.compile(rf"/repos/{repo}/environments/(?P<name>[^/]+)"), _get_environment),
        ("DELETE", re.compile(rf"/repos/{repo}/environments/(?P<name>[^/]+)"), _delete_environment),
        ("POST", re.compile(rf"/repos/{repo}/statuses/(?P<sha>[0-9a-f]{{40}})"), _create_commit_status),
    ]


def _page(fake: FakeGitHub, req: Request, items: list, base: str) -> tuple[int, Any, dict]:
    per_page = min(int(req.query.get("per_page", 30)), fake.page_size)
    page = int(req.query.get("page", 1))
    chunk = items[(page - 1) * per_page: page * per_page]
    headers = {}
    if page * per_page < len(items):
        rest = urlencode({k: v for k, v in req.query.items() if k not in ("page", "per_page")})
        more = "&" + rest if rest else ""
        headers["Link"] = f'<{base}{req.path}?per_page={per_page}&page={page + 1}{more}>; rel="next"'
    return 200, [_public(c) for c in chunk], headers


def _list_comments(fake, req, m, base):
    return _page(fake, req, fake.comments_on(m["repo"], int(m["n"])), base)


def _too_long(body: Any) -> tuple[int, Any, dict] | None:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        return 422, {"message": "Invalid request.", "errors": ["body is missing"]}, {}
    if len(body["body"]) > MAX_BODY:
        return 422, {"message": "Validation Failed",
                     "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                                 "message": f"body is too long (maximum is {MAX_BODY} characters)"}]}, {}
    return None


def _create_comment(fake, req, m, base):
    bad = _too_long(req.body)
    if bad:
        return bad
    return 201, _public(fake._new_comment(m["repo"], int(m["n"]), req.body["body"], BOT, "NONE")), {}


def _update_comment(fake, req, m, base):
    c = fake.comments.get(int(m["id"]))
    if c is None:
        return 404, {"message": "Not Found"}, {}
    bad = _too_long(req.body)
    if bad:
        return bad
    c["body"] = req.body["body"]
    return 200, _public(c), {}


def _delete_comment(fake, req, m, base):
    if fake.comments.pop(int(m["id"]), None) is None:
        return 404, {"message": "Not Found"}, {}
    return 204, None, {}


def _get_environment(fake, req, m, base):
    env = fake.environments.get((m["repo"], unquote(m["name"])))
    return (200, env, {}) if env else (404, {"message": "Not Found"}, {})


def _delete_environment(fake, req, m, base):
    if not fake.environment_admin:
        return 403, {"message": "Resource not accessible by integration"}, {}
    if fake.environments.pop((m["repo"], unquote(m["name"])), None) is None:
        return 404, {"message": "Not Found"}, {}
    return 204, None, {}


def _create_deployment(fake, req, m, base):
    body = req.body or {}
    if not body.get("ref"):
        return 422, {"message": "Invalid request.", "errors": ["ref is missing"]}, {}
    name = body.get("environment", "production")
    if (m["repo"], name) not in fake.environments:
        fake.environments[(m["repo"], name)] = {"id": fake._next_id(), "name": name, "protection_rules": []}
    did = fake._next_id()
    fake.deployments[did] = {"id": did, "ref": body["ref"],
                             "environment": body.get("environment", "production"),
                             "description": body.get("description"), "transient_environment":
                             body.get("transient_environment", False), "_repo": m["repo"], "_statuses": []}
    return 201, _public(fake.deployments[did]), {}


def _list_deployments(fake, req, m, base):
    env = req.query.get("environment")
    found = [d for d in sorted(fake.deployments.values(), key=lambda d: -d["id"])
             if d["_repo"] == m["repo"] and (env is None or d["environment"] == env)]
    return _page(fake, req, found, base)


def _create_status(fake, req, m, base):
    dep = fake.deployments.get(int(m["id"]))
    if dep is None:
        return 404, {"message": "Not Found"}, {}
    states = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
    if (req.body or {}).get("state") not in states:
        return 422, {"message": "Validation Failed"}, {}
    status = {"id": fake._next_id(), **req.body}
    dep["_statuses"].append(status)
    return 201, status, {}


def _create_commit_status(fake, req, m, base):
    """POST /repos/{owner}/{repo}/statuses/{sha}: state error|failure|pending|success, a context,
    a description of at most 140 characters, an optional http(s) target_url."""
    body = req.body or {}
    if body.get("state") not in ("error", "failure", "pending", "success"):
        return 422, {"message": "Validation Failed", "errors": [{"field": "state", "code": "invalid"}]}, {}
    if len(str(body.get("description") or "")) > 140:
        return 422, {"message": "Validation Failed",
                     "errors": [{"field": "description", "code": "custom"}]}, {}
    status = {"id": fake._next_id(), "state": body["state"], "context": body.get("context", "default"),
              "description": body.get("description"), "target_url": body.get("target_url")}
    fake.commit_statuses.setdefault((m["repo"], m["sha"]), []).append(status)
    return 201, status, {}


def _get_pull(fake, req, m, base):
    pr = fake.pulls.get((m["repo"], int(m["n"])))
    return (200, pr, {}) if pr else (404, {"message": "Not Found"}, {})


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    routes = _routes(fake)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path.removeprefix(fake.prefix)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            req = Request(self.command, path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                          {k.lower(): v for k, v in self.headers.items()}, json.loads(raw) if raw else None)
            with fake._lock:
                fake.requests.append(req)
                status, body, headers = self._answer(req)
            self._reply(status, body, headers)

        def _answer(self, req: Request) -> tuple[int, Any, dict]:
            fault = fake._take_fault(req.method, req.path)
            if fault:
                return fault.status, fault.body, fault.headers
            if req.headers.get("authorization") != f"Bearer {fake.token}":
                return 401, {"message": "Bad credentials"}, {}
            base = f"http://127.0.0.1:{self.server.server_address[1]}{fake.prefix}"
            for method, pattern, func in routes:
                m = pattern.fullmatch(req.path)
                if m and method == req.method:
                    return func(fake, req, m, base)
            return 404, {"message": "Not Found"}, {}

        def _reply(self, status: int, body: Any, headers: dict) -> None:
            data = b"" if status == 204 else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

    return Handler
