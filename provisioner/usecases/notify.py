"""After the nightly cleanup: tell GitHub what went, and as a GitHub Actions matrix, what will go.

``notify_teardowns``: for every stack the cleanup tore down that pull requests used, update each
PR's comment (destroyed, why, how to bring it back), mark the stack's deployments ``inactive``
and delete its ``staging/<slug>`` environment when the tool created it. Best effort: a GitHub
error is a warning, never a failed cleanup (the stacks are gone either way).

``matrix``: the plan's teardowns as ``{"include": [{"slug": ..., "reason": ...}, ...]}`` for a
matrix job of ``provisioner teardown --stack`` (the reason goes to the PR comment), capped at
GitHub's 256 jobs per matrix (the rest wait for the next run, with a warning).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from provisioner.config import Settings
from provisioner.domain.record import Record
from provisioner.errors import ProvisionerError
from provisioner.support.text import one_line
from provisioner.usecases.cleanup import TEARDOWN, Item, Plan
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import expiry_reason

if TYPE_CHECKING:  # the GitHub side (httpx) is imported only when something is told
    from provisioner.github.publisher import Publisher

CLEANUP_WHO = "The nightly cleanup tore this stack down"
MATRIX_LIMIT = 256   # GitHub Actions: a matrix generates at most 256 jobs per workflow run
REASON_LIMIT = 200   # characters of a teardown reason: a line of a PR comment


def matrix(plan: Plan, *, limit: int = MATRIX_LIMIT) -> tuple[dict[str, Any], list[str]]:
    """The plan's teardowns as a matrix (at most ``limit`` entries) and warnings for the rest."""
    todo = [i for i in plan.items if i.action == TEARDOWN]
    # the slug ([a-z0-9-]) is safe in any expression; the reason is for the teardown's PR comment and
    # goes to it as an environment variable, never into a command line or a script
    include = [{"slug": i.slug, "reason": plain_reason(i.reason)} for i in todo[:limit]]
    warnings = []
    if len(todo) > limit:
        rest = ", ".join(i.slug for i in todo[limit:limit + 10]) + (" ..." if len(todo) > limit + 10 else "")
        warnings.append(f"{len(todo) - limit} of {len(todo)} stacks to tear down are left for the next "
                        f"run: a GitHub Actions matrix holds at most {limit} jobs ({rest})")
    return {"include": include}, warnings


def plain_reason(text: str, limit: int = REASON_LIMIT) -> str:
    """A reason as one line of printable text, at most ``limit`` characters."""
    return one_line(text, limit)


def check_reason(text: str) -> str:
    """A teardown reason given by hand (``--reason``), stripped; ``ValueError`` saying what is wrong."""
    if not text.strip():
        raise ValueError("is empty")
    if any(not c.isprintable() for c in text):
        raise ValueError("holds a control character (newline, tab, escape, ...): give one line of text")
    if len(text) > REASON_LIMIT:
        raise ValueError(f"is {len(text)} characters long; at most {REASON_LIMIT}")
    return text.strip()


def _bring_back(settings: Settings, reason: str) -> str:
    if reason.startswith("PR #"):
        return "To bring it back, reopen the pull request (or push to it once it is open)."
    label = settings.github.label
    how = f"push a commit, or remove and re-add the label {label!r}" if label else "push a commit"
    return f"To bring it back, {how}."


def _tell(settings: Settings, publisher: Publisher, repo: str, rec: Record, reason: str,
          run_url: str | None, who: str) -> str:
    from provisioner.github.comment import CommentInput, render_comments
    from provisioner.github.publisher import environment_name

    for pr in rec.using_prs():
        bodies = render_comments(CommentInput(
            slug=rec.slug, branch=rec.branch, status="destroyed", pr=pr, owner=rec.owner, record=rec,
            run_url=run_url, keep_label=settings.github.keep_label, updated_at=time.time(),
            note=f"{who}: {reason}.",
            bring_back=_bring_back(settings, reason)))
        publisher.comment(repo, pr, rec.slug, bodies, create=False)
    env = environment_name(rec.slug)
    n = publisher.deactivate(repo, env, f"staging stack torn down: {reason}")
    removed = publisher.remove_environment(repo, env) if rec.github_environment else ""
    return (f"PR {', '.join(f'#{p}' for p in rec.using_prs())} told; {n} deployment(s) inactive"
            + (f"; {removed}" if removed else ""))


def notify_teardowns(rt: Runtime, plan: Plan, publisher: Publisher, repo: str,
                     run_url: str | None = None, who: str = CLEANUP_WHO) -> list[str]:
    """Tell GitHub about each stack the cleanup tore down; one line per stack told (or failed)."""
    lines = []
    for item in plan.items:
        if item.action != TEARDOWN or item.result != "done":
            continue
        rec = rt.registry.get(item.slug)
        if rec is None or not rec.using_prs():
            continue
        try:
            told = _tell(rt.settings, publisher, repo, rec, item.reason, run_url, who)
            lines.append(f"{item.slug}: {told}")
        except ProvisionerError as exc:
            lines.append(f"{item.slug}: could not tell GitHub: {exc}")
    return lines


def tell_github(rt: Runtime, plan: Plan, env: Mapping[str, str], who: str = CLEANUP_WHO) -> list[str]:
    """``notify_teardowns`` through the API when the Actions environment has a token and a repository."""
    from provisioner.usecases.pullrequest import publisher_from_env, run_url

    repo = env.get("GITHUB_REPOSITORY", "")
    if not (env.get("GITHUB_TOKEN") and repo):
        return []
    with publisher_from_env(rt.settings, env, lambda body: None, copy=False) as publisher:
        return notify_teardowns(rt, plan, publisher, repo, run_url(env), who)


def after_teardown(rt: Runtime, slug: str, env: Mapping[str, str], reason: str | None = None) -> list[str]:
    """``provisioner teardown`` (a matrix job of the nightly, or by hand) tells the stack's PRs too.

    ``reason`` is the plan's (the nightly matrix hands it on) or the operator's; without one, the
    record's expiry or a generic line."""
    rec = rt.registry.get(slug)
    if rec is None or rec.live or not rec.using_prs():
        return []
    why = expiry_reason(rt.settings, rec, time.time())
    reason = reason or {"expired": "expired", "idle": f"idle for {rt.settings.stacks.idle_ttl}"}.get(
        why or "", "torn down with `provisioner teardown`")
    item = Item(slug, rec.branch, TEARDOWN, reason, result="done")
    return tell_github(rt, Plan((item,)), env, who="This stack was torn down")
