"""The production guard: staging never runs in a production account or against production state.

``[production]`` in the config lists production account ids, state buckets and state key
prefixes. Before anything is written (bootstrap, apply, destroy, sweep) the caller identity
is read from STS and the state location is compared with those lists; a match raises
``RefusedError`` (exit code 3) with a message that names the account or the location and
the config key that lists it. When the identity cannot be read the guard refuses too: it
cannot prove the account is not production.
"""

from __future__ import annotations

from provisioner.aws.clients import Aws
from provisioner.config.schema import Production, Settings
from provisioner.errors import RefusedError


def _under(key: str, prefix: str) -> bool:
    """Whether ``key`` is ``prefix`` or lies below it, compared path segment by segment."""
    prefix = prefix.strip("/")
    return not prefix or key == prefix or key.startswith(prefix + "/")


def production_location(production: Production, bucket: str, key: str) -> str | None:
    """The ``[production]`` entry that ``s3://bucket/key`` falls under, else None. Entries are
    canonical (config.checks: lower case, ``s3://bucket/prefix``); so are the values compared."""
    bucket, key = bucket.lower(), key.lower()
    if bucket in production.state_buckets:
        return f"state_buckets: {bucket!r}"
    for entry in production.state_prefixes:
        if entry.startswith("s3://"):
            entry_bucket, _, prefix = entry.removeprefix("s3://").partition("/")
            if entry_bucket == bucket and _under(key, prefix):
                return f"state_prefixes: {entry!r}"
        elif _under(key, entry):
            return f"state_prefixes: {entry!r}"
    return None


def check_state(settings: Settings, key: str | None = None) -> None:
    """Refuse a state location (one stack's state key, or the whole key prefix) that production owns."""
    bucket = settings.backend.bucket
    key = key or settings.backend.key_prefix.strip("/")
    entry = production_location(settings.production, bucket, key)
    if entry:
        raise RefusedError(
            f"refusing to use state s3://{bucket}/{key}: it falls under a production state location "
            f"([production].{entry} in {settings.source}); point backend.bucket / backend.key_prefix at "
            "a staging location", bucket=bucket, key=key)


def check_account(settings: Settings, aws: Aws) -> str | None:
    """Refuse a production AWS account; returns the caller's account (None when none are listed)."""
    production = settings.production.account_ids
    if not production:
        return None
    try:
        account = aws.account_id()
    except Exception as exc:  # any failure means we cannot tell
        raise RefusedError(f"refusing to continue: cannot confirm that the AWS account is not a production "
                           f"account (sts get-caller-identity failed: {exc})") from exc
    if account in production:
        check = "target.endpoint" if settings.target.kind == "local" else \
            "target.profile, target.role_arn and your AWS credentials"
        raise RefusedError(
            f"refusing to run in AWS account {account}: it is a production account ([production]."
            f"account_ids in {settings.source}); staging stacks belong in a staging account (check "
            f"{check})", account=account)
    return account


def check(settings: Settings, aws: Aws, key: str | None = None) -> None:
    """Both checks: the state location first (no network), then the caller identity."""
    check_state(settings, key)
    check_account(settings, aws)
