"""The nightly cleanup: compute a plan (which stacks, and why), then carry it out.

Reasons a stack is torn down: expired, idle, PR closed / merged / gone, failed for
longer than ``cleanup.failed_after``, record without state, state without record.
Config drift (the baseline or overrides changed since the last apply) is reported,
never destroyed; so are failing health checks and drift outside Terraform
(usecases.audit_report). Teardowns run with bounded parallelism, each in its own process
(``provisioner teardown --stack SLUG --json``), and the run goes on past failures.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from typing import Any

from provisioner.config import Settings
from provisioner.domain import expiry
from provisioner.domain.record import Record
from provisioner.errors import ProvisionerError
from provisioner.state import backend
from provisioner.state.registry import Listing
from provisioner.usecases.data import refresh_checker as data_refresh_checker
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import expiry_policy

TEARDOWN, REPORT, REFRESH = "teardown", "report", "refresh-data"
PrState = Callable[[int], str]   # PR number -> "open" | "closed" | "merged" | "gone"


@dataclass(frozen=True)
class Item:
    slug: str
    branch: str
    action: str            # teardown | report | refresh-data
    reason: str
    result: str = "planned"  # planned | done | failed | skipped
    duration: float = 0.0
    error: str = ""
    error_class: str = ""    # the failed teardown's error class (e.g. TerraformError)
    exit_code: int = 0       # ... and the exit code the CLI would have given it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    items: tuple[Item, ...]
    warnings: tuple[str, ...] = ()

    @property
    def teardowns(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.action == TEARDOWN)

    @property
    def refreshes(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.action == REFRESH)


def _pr_reason(rec: Record, pr_state: PrState | None) -> str | None:
    """Why the stack's PRs no longer need it; None while any PR using it is open (a shared stack)."""
    prs = rec.using_prs()
    if pr_state is None or not prs:
        return None
    states = {pr: pr_state(pr) for pr in prs}
    if "open" in states.values():
        return None
    return ", ".join(f"PR #{pr} {state}" for pr, state in states.items())


@dataclass(frozen=True)
class _Clocks:
    """The settings' durations, parsed once per plan (not once per record: 10,000 records parsed
    40,000 duration strings, half of the planning logic's time)."""

    policy: expiry.Policy
    failed_after: float
    lease_ttl: float

    @classmethod
    def of(cls, settings: Settings) -> _Clocks:
        return cls(expiry_policy(settings), settings.cleanup.failed_after_seconds,
                   settings.stacks.lease_ttl_seconds)


def _record_reason(rt: Runtime, rec: Record, now: float, states: set[str],
                   pr_state: PrState | None, clocks: _Clocks) -> tuple[str, str] | None:
    """(action, reason) for one live record, or None when it stays as it is."""
    if rec.status == "failed" and now - rec.updated_at >= clocks.failed_after:
        return TEARDOWN, f"failed {int((now - rec.updated_at) // 3600)}h ago: {rec.error[:80]}"
    why = expiry.reason(rec.fixed_expiry, rec.active_at, rec.created_at, rec.keep, now, clocks.policy)
    if why == "expired":
        return TEARDOWN, "expired"
    if why == "idle":
        return TEARDOWN, f"idle for {rt.settings.stacks.idle_ttl}"
    pr = _pr_reason(rec, pr_state)
    if pr:
        return TEARDOWN, pr
    if rec.status in ("ready", "unhealthy", "failed") and rec.slug not in states:
        return TEARDOWN, "record without state"
    return None


