"""``health`` and ``test``: run a stack's ``[health]`` checks and its ``[tests]`` command.

Spinup calls ``verify`` after a successful apply; ``provisioner health`` / ``provisioner test`` run
the same on demand. Results go into the stack's record (``health``, ``tests``), so ``status``,
``list``, the board and the PR comment show the latest. Nothing here destroys anything: a failing
stack stays for debugging.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner import health as stackhealth  # lazy: each name loads its module when used
from provisioner.aws.clients import Aws
from provisioner.config.retry import AwsRetry
from provisioner.domain.naming import StackId
from provisioner.domain.record import Record
from provisioner.errors import BadInput, HealthFailed
from provisioner.health.model import HealthReport, StackContext
from provisioner.state.registry import RegistryConflict
from provisioner.terraform import workspace
from provisioner.usecases.reporter import Reporter
from provisioner.usecases.runtime import Runtime
from provisioner.usecases.stacks import StackRequest, resolve_stack

if TYPE_CHECKING:
    from provisioner.health.runner import TestRun

CHECK_AWS_ATTEMPTS = 2   # each check has its own retry budget; botocore's would multiply it


@dataclass(frozen=True)
class Verified:
    """What one round of checks (and tests) found."""

    health: HealthReport
    tests: TestRun | None = None

    @property
    def ok(self) -> bool:
        return self.health.status != "failing" and (self.tests is None or self.tests.ok)

    def why(self) -> str:
        """One line per failure: each failed check and why, then the tests."""
        lines = [f"health check {c.name} failed: {c.detail}" for c in self.health.failed]
        if self.tests is not None and not self.tests.ok:
            lines.append(f"tests failed: {self.tests.command!r} "
                         + (self.tests.error or f"exited {self.tests.exit_code}"))
        return "; ".join(lines)


def context(record: Record) -> StackContext:
    return StackContext(record.slug, record.branch, record.pr, record.outputs)


def check_aws(aws: Aws) -> Aws:
    """The factory for checks: same target and credentials, few botocore attempts."""
    return Aws(region=aws.region, endpoint=aws.endpoint, profile=aws.profile, role_arn=aws.role_arn,
               retries=AwsRetry(attempts=CHECK_AWS_ATTEMPTS), _session=aws._session)


def check(rt: Runtime, record: Record) -> HealthReport:
    if not rt.settings.health.checks:   # the checks' module (jinja2, tenacity, probes) not even imported
        return HealthReport(())
    return stackhealth.run_checks(rt.settings.health, context(record), check_aws(rt.aws))


def tests_env(rt: Runtime, record: Record) -> dict[str, str]:
    """The test command's environment: the stack's outputs and ids, the tool's AWS target, and the
    tool's own Python first on PATH (so ``python -m pytest`` finds the interpreter the tool runs in)."""
    spec = rt.settings.tests
    env = stackhealth.build_env(context(record), aws_env=stackhealth.aws_test_env(rt.aws),
                                extra=spec.env if spec else None, inherit=os.environ)
    env["PATH"] = os.pathsep.join(p for p in (os.path.dirname(sys.executable), env.get("PATH")) if p)
    return env


def tests_dir(rt: Runtime, slug: str) -> Path:
    """``[tests] workdir`` (relative to the config file), else the stack's copy of the root module."""
    spec = rt.settings.tests
    if spec is not None and spec.workdir:
        return rt.settings.path(spec.workdir)
    copy = workspace.locate(rt.settings, slug).module_dir
    return copy if copy.is_dir() else rt.settings.root_module


def run_stack_tests(rt: Runtime, record: Record) -> TestRun | None:
    spec = rt.settings.tests
    if spec is None:
        return None
    return stackhealth.run_tests(spec, tests_env(rt, record), tests_dir(rt, record.slug),
                     secrets=rt.read_secrets.values())


def verify(rt: Runtime, record: Record, reporter: Reporter, *, tests: bool = True) -> Verified:
    """The checks, then (when they did not fail) the tests; never raises for a failing stack."""
    if rt.settings.health.checks:
        reporter.step(f"health: {len(rt.settings.health.checks)} checks")
    report = check(rt, record)
    for c in report.failed:
        reporter.step(f"health check {c.name} failed: {c.detail}")
    run = None
    if tests and rt.settings.tests is not None and report.status != "failing":
        reporter.step(f"tests: {rt.settings.tests.command}")
        run = run_stack_tests(rt, record)
    return Verified(report, run)


APPLIED = ("ready", "unhealthy")


def stamped(found: Verified, record: Record) -> Record:
    """``record`` with the results stored (tests kept from before when none ran now). An applied
    stack is ``ready`` only while its checks and tests pass; else ``unhealthy`` (kept, not failed:
    the nightly cleanup reports it and never tears it down for that)."""
    health: dict[str, Any] = {**found.health.to_json(), "checked_at": time.time()}
    tests = found.tests.to_json() if found.tests else record.tests
    ok = found.health.status != "failing" and bool((tests or {}).get("ok", True))
    status = ("ready" if ok else "unhealthy") if record.status in APPLIED else record.status
    return replace(record, health=health, tests=tests, status=status)


def gate(found: Verified, record: Record, *, enabled: bool) -> None:
    """Raise HealthFailed (exit 1) for a failing stack, unless the gate is off."""
    if enabled and record.status == "unhealthy":
        raise HealthFailed(f"stack {record.slug} was applied but is not healthy: {found.why()}. It was "
                           "kept for debugging (`provisioner status` shows the details; "
                           "--no-health-gate to accept it)", slug=record.slug)


@dataclass(frozen=True)
class HealthResult:
    stack: StackId
    record: Record
    found: Verified


def _live_record(rt: Runtime, req: StackRequest) -> tuple[StackId, Record]:
    stack = resolve_stack(rt, req)
    record = rt.registry.get(stack.slug)
    if record is None or not record.live or record.status not in (*APPLIED, "failed"):
        state = "no record" if record is None else f"status {record.status}"
        raise BadInput(f"stack {stack.slug} (branch {stack.branch!r}) has no applied stack to check "
                       f"({state}); spin it up first", slug=stack.slug)
    return stack, record


def _store(rt: Runtime, record: Record, found: Verified) -> Record:
    """Keep the latest results on the record; a record changed meanwhile wins (its run checks again)."""
    try:
        return rt.registry.put(stamped(found, record), expected=record)
    except RegistryConflict:
        return record


def health(rt: Runtime, req: StackRequest, reporter: Reporter) -> HealthResult:
    """Run the checks now; the record keeps the result."""
    stack, record = _live_record(rt, req)
    found = verify(rt, record, reporter, tests=False)
    return HealthResult(stack, _store(rt, record, found), found)


def test(rt: Runtime, req: StackRequest, reporter: Reporter) -> HealthResult:
    """Run the ``[tests]`` command now (the checks too: they say whether the stack is up)."""
    if rt.settings.tests is None:
        raise BadInput(f"no [tests] table in {rt.settings.source}: nothing to run "
                       "(add `[tests] command = \"pytest smoke/\"`)")
    stack, record = _live_record(rt, req)
    report = check(rt, record)
    reporter.step(f"tests: {rt.settings.tests.command}")
    found = Verified(report, run_stack_tests(rt, record))
    return HealthResult(stack, _store(rt, record, found), found)


test.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name
