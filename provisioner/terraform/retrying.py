"""Terraform runs re-run after transient failures: ``RetryingEngine`` wraps any ``Engine``.

What counts as transient, and how long to wait, is the policy of ``config.retry``; a held state
lock is never retried here unless a lock timeout was configured (breaking a dead run's lock is
``terraform.locks.recover_lock``'s job, never a retry's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from provisioner.config.retry import LOCK_PATTERN, TerraformRetry
from provisioner.errors import TerraformError
from provisioner.terraform.locks import error_texts, is_lock_error

T = TypeVar("T")

if TYPE_CHECKING:
    import tenacity

    from provisioner.terraform.events import EventCallback, RunResult, StrPath
    from provisioner.terraform.interface import Engine


def transient_match(error: BaseException, policy: TerraformRetry) -> str | None:
    """The pattern that makes ``error`` worth another run, or None (raise it)."""
    if not isinstance(error, TerraformError):
        return None
    if is_lock_error(error):  # decided here alone: no other pattern may retry a held lock
        return LOCK_PATTERN if policy.lock_timeout_configured else None
    for pattern in policy._compiled:
        if any(pattern.search(text) for text in error_texts(error)):
            return pattern.pattern
    return None


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each wait: run ``attempt`` of ``command`` failed transiently."""

    command: str
    attempt: int          # the run that failed (1 = the first)
    attempts: int         # the most runs there will be
    pattern: str          # what matched
    wait: float           # seconds before the next run
    error: TerraformError


RetryCallback = Callable[[RetryNotice], None]


class RetryingEngine:
    """An ``Engine`` that re-runs the inner engine's commands after transient failures.

    ``sleep`` is injectable (tests pass a recorder); ``on_retry`` hears every retry.
    """

    def __init__(self, inner: Engine, policy: TerraformRetry | None = None, *,
                 on_retry: RetryCallback | None = None, sleep: Callable[[float], None] | None = None) -> None:
        self.inner = inner
        self.policy = policy or TerraformRetry()
        self.on_retry = on_retry
        self._sleep = sleep or time.sleep

    def _call(self, command: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        import tenacity

        policy = self.policy

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if self.on_retry is None or state.outcome is None:
                return
            exc = state.outcome.exception()
            assert isinstance(exc, TerraformError)
            wait = state.next_action.sleep if state.next_action else 0.0
            self.on_retry(RetryNotice(command, state.attempt_number, policy.attempts,
                                      transient_match(exc, policy) or "", float(wait), exc))

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.attempts),
            wait=policy.wait_strategy(),
            retry=tenacity.retry_if_exception(lambda exc: transient_match(exc, policy) is not None),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(fn, *args, **kwargs)

    def init(self, workdir: StrPath, *, backend_config: Sequence[str] = ()) -> RunResult:
        return self._call("init", self.inner.init, workdir, backend_config=backend_config)

    def plan(self, workdir: StrPath, *, destroy: bool = False, on_event: EventCallback | None = None,
             var_files: Sequence[str] = ()) -> RunResult:
        return self._call("plan", self.inner.plan, workdir, destroy=destroy, on_event=on_event,
                          var_files=var_files)

    def apply(self, workdir: StrPath, *, on_event: EventCallback | None = None,
              var_files: Sequence[str] = ()) -> RunResult:
        return self._call("apply", self.inner.apply, workdir, on_event=on_event, var_files=var_files)

    def destroy(self, workdir: StrPath, *, on_event: EventCallback | None = None,
                var_files: Sequence[str] = ()) -> RunResult:
        return self._call("destroy", self.inner.destroy, workdir, on_event=on_event, var_files=var_files)

    def refresh_plan(self, workdir: StrPath, plan_file: str, *, var_files: Sequence[str] = ()) -> RunResult:
        return self._call("plan refresh-only", self.inner.refresh_plan, workdir, plan_file,
                          var_files=var_files)

    def show_plan(self, workdir: StrPath, plan_file: str) -> dict[str, Any]:
        return self._call("show", self.inner.show_plan, workdir, plan_file)

    def output(self, workdir: StrPath, *, mask_sensitive: bool = False) -> dict[str, Any]:
        return self._call("output", self.inner.output, workdir, mask_sensitive=mask_sensitive)

    def state_list(self, workdir: StrPath) -> list[str]:
        return self._call("state list", self.inner.state_list, workdir)

    def state_pull(self, workdir: StrPath) -> dict[str, Any]:
        return self._call("state pull", self.inner.state_pull, workdir)

    def force_unlock(self, workdir: StrPath, lock_id: str) -> None:
        self.inner.force_unlock(workdir, lock_id)  # never repeated: see recover_lock

    def state_push(self, workdir: StrPath, state_file: str) -> None:
        self._call("state push", self.inner.state_push, workdir, state_file)

    def select_workspace(self, workdir: StrPath, name: str) -> None:
        self._call("workspace select", self.inner.select_workspace, workdir, name)

    def version(self) -> str:
        return self.inner.version()
