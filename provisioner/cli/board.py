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
        return str(rec.status) + (f": {rec.error[:200]}" if rec.error else "")
    changes = rec.changes or {}
    counts = f" (+{changes.get('add', 0)} ~{changes.get('change', 0)} -{changes.get('remove', 0)})" \
        if changes else ""
    return f"applied{counts}" if rec.last_applied_at else rec.status


def row(rec: Any, now: float, env: Mapping[str, str], extra: Mapping[str, Any] | None = None) -> dict:
    """One environment as JSON-ready data."""
    return {
        "slug": rec.slug, "branch": rec.branch, "pr": rec.pr, "pr_url": pr_url(rec.pr, env),
        "owner": rec.owner, "status": rec.status, "age_seconds": int(now - rec.created_at),
        "expires_in_seconds": None if rec.expires_at is None else int(rec.expires_at - now),
        "expires_at": rec.expires_at, "keep": rec.keep,
        "url": _safe_url(rec.outputs.get("environment_url")),
        "last_action": _last_action(rec), "last_applied_at": rec.last_applied_at,
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


def render_page(rows: list[dict], *, generated_at: float | None = None) -> str:
    from provisioner.support.templating import render_html

    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(generated_at or time.time()))
    return render_html("board.html.j2", environments=rows, generated_at=stamp, duration=duration)


def app(load_rows: Callable[[], list[dict]]) -> Any:
    """A Starlette app: ``/`` (the page) and ``/api/environments`` (JSON), both read on each request."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    async def page(request: Any) -> HTMLResponse:
        rows = await run_in_threadpool(load_rows)
        return HTMLResponse(render_page(rows), headers={"Content-Security-Policy": "default-src 'self'; "
                                                        "style-src 'unsafe-inline'"})

    async def api(request: Any) -> JSONResponse:
        return JSONResponse({"environments": await run_in_threadpool(load_rows)})

    return Starlette(routes=[Route("/", page), Route("/api/environments", api)])
