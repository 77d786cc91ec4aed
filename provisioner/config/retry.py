"""Retry policies, defined once: AWS API calls (botocore) and Terraform runs (tenacity).

Two layers, never stacked on the same failure:

- boto3 calls retry inside botocore (``aws_retry_config``: its ``standard`` mode retries
  throttling error codes, 5xx answers and connection errors with jittered backoff). ``Aws.client``
  takes its attempts and mode from here.
- Terraform runs are re-run as a whole by ``terraform.retrying.RetryingEngine`` (tenacity) when
  they fail with a known *transient* error: its diagnostics or output match one of
  ``TerraformRetry.patterns`` (throttling, 5xx, connection resets, timeouts). Anything else is
  raised at once: a bad configuration, a provider validation error or a held state lock never gets
  better by waiting.

A held state lock is retried only when ``lock_timeout_configured``: Terraform then already waited
``-lock-timeout`` for the holder, so another run may well get it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# ------------------------------------------------------------------------------- defaults

DEFAULT_AWS_ATTEMPTS = 7          # botocore total_max_attempts: the first call + 6 retries
DEFAULT_AWS_MODE: Literal["standard", "adaptive", "legacy"] = "standard"
DEFAULT_TERRAFORM_ATTEMPTS = 3    # runs of one Terraform command (the first included)
DEFAULT_INITIAL_WAIT = 5.0        # seconds before the 2nd run; doubles each time
DEFAULT_MAX_WAIT = 60.0
DEFAULT_JITTER = 2.0              # up to this many seconds added at random (parallel stacks)

# Terraform's own retries of one AWS request (the provider's and the S3 backend's ``max_retries``) on
# the local target: the emulator is on loopback, so a refused connection means it is gone, and the
# defaults (provider 25, backend 5, with backoff) kept a run going for a minute and a half after the
# emulator died. Throttling and 5xx answers do not happen there. The aws target keeps the defaults.
LOCAL_TERRAFORM_MAX_RETRIES = 2

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
    mode: Literal["standard", "adaptive", "legacy"] = DEFAULT_AWS_MODE


def aws_retry_config(policy: AwsRetry | None = None) -> dict[str, Any]:
    """botocore ``Config(retries=...)`` (``total_max_attempts`` counts the first call too)."""
    policy = policy or AwsRetry()
    return {"mode": policy.mode, "total_max_attempts": policy.attempts}
