"""The ``[retry]`` section of the settings as the two retry policies."""

from __future__ import annotations

import re

from provisioner.config.retry import DEFAULT_TERRAFORM_PATTERNS, AwsRetry, TerraformRetry
from provisioner.config.schema import Settings


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
