"""Run a stack's health checks: each within its own retry budget, independent checks in parallel.

A check's fields are rendered once from the stack's outputs; a template that cannot be rendered
fails the check at once (or skips it, for ``optional`` checks): retrying would not change the
outputs. Each attempt then runs in a daemon thread joined with the check's ``timeout``, so a
probe stuck in a library call (boto3's own retries, a silent peer) costs one timeout, never the
whole run, and never keeps the process alive at exit. Retries between attempts are tenacity's,
the same library as every other retry policy of the tool.

Checks are independent by construction (read-only probes of different things), so all of them
run at once, ``spec.parallel`` at a time; results keep the order of the config.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jinja2 import TemplateError, UndefinedError
from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_fixed

from provisioner.aws.clients import Aws
from provisioner.aws.errors import error_code
from provisioner.config.health import Check, HealthSpec
from provisioner.health.drift import SENSITIVE
from provisioner.health.model import CheckResult, HealthReport, Outcome, StackContext
from provisioner.health.probes import AWS_KINDS, PROBES, Probe, ProbeEnv
from provisioner.support.templating import sandbox

MAX_DETAIL_CHARS = 500


class Unrenderable(Exception):  # noqa: N818  (an outcome of rendering, not an error of the tool)
    """A check's template could not be rendered from the stack's outputs."""

    def __init__(self, field: str, problem: str, undefined: bool) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.undefined = undefined


def render_fields(check: Check, ctx: StackContext) -> dict[str, str]:
    """The check's template fields rendered with the stack's outputs (sandboxed, StrictUndefined)."""
    env = sandbox()
    scope = ctx.template_vars()
    out: dict[str, str] = {}
    for field in check.TEMPLATES:
        text = getattr(check, field)
        if text is None:
            continue
        try:
            out[field] = env.from_string(text).render(**scope).strip()
        except UndefinedError as exc:
            raise Unrenderable(field, f"{exc.message} (an output that is missing or null)", True) from None
        except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
            raise Unrenderable(field, f"cannot render the template: {exc}", False) from None
        if not out[field]:
            raise Unrenderable(field, "the template renders to an empty string", True)
        if SENSITIVE in out[field] and SENSITIVE in ctx.outputs.values():
            raise Unrenderable(field, "uses a sensitive output: the tool never keeps its value, so no "
                                      "check can use it", False)
    return out


def describe(exc: BaseException) -> str:
    """A short reason for a failed attempt: the AWS error code where there is one."""
    code = error_code(exc)
    text = f"{code}: {exc}" if code else f"{type(exc).__name__}: {exc}"
    return text[:MAX_DETAIL_CHARS]


def attempt(probe: Probe, check: Check, fields: Mapping[str, str], env: ProbeEnv) -> Outcome:
    """One attempt, bounded by the check's timeout even if the probe ignores it."""
    box: list[Outcome] = []

    def target() -> None:
        try:
            box.append(probe(check, fields, env))
        except Exception as exc:  # any failure of the probed thing is a failed attempt
            box.append(Outcome(False, describe(exc)))

    worker = threading.Thread(target=target, name=f"health-{check.name}", daemon=True)
    worker.start()
    worker.join(check.timeout + 0.5)
    if not box:
        return Outcome(False, f"no answer within {check.timeout:g}s")
    return box[0]


def run_check(check: Check, ctx: StackContext, env: ProbeEnv, *,
              probes: Mapping[type, Probe] = PROBES,
              sleep: Callable[[float], None] = time.sleep) -> CheckResult:
    """One check with its retry budget: up to ``attempts`` tries, ``wait`` seconds apart."""
    kind = str(type(check).__struct_config__.tag)
    started = time.monotonic()
    try:
        fields = render_fields(check, ctx)
    except Unrenderable as exc:
        ok = None if (check.optional and exc.undefined) else False
        detail = f"skipped: {exc}" if ok is None else str(exc)
        return CheckResult(check.name, kind, ok, detail, time.monotonic() - started, 0)
    probe = probes[type(check)]
    tries = 0

    def once() -> Outcome:
        nonlocal tries
        tries += 1
        return attempt(probe, check, fields, env)

    retrying = Retrying(stop=stop_after_attempt(check.attempts), wait=wait_fixed(check.wait),
                        retry=retry_if_result(lambda o: not o.ok), sleep=sleep,
                        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None)
    outcome: Outcome = retrying(once)
    detail = outcome.detail if outcome.ok or tries == 1 else f"{outcome.detail} (after {tries} attempts)"
    return CheckResult(check.name, kind, outcome.ok, detail[:MAX_DETAIL_CHARS], time.monotonic() - started,
                       tries)


def needs_aws(spec: HealthSpec) -> bool:
    """Whether any check talks to AWS (a caller without AWS access can skip building a client)."""
    return any(isinstance(c, AWS_KINDS) for c in spec.checks)


def run_checks(spec: HealthSpec, ctx: StackContext, aws: Aws | None = None, *,
               probes: Mapping[type, Probe] | None = None,
               sleep: Callable[[float], None] = time.sleep) -> HealthReport:
    """Every check of ``spec`` against the stack; never raises for a failing check.

    ``aws`` should be a factory whose botocore retries are few (one or two attempts): the check's
    own budget does the retrying, and botocore's standard mode would multiply it."""
    if not spec.checks:
        return HealthReport(())
    env = ProbeEnv(slug=ctx.slug, aws=aws)
    table: Mapping[type, Probe] = {**PROBES, **(probes or {})}

    def one(check: Check) -> CheckResult:
        return run_check(check, ctx, env, probes=table, sleep=sleep)

    with ThreadPoolExecutor(max_workers=min(spec.parallel, len(spec.checks)),
                            thread_name_prefix="health") as pool:
        results: list[Any] = list(pool.map(one, spec.checks))
    return HealthReport(tuple(results))
