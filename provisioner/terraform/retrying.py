"""Retry policies, defined once: AWS API calls (botocore) and Terraform runs (tenacity).

Two layers, never stacked on the same failure:

- boto3 calls retry inside botocore (``aws_retry_config``: its ``standard`` mode retries
  throttling error codes, 5xx answers and connection errors with jittered backoff). ``Aws.client``
  takes its attempts and mode from here.
- Terraform runs are re-run as a whole by ``RetryingEngine`` (tenacity) when they fail with a
  known *transient* error: its diagnostics or output match one of ``TerraformRetry.patterns``
  (throttling, 5xx, connection resets, timeouts). Anything else is raised at once: a bad
  configuration, a provider validation error or a held state lock never gets better by waiting.

A held state lock is retried only when ``lock_timeout_configured``: Terraform then already waited
``-lock-timeout`` for the holder, so another run may well get it. Without a lock timeout the lock
belongs to a run in progress (or to a dead one: that is ``recover_lock``'s job, never a retry's).

``recover_lock`` force-unlocks a state lock whose holder is known to be dead, and only then.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from provisioner.errors import TerraformError

if TYPE_CHECKING:
    import tenacity

    from provisioner.config.schema import Settings
    from provisioner.terraform.engines import Engine, EventCallback, RunResult, StrPath

# ------------------------------------------------------------------------------- defaults

DEFAULT_AWS_ATTEMPTS = 7          # botocore total_max_attempts: the first call + 6 retries
DEFAULT_AWS_MODE = "standard"
DEFAULT_TERRAFORM_ATTEMPTS = 3    # runs of one Terraform command (the first included)
DEFAULT_INITIAL_WAIT = 5.0        # seconds before the 2nd run; doubles each time
DEFAULT_MAX_WAIT = 60.0
DEFAULT_JITTER = 2.0              # up to this many seconds added at random (parallel stacks)

# Held state lock: Terraform's summary, the same for the S3 lockfile and the DynamoDB table.
LOCK_PATTERN = r"Error acquiring the state lock"

# Transient Terraform failures. Matched (re.search) against each diagnostic's summary and detail
# and the command's output. AWS error codes are case-sensitive, free text is not.
DEFAULT_TERRAFORM_PATTERNS: tuple[str, ...] = (
    r"Throttling(Exception)?\b",           # ThrottlingException, "Throttling: Rate exceeded"
    r"ThrottledException|TooManyRequestsException",
    r"RequestLimitExceeded",
    r"(?i)rate exceeded",
    r"SlowDown",                           # S3's 503
    r"ServiceUnavailable(Exception)?",
    r"InternalError|InternalFailure|InternalServerError",
    r"(?i)status ?code: 50[0234]\b",       # aws-sdk-go "status code: 503", v2 "StatusCode: 503"
    r"(?i)connection reset( by peer)?",
    r"(?i)i/o timeout",
    r"(?i)TLS handshake timeout",
)


def compile_patterns(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Compiled patterns; ValueError for an invalid one or one that would match any error."""
    compiled = []
    for text in patterns:
        try:
            pattern = re.compile(text)
        except re.error as exc:
            raise ValueError(f"{text!r} is not a regular expression: {exc}") from None
        if pattern.search("") is not None:
            raise ValueError(f"{text!r} matches empty text, so it would retry every error")
        compiled.append(pattern)
    return tuple(compiled)