def plan_cleanup(rt: Runtime, *, now: float | None = None, pr_state: PrState | None = None,
                 current_digest: str | None = None, records: list[Record] | None = None,
                 state_slugs: set[str] | None = None) -> Plan:
    """What the nightly job would do, and why. Reads the registry and the state bucket; writes nothing."""
    now = now if now is not None else time.time()
    listing = _live_records(rt) if records is None else None
    records = records if records is not None else list(listing or [])
    states = state_slugs if state_slugs is not None else backend.state_slugs(rt.aws, rt.settings)
    if listing is not None:
        records = records + _unindexed(rt, states - {r.slug for r in records}, listing)
    items: list[Item] = []
    refresh_item = data_refresh_checker(rt)   # datasets parsed, exports read: once per plan
    live = {r.slug for r in records if r.live}
    clocks = _Clocks.of(rt.settings)
    for rec in (r for r in records if r.live):
        if rec.busy and now - rec.updated_at < clocks.lease_ttl:
            continue  # another run is at work on it right now
        decided = _record_reason(rt, rec, now, states, pr_state, clocks)
        if decided:
            items.append(Item(rec.slug, rec.branch, *decided))
        elif current_digest and rec.digest and rec.digest != current_digest and rec.status == "ready":
            items.append(Item(rec.slug, rec.branch, REPORT, "config drift: baseline or overrides changed "
                                                            "since the last apply"))
        if not decided and rec.status == "ready" and (refresh := refresh_item(rec)):
            items.append(Item(rec.slug, rec.branch, *refresh))
    for slug in sorted(states - live):
        items.append(Item(slug, "(no record)", TEARDOWN, "state without record"))
    warnings = (() if pr_state else ("PR state not checked: no GitHub token configured",)) \
        + (listing.warnings if listing is not None else ())
    return Plan(tuple(items), warnings)


def _live_records(rt: Runtime) -> Listing:
    """The live records without their outputs, from the registry's index of live records."""
    return rt.registry.live(without=("outputs",))


def _unindexed(rt: Runtime, stateful: set[str], listing: Listing) -> list[Record]:
    """Live records of stacks that have a state but were not in the index read (written a moment
    ago: the index is eventually consistent; or by a version before the index), read consistently
    one by one: a "state without record" teardown must never hit a stack whose record exists.
    Each one found adds a warning to ``listing``."""
    found = [rec for slug in sorted(stateful) if (rec := rt.registry.get(slug)) is not None and rec.live]
    listing.warnings = (*listing.warnings, *(
        f"registry record {r.slug} is live but was not in the index of live records (just written, or "
        "by an older version: `provisioner bootstrap` indexes it)" for r in found))
    return found


@dataclass(frozen=True)
class ChildResult:
    """What one teardown process hands back (pickled by the pool, never parsed from text)."""

    ok: bool
    action: str = ""
    error: str = ""
    error_class: str = ""
    exit_code: int = 0


def teardown_child(config: str, slug: str) -> ChildResult:
    """One teardown, in a process of its own (Terraform's runtime and the lease are per process)."""
    from provisioner.config import load
    from provisioner.usecases.reporter import SilentReporter
    from provisioner.usecases.runtime import open_runtime
    from provisioner.usecases.stacks import StackRequest
    from provisioner.usecases.teardown import teardown

    try:
        rt = open_runtime(load(config))
        result = teardown(rt, StackRequest(branch=None, slug=slug), SilentReporter())
    except ProvisionerError as exc:
        return ChildResult(False, error=str(exc)[:2000], error_class=type(exc).__name__,
                           exit_code=exc.exit_code)
    except Exception as exc:  # a bug in one teardown must not stop the others; it is reported typed
        return ChildResult(False, error=f"{type(exc).__name__}: {exc}"[:2000],
                           error_class=type(exc).__name__, exit_code=1)
    return ChildResult(True, action=result.action)


# What every teardown process imports before its first AWS call (~0.3 s of CPU each, measured on
# these 2 cores): the fork server imports it once and forks each teardown from there.
PRELOAD = ("provisioner.usecases.cleanup", "provisioner.usecases.teardown", "provisioner.usecases.runtime",
           "provisioner.config", "boto3", "botocore.config")


