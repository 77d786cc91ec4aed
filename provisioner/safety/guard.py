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


def role_account(role_arn: str) -> str | None:
    """The account id of a literal IAM role ARN (``arn:aws:iam::123456789012:role/x``), else None."""
    parts = role_arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] == "iam" and parts[4].isdigit() and \
            len(parts[4]) == 12:
        return parts[4]
    return None


def check_provider_credentials(settings: Settings, aws: Aws, roles: list[tuple[str, str, str | None]],
                               profiles: list[tuple[str, str, str | None]]) -> None:
    """Refuse a provider block that would act in a production account, before any plan.

    ``roles`` and ``profiles`` are (where, what the block says, its literal value or None for an
    expression). On the aws target each role's account (from its ARN) and each profile's account
    (STS under that profile) is compared with ``[production].account_ids``; an expression the tool
    cannot evaluate is refused too: it cannot prove the account is not production."""
    production = settings.production.account_ids
    if not production or settings.target.kind == "local":
        return
    for where, raw, arn in roles:
        account = role_account(arn) if arn else None
        if account is None:
            raise RefusedError(f"refusing to continue: {where} assumes role {raw}, and the tool cannot "
                               "tell its account; write the role ARN literally", where=where)
        if account in production:
            raise RefusedError(f"refusing to run: {where} assumes role {arn} in AWS account {account}, "
                               f"a production account ([production].account_ids in {settings.source})",
                               account=account)
    for where, raw, name in profiles:
        try:
            account = Aws(region=settings.target.region, profile=name).account_id() if name else None
        except Exception as exc:  # any failure means we cannot tell
            raise RefusedError(f"refusing to continue: cannot read the account of profile {raw} "
                               f"({where}): {exc}") from exc
        if account is None or account in production:
            raise RefusedError(f"refusing to run: {where} uses profile {raw}"
                               + (f" in production account {account}" if account else
                                  ", and the tool cannot tell its account")
                               + f" ([production].account_ids in {settings.source})", account=account)
