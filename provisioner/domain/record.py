"""The environment record: what the registry keeps about one stack, and what follows from it.

A pure value: the registry (``state.registry``) stores it, the use cases derive new ones with
``dataclasses.replace``. Derived facts (is it live, which expiry is fixed) are defined here once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

BUSY = ("creating", "destroying")


@dataclass(frozen=True)
class Record:
    slug: str
    branch: str
    pr: int | None = None
    owner: str = ""
    branch_source: str = "flag"
    created_at: float = 0.0
    last_applied_at: float | None = None
    expires_at: float | None = None
    status: str = "creating"
    outputs: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    error: str = ""
    changes: dict[str, int] = field(default_factory=dict)
    keep: bool = False   # kept stacks are exempt from expiry (enforced by the nightly cleanup)
    fixed_expires_at: float | None = None   # created + ttl (moved by extend), capped by max_ttl
    active_at: float | None = None          # last spinup or extend: the idle clock starts here
    # After each apply: {"status": passing|failing|unchecked, "checks": [...]} and the [tests] run
    # (exit_code, duration, output_tail, ...); digests of each rendered variable, for config drift.
    health: dict[str, Any] = field(default_factory=dict)
    tests: dict[str, Any] | None = None
    variable_digests: dict[str, str] = field(default_factory=dict)
    # dataset -> its loaded version (provisioner.data.DatasetVersion as plain values: digest, kind,
    # store, rows, source_digest, seed, content_digest, loaded_at, load_seconds)
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: float = 0.0
    version: int = 0
    # GitHub: the open pull requests using the stack (two PRs from one head branch share it), the
    # commit last deployed, and whether the tool created the `staging/<slug>` environment
    open_prs: list[int] = field(default_factory=list)
    commit: str = ""
    github_environment: bool = False
    # After each successful apply: a digest per input kind (module_tree, variables, providers,
    # backend, versions; provisioner.terraform.fingerprint), so an unchanged spinup can skip Terraform.
    # drifted_at: when a drift check last found resources changed outside Terraform (None: none found
    # since the last apply).
    inputs: dict[str, str] = field(default_factory=dict)
    drifted_at: float | None = None

    @property
    def live(self) -> bool:
        """Not destroyed: the stack (or what is left of it) may still exist."""
        return self.status != "destroyed"

    @property
    def busy(self) -> bool:
        """A run is (or was, if it died) creating or destroying the stack."""
        return self.status in BUSY

    @property
    def health_status(self) -> str:
        """'passing', 'failing' or 'unchecked' (no checks ran, or none are configured)."""
        return str(self.health.get("status") or "unchecked")

    @property
    def failing_checks(self) -> list[str]:
        return [str(c.get("name")) for c in self.health.get("checks", []) if c.get("ok") is False]

    @property
    def tests_status(self) -> str:
        """'passed', 'failed' or 'not run'."""
        if not self.tests:
            return "not run"
        return "passed" if self.tests.get("ok") else "failed"

    @property
    def fixed_expiry(self) -> float | None:
        """The fixed clock: created + ttl (moved by extend); records older than that field carry
        it in ``expires_at`` only."""
        return self.fixed_expires_at if self.fixed_expires_at is not None else self.expires_at

    def using_prs(self) -> list[int]:
        """The open PRs using the stack (records older than ``open_prs`` name one, in ``pr``)."""
        return sorted(set(self.open_prs)) if self.open_prs else ([self.pr] if self.pr is not None else [])

    @property
    def datasets(self) -> list[dict[str, Any]]:
        """Per loaded dataset, sorted by name: dataset, kind, store, rows, a short digest and the
        load time: what status, the board and the PR comment show."""
        return [{"dataset": name, "kind": v.get("kind", ""), "store": v.get("store", ""),
                 "rows": v.get("rows", 0), "digest": str(v.get("digest", ""))[:12],
                 "loaded_at": v.get("loaded_at"), "load_seconds": v.get("load_seconds")}
                for name, v in sorted(self.data.items()) if isinstance(v, dict)]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
