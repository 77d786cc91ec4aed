"""Stacks you can trust: health checks, the team's tests, drift, and the nightly audit report.

A middle layer beside render, terraform and github: it imports only the layers below (``aws``,
``config.health`` for the specs, ``support`` for templating and Markdown, ``errors``). Use cases
build its inputs (a ``StackContext`` from the registry record, an ``Aws``
factory, a refresh-only plan from the engine) and call the functions re-exported here:

    parse_health(data, source) -> HealthSpec        parse_tests(data, source) -> TestsSpec
    run_checks(spec, ctx, aws) -> HealthReport       run_tests(spec, env, cwd) -> TestRun
    build_env(ctx, aws_env=..., inherit=...)         aws_test_env(aws)
    refresh_plan_args(), show_args()                 parse_refresh_plan(plan_json) -> DriftReport
    variable_digests(tfvars)                         config_drift(recorded, tfvars) -> ConfigDrift
    render_markdown(AuditReport) / render_json(AuditReport)

Importing this package imports no submodule: each name loads its own module on first use
(``lazy_loader``), so a spinup without checks never pays for jinja2, tenacity or the probes, and
``provisioner.health.model`` alone stays cheap. No boto3, httpx or Terraform either way; probes
import what they use.
"""

from typing import TYPE_CHECKING

import lazy_loader

# loaded with the config anyway
from provisioner.config.health import HealthSpec, TestsSpec, parse_health, parse_tests

_EXPORTS = {
    "checks": ["needs_aws", "run_check", "run_checks"],
    "drift": ["ConfigDrift", "DriftError", "DriftReport", "ResourceDrift", "config_drift",
              "parse_refresh_plan", "refresh_plan_args", "show_args", "variable_digests"],
    "model": ["CheckResult", "HealthReport", "StackContext"],
    "report": ["AuditReport", "CleanupEntry", "ReportRow", "render_json", "render_markdown"],
    "runner": ["TestRun", "aws_test_env", "build_env", "run_tests"],
}
__getattr__, _lazy_dir, _ = lazy_loader.attach(__name__, submod_attrs=_EXPORTS)

__all__ = [
    "AuditReport", "CheckResult", "CleanupEntry", "ConfigDrift", "DriftError", "DriftReport",
    "HealthReport", "HealthSpec", "ReportRow", "ResourceDrift", "StackContext", "TestRun", "TestsSpec",
    "aws_test_env", "build_env", "config_drift", "needs_aws", "parse_health", "parse_refresh_plan",
    "parse_tests", "refresh_plan_args", "render_json", "render_markdown", "run_check", "run_checks",
    "run_tests", "show_args", "variable_digests",
]


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:
    from provisioner.health.checks import needs_aws, run_check, run_checks
    from provisioner.health.drift import (
        ConfigDrift,
        DriftError,
        DriftReport,
        ResourceDrift,
        config_drift,
        parse_refresh_plan,
        refresh_plan_args,
        show_args,
        variable_digests,
    )
    from provisioner.health.model import CheckResult, HealthReport, StackContext
    from provisioner.health.report import AuditReport, CleanupEntry, ReportRow, render_json, render_markdown
    from provisioner.health.runner import TestRun, aws_test_env, build_env, run_tests