@dataclass(frozen=True)
class TerraformRetry:
    """How Terraform commands are re-run. ``patterns`` replace nothing: they are the full list."""

    attempts: int = DEFAULT_TERRAFORM_ATTEMPTS
    patterns: tuple[str, ...] = DEFAULT_TERRAFORM_PATTERNS
    lock_timeout_configured: bool = False
    initial_wait: float = DEFAULT_INITIAL_WAIT
    max_wait: float = DEFAULT_MAX_WAIT
    jitter: float = DEFAULT_JITTER
    _compiled: tuple[re.Pattern[str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        object.__setattr__(self, "_compiled", compile_patterns(self.patterns))

    def wait_strategy(self) -> Any:
        import tenacity  # here, not at the top: the config imports this module on every command

        wait = tenacity.wait_exponential(multiplier=self.initial_wait, max=self.max_wait)
        return wait + tenacity.wait_random(0, self.jitter) if self.jitter > 0 else wait


@dataclass(frozen=True)
class AwsRetry:
    attempts: int = DEFAULT_AWS_ATTEMPTS
    mode: str = DEFAULT_AWS_MODE


def aws_retry_config(policy: AwsRetry | None = None) -> dict[str, Any]:
    """botocore ``Config(retries=...)`` (``total_max_attempts`` counts the first call too)."""
    policy = policy or AwsRetry()
    return {"mode": policy.mode, "total_max_attempts": policy.attempts}


def _lock_timeout_set(text: str | None) -> bool:
    """Terraform durations: "0s", "0", "" mean no lock timeout."""
    return bool(text) and re.fullmatch(r"\s*0*\s*[a-z]*\s*", str(text)) is None


def policies_from_settings(settings: Settings) -> tuple[TerraformRetry, AwsRetry]:
    """The ``[retry]`` section (plus ``backend.lock_timeout``) as the two policies."""
    r = settings.retry
    extra = tuple(r.terraform_patterns)
    patterns = extra if r.terraform_patterns_mode == "replace" else (*DEFAULT_TERRAFORM_PATTERNS, *extra)
    tf = TerraformRetry(attempts=r.terraform_attempts, patterns=tuple(dict.fromkeys(patterns)),
                        lock_timeout_configured=_lock_timeout_set(settings.backend.lock_timeout),
                        initial_wait=r.initial_wait, max_wait=r.max_wait)
    return tf, AwsRetry(attempts=r.aws_attempts, mode=r.aws_mode)


# ------------------------------------------------------------------------------- classification


def _texts(error: TerraformError) -> list[str]:
    texts = [f"{d.summary}\n{d.detail}" for d in error.diagnostics]
    if error.output:
        texts.append(error.output)
    return texts


def is_lock_error(error: TerraformError) -> bool:
    return error.lock_id is not None or any(
        re.search(LOCK_PATTERN, d.summary) for d in error.diagnostics)


def transient_match(error: BaseException, policy: TerraformRetry) -> str | None:
    """The pattern that makes ``error`` worth another run, or None (raise it)."""
    if not isinstance(error, TerraformError):
        return None
    if is_lock_error(error):  # decided here alone: no other pattern may retry a held lock
        return LOCK_PATTERN if policy.lock_timeout_configured else None
    for pattern in policy._compiled:
        if any(pattern.search(text) for text in _texts(error)):
            return pattern.pattern
    return None


# ------------------------------------------------------------------------------- engine wrapper


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

    def _call(self, command: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
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

    def output(self, workdir: StrPath, *, mask_sensitive: bool = False) -> dict[str, Any]:
        return self._call("output", self.inner.output, workdir, mask_sensitive=mask_sensitive)

    def state_list(self, workdir: StrPath) -> list[str]:
        return self._call("state list", self.inner.state_list, workdir)

    def state_pull(self, workdir: StrPath) -> dict[str, Any]:
        return self._call("state pull", self.inner.state_pull, workdir)

    def force_unlock(self, workdir: StrPath, lock_id: str) -> None:
        self.inner.force_unlock(workdir, lock_id)  # never repeated: see recover_lock

    def version(self) -> str:
        return self.inner.version()


# ------------------------------------------------------------------------------- state locks

_LOCK_FIELDS = {"ID": "id", "Path": "path", "Operation": "operation", "Who": "who",
                "Version": "version", "Created": "created", "Info": "info"}
_LOCK_LINE = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created|Info):[ \t]*(.*?)\s*$", re.M)
_CREATED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? ([+-]\d{4})")


@dataclass(frozen=True)
class LockInfo:
    """Terraform's ``Lock Info`` block. ``who`` is ``user@host`` of the run that took the lock."""

    id: str
    path: str = ""
    operation: str = ""
    who: str = ""
    version: str = ""
    created: str = ""
    info: str = ""

    @property
    def created_at(self) -> float | None:
        """``created`` as Unix seconds (Terraform prints nanoseconds; kept to microseconds)."""
        m = _CREATED.match(self.created)
        if not m:
            return None
        fraction = (m.group(2) or "0")[:6].ljust(6, "0")
        stamp = datetime.strptime(f"{m.group(1)}.{fraction} {m.group(3)}", "%Y-%m-%d %H:%M:%S.%f %z")
        return stamp.timestamp()


def parse_lock_info(error: TerraformError) -> LockInfo | None:
    """The lock a failed command ran into, or None when it is not a held-lock failure."""
    if not is_lock_error(error):
        return None
    for text in _texts(error):
        if "Lock Info" not in text:
            continue
        values = {_LOCK_FIELDS[k]: v for k, v in _LOCK_LINE.findall(text.split("Lock Info", 1)[1])}
        if values.get("id"):
            return LockInfo(**values)
    return LockInfo(id=error.lock_id) if error.lock_id else None


def recover_lock(engine: Engine, workdir: StrPath, error: TerraformError,
                 holder_alive: Callable[[str], bool]) -> bool:
    """Force-unlock the state lock behind ``error`` if its holder is dead; True when unlocked.

    ``holder_alive(who)`` gets the lock's ``Who`` (user@host) and must say whether the run that
    holds it may still be working (e.g. its lease heartbeat has not expired). Nothing is unlocked
    when it says yes, when the error is not a held lock, or when the lock names no holder.
    ``force_unlock`` errors (a lock id that no longer matches, ...) propagate.
    """
    info = parse_lock_info(error)
    if info is None or not info.who or holder_alive(info.who):
        return False
    engine.force_unlock(workdir, info.id)
    return True
