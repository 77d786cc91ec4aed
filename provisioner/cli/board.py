"""The status board: live environments as data, an HTML page, and a small Starlette app.

``environments`` turns registry records into rows (branch, PR link, owner, status, age, time to
expiry, URL, last action, differences from production and cost). ``render_page`` renders
``templates/board.html.j2`` in a sandboxed, autoescaping Jinja2 environment: branch names,
owners and outputs come from strangers' pull requests. ``app`` serves the page and
``/api/environments``; the CLI runs it with uvicorn or writes the page to a file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from provisioner.support.localpaths import without_local_paths


def pr_url(pr: int | None, env: Mapping[str, str]) -> str | None:
    repo = env.get("GITHUB_REPOSITORY")
    if pr is None or not repo:
        return None
    return f"{env.get('GITHUB_SERVER_URL', 'https://github.com').rstrip('/')}/{repo}/pull/{int(pr)}"


def _safe_url(value: Any) -> str | None:
    """Only http(s) URLs become links (a javascript: output must not)."""
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def _last_action(rec: Any) -> str:
    if rec.status in ("failed", "creating", "destroying"):
        return str(rec.status) + (f": {without_local_paths(rec.error)[:200]}" if rec.error else "")
    changes = rec.changes or {}
    counts = f" (+{changes.get('add', 0)} ~{changes.get('change', 0)} -{changes.get('remove', 0)})" \
        if changes else ""
    return f"applied{counts}" if rec.last_applied_at else rec.status


def _failing(rec: Any) -> list[dict[str, str]]:
    return [{"name": str(c.get("name")), "detail": str(c.get("detail", ""))[:300]}
            for c in rec.health.get("checks", []) if c.get("ok") is False]


def row(rec: Any, now: float, env: Mapping[str, str], extra: Mapping[str, Any] | None = None) -> dict:
    """One environment as JSON-ready data."""
    return {
        "slug": rec.slug, "branch": rec.branch, "pr": rec.pr, "pr_url": pr_url(rec.pr, env),
        "owner": rec.owner, "status": rec.status, "age_seconds": int(now - rec.created_at),
        "expires_in_seconds": None if rec.expires_at is None else int(rec.expires_at - now),
        "expires_at": rec.expires_at, "keep": rec.keep,
        "url": _safe_url(rec.outputs.get("environment_url")),
        "last_action": _last_action(rec), "last_applied_at": rec.last_applied_at,
        "health": rec.health_status, "failing_checks": _failing(rec),
        "tests": rec.tests_status,
        "data": list(getattr(rec, "datasets", [])),
        **(extra or {}),
    }


def environments(records: list[Any], details: Callable[[Any], Mapping[str, Any]] | None = None,
                 *, now: float | None = None, env: Mapping[str, str] | None = None) -> list[dict]:
    """Rows for every live (not destroyed) record; ``details`` adds differences/cost per record."""
    now = time.time() if now is None else now
    env = os.environ if env is None else env
    live = [r for r in records if r.live]
    return [row(r, now, env, details(r) if details else None) for r in live]


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds <= 0:
        return "expired"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"


def script() -> str:
    """The page's script: refresh from api/environments, sort, filter (templates/board.js.j2)."""
    from provisioner.support.templating import render_template

    return render_template("board.js.j2")


def render_page(rows: list[dict], *, generated_at: float | None = None, standalone: bool = False) -> str:
    """The page; ``standalone`` (``--export``) carries its script inline instead of loading board.js."""
    from provisioner.support.templating import render_html

    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(generated_at or time.time()))
    return render_html("board.html.j2", environments=rows, generated_at=stamp, duration=duration,
                       script=script() if standalone else "")


def render_error(reason: str) -> str:
    from provisioner.support.templating import render_html

    return render_html("board_error.html.j2", reason=reason,
                       generated_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))


def listen(host: str, port: int) -> Any:
    """A listening socket for the board; port 0 picks a free one. A port in use is bad input (exit 2)
    naming the address and what to do."""
    import errno
    import socket

    from provisioner.errors import BadInput

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BadInput(f"board: port {port} on {host} is already in use (another board, or another "
                           "program); choose another with --port, or --port 0 for a free one",
                           host=host, port=port) from None
        raise BadInput(f"board: cannot listen on {host}:{port}: {exc.strerror or exc}", host=host,
                       port=port) from None
    sock.listen(128)
    return sock


CSP = "default-src 'self'; style-src 'unsafe-inline'"


def app(load_rows: Callable[[], list[dict]]) -> Any:
    """A Starlette app: ``/`` (the page) and ``/api/environments`` (JSON), both read on each request."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from provisioner.errors import ProvisionerError

    async def rows_or_reason() -> tuple[list[dict] | None, str]:
        try:
            return await run_in_threadpool(load_rows), ""
        except ProvisionerError as exc:   # the registry (or the emulator behind it) is unreachable
            return None, str(exc)

    async def page(request: Any) -> HTMLResponse:
        rows, reason = await rows_or_reason()
        if rows is None:
            return HTMLResponse(render_error(reason), status_code=503,
                                headers={"Content-Security-Policy": CSP})
        return HTMLResponse(render_page(rows), headers={"Content-Security-Policy": CSP})

    async def api(request: Any) -> JSONResponse:
        rows, reason = await rows_or_reason()
        if rows is None:
            return JSONResponse({"error": reason, "environments": None}, status_code=503)
        return JSONResponse({"environments": rows})

    async def js(request: Any) -> Response:
        return Response(script(), media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    return Starlette(routes=[Route("/", page), Route("/api/environments", api), Route("/board.js", js)])