def _pool_context() -> Any:
    """Where teardown processes come from: a fork server, a fresh interpreter started for the pool
    that has imported ``PRELOAD`` and forks one process per teardown from itself (it runs no thread
    and never loads Terraform, so forking it is safe; this process is never forked: it has threads,
    locks, and Terraform's Go runtime must stay out of it). Spawned processes where the platform
    has no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def _finished(item: Item, child: ChildResult, took: float) -> Item:
    return replace(item, result="done" if child.ok else "failed", duration=round(took, 2),
                   error=child.error, error_class=child.error_class, exit_code=child.exit_code)


def execute(rt: Runtime, plan: Plan, *, parallel: int,
            on_done: Callable[[Item], None] = lambda item: None) -> Plan:
    """Carry out the plan's teardowns, ``parallel`` at a time, each in a fresh process."""
    todo = [i for i in plan.items if i.action == TEARDOWN]
    results: dict[str, Item] = {}
    if todo:
        with ProcessPoolExecutor(max_workers=max(1, parallel), mp_context=_pool_context(),
                                 max_tasks_per_child=1) as pool:
            started = {pool.submit(teardown_child, rt.settings.source, item.slug): (item, time.monotonic())
                       for item in todo}
            for future in as_completed(started):
                item, t0 = started[future]
                try:
                    child = future.result()
                except Exception as exc:  # the process died (killed, out of memory): still a result
                    child = ChildResult(False, error=f"the teardown process died: {exc!r}"[:2000],
                                        error_class=type(exc).__name__, exit_code=1)
                done = _finished(item, child, time.monotonic() - t0)
                results[item.slug] = done
                on_done(done)
    for item in (i for i in plan.items if i.action == REFRESH):
        results[item.slug] = done = _refreshed(rt, item)
        on_done(done)
    items = tuple(results.get(i.slug, replace(i, result="skipped")) if i.action in (TEARDOWN, REFRESH)
                  else replace(i, result="skipped") for i in plan.items)
    pruned = prune_local(rt)
    notes = (f"removed {len(pruned)} local stack directories with no live record: {', '.join(pruned)}",) \
        if pruned else ()
    return replace(plan, items=items, warnings=plan.warnings + notes)


def prune_local(rt: Runtime) -> list[str]:
    """Remove ``<state_dir>/stacks/<slug>`` of every stack without a live record (an unreadable
    registry item keeps its directory: its record may well be live)."""
    from provisioner.terraform import workspace
    from provisioner.usecases.restart import local_stacks

    listing = _live_records(rt)
    keep = {r.slug for r in listing if r.live}
    unreadable = " ".join(listing.warnings)
    candidates = [slug for slug in local_stacks(rt.settings)
                  if slug not in keep and f"'{slug}'" not in unreadable]
    keep |= {r.slug for r in _unindexed(rt, set(candidates), listing)}   # consistent reads, one each
    gone = [slug for slug in candidates if slug not in keep]
    for slug in gone:
        workspace.remove(rt.settings, slug)
    return gone


def _refreshed(rt: Runtime, item: Item) -> Item:
    """Re-seed a stack's nightly datasets whose source changed (in this process: no Terraform)."""
    from provisioner.usecases.data import refresh
    from provisioner.usecases.reporter import SilentReporter

    t0 = time.monotonic()
    try:
        refresh(rt, item.slug, SilentReporter())
    except ProvisionerError as exc:
        return _finished(item, ChildResult(False, error=str(exc)[:2000], error_class=type(exc).__name__,
                                           exit_code=exc.exit_code), time.monotonic() - t0)
    return _finished(item, ChildResult(True, action="refreshed"), time.monotonic() - t0)


def pr_state_lookup(settings: Settings, env: Mapping[str, str]) -> PrState | None:
    """PR state lookups when a token and the repository are known (the GitHub Actions environment)."""
    token, repo = env.get("GITHUB_TOKEN", ""), env.get("GITHUB_REPOSITORY", "")
    if not (token and repo):
        return None
    from provisioner.github.api import GitHubClient, api_url

    client = GitHubClient(token, api_url(settings.github.api_url, env.get("GITHUB_API_URL")))
    return lambda number: client.pr_state(repo, number)


def report_json(plan: Plan, *, dry_run: bool, audit: dict[str, Any] | None = None) -> str:
    """The cleanup's JSON; ``audit``: the night's audit report as data (usecases.audit_report)."""
    return json.dumps({"dry_run": dry_run, "warnings": list(plan.warnings),
                       "stacks": [i.to_json() for i in plan.items],
                       "failed": sum(1 for i in plan.items if i.result == "failed"),
                       **({"audit": audit} if audit is not None else {})},
                      indent=2, sort_keys=True, default=str)
