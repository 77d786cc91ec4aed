"""Per-stack state location and locking, and the bootstrap of shared tables.

One state per stack: ``s3://<bucket>/<prefix>/<slug>/terraform.tfstate``. The
backend configuration is generated here (never edited by hand) and written by
``workspace`` as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.aws.clients import Aws
from provisioner.aws.errors import NO_OBJECT, call, must
from provisioner.config.schema import Settings

STATE_FILE = "terraform.tfstate"
INPUTS_FILE = "inputs.tfvars.json"


@dataclass(frozen=True)
class StateLocation:
    bucket: str
    prefix: str
    slug: str

    @property
    def directory(self) -> str:
        return f"{self.prefix}/{self.slug}"

    @property
    def key(self) -> str:
        return f"{self.directory}/{STATE_FILE}"

    @property
    def inputs_key(self) -> str:
        return f"{self.directory}/{INPUTS_FILE}"

    @property
    def lock_key(self) -> str:
        return f"{self.key}.tflock"


def location(settings: Settings, slug: str) -> StateLocation:
    return StateLocation(settings.backend.bucket, settings.backend.key_prefix, slug)


def backend_block(settings: Settings, loc: StateLocation, endpoint: str | None) -> dict[str, Any]:
    """The ``backend "s3"`` settings for one stack (Terraform >= 1.6 names)."""
    b = settings.backend
    # Each stack runs in its own Terraform workspace named after its slug; the S3 backend keeps a
    # workspace's state at <workspace_key_prefix>/<workspace>/<key>, which is loc.key.
    cfg: dict[str, Any] = {"bucket": loc.bucket, "key": STATE_FILE, "workspace_key_prefix": loc.prefix,
                           "region": settings.target.region, "encrypt": True}
    if b.locking == "lockfile":
        cfg["use_lockfile"] = True
    elif b.locking == "dynamodb":
        cfg["dynamodb_table"] = b.lock_table
    if endpoint:
        cfg.update(
            use_path_style=True, skip_credentials_validation=True, skip_requesting_account_id=True,
            skip_metadata_api_check=True, skip_region_validation=True,
            endpoints={"s3": endpoint, "dynamodb": endpoint, "sts": endpoint, "iam": endpoint},
        )
    if (retries := settings.target.max_retries()) is not None:
        cfg["max_retries"] = retries  # on the local target: the emulator on loopback, refused means gone
    return cfg


def _ensure_bucket(s3: Any, bucket: str, region: str) -> list[str]:
    done: list[str] = []
    if call(f"reach state bucket {bucket}", lambda: s3.head_bucket(Bucket=bucket), none_on=NO_OBJECT,
            bucket=bucket) is None:
        args: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        # BucketAlreadyOwnedByYou: a concurrent run created it first
        if call(f"create state bucket {bucket}", lambda: s3.create_bucket(**args),
                none_on=("BucketAlreadyOwnedByYou",), bucket=bucket) is not None:
            done.append(f"created state bucket {bucket}")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    return done


def ensure_table(ddb: Any, name: str, key: str, *, index: dict[str, Any] | None = None,
                 index_attribute: dict[str, str] | None = None) -> bool:
    """Create a pay-per-request table keyed by ``key`` if missing, with the global secondary
    ``index`` (keyed by ``index_attribute``) if given; True when created."""
    if call(f"reach DynamoDB table {name}", lambda: ddb.describe_table(TableName=name),
            none_on=("ResourceNotFoundException",), table=name) is not None:
        return False
    extra: dict[str, Any] = {"GlobalSecondaryIndexes": [index]} if index else {}
    # ResourceInUseException: a concurrent run created it first
    created = call(f"create DynamoDB table {name}", lambda: ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"},
                              *([index_attribute] if index_attribute else [])],
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}], **extra),
        none_on=("ResourceInUseException",), table=name) is not None
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return created


def bootstrap(settings: Settings, aws: Aws) -> list[str]:
    """Create the state bucket, lock table and the registry, lease and audit tables where missing.

    Idempotent."""
    from provisioner.state.liveindex import ensure_live_index
    from provisioner.state.registry import LIVE_ATTRIBUTE, LIVE_INDEX

    done = _ensure_bucket(aws.client("s3"), settings.backend.bucket, settings.target.region)
    ddb = aws.client("dynamodb")
    if settings.backend.locking == "dynamodb" and ensure_table(ddb, settings.backend.lock_table, "LockID"):
        done.append(f"created lock table {settings.backend.lock_table}")
    r = settings.registry
    if ensure_table(ddb, r.table, "slug", index=LIVE_INDEX, index_attribute=LIVE_ATTRIBUTE):
        done.append(f"created table {r.table}")
    else:   # a table made before the index of live records: add it (state.liveindex)
        done.extend(ensure_live_index(ddb, r.table))
    for table, key in ((r.lease_table, "slug"), (r.audit_table, "id")):
        if ensure_table(ddb, table, key):
            done.append(f"created table {table}")
    return done


def state_exists(aws: Aws, loc: StateLocation) -> bool:
    return call(f"read state s3://{loc.bucket}/{loc.key}", lambda: aws.client("s3").head_object(
        Bucket=loc.bucket, Key=loc.key), none_on=NO_OBJECT) is not None


def state_slugs(aws: Aws, settings: Settings) -> set[str]:
    """Stack ids that have a state file under the configured prefix."""
    s3, prefix = aws.client("s3"), settings.backend.key_prefix + "/"

    def keys() -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.backend.bucket, Prefix=prefix)
        return [obj["Key"][len(prefix):] for page in pages for obj in page.get("Contents", [])]

    rests = must(f"list states in s3://{settings.backend.bucket}/{prefix}", keys)
    return {rest.split("/", 1)[0] for rest in rests
            if rest.count("/") == 1 and rest.endswith("/" + STATE_FILE)}


def put_inputs(aws: Aws, loc: StateLocation, body: bytes) -> None:
    """Keep the rendered variables beside the state so a teardown on another runner can use them."""
    aws.client("s3").put_object(Bucket=loc.bucket, Key=loc.inputs_key, Body=body,
                                ServerSideEncryption="AES256")


def get_inputs(aws: Aws, loc: StateLocation) -> bytes | None:
    body: bytes | None = call(f"read s3://{loc.bucket}/{loc.inputs_key}", lambda: aws.client("s3").get_object(
        Bucket=loc.bucket, Key=loc.inputs_key)["Body"].read(), none_on=NO_OBJECT)
    return body


def delete_state(aws: Aws, loc: StateLocation) -> int:
    """Delete every version of the stack's state objects; returns how many were deleted."""
    s3 = aws.client("s3")
    doomed: list[dict[str, str]] = []
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=loc.bucket, Prefix=loc.directory + "/"):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            doomed.append({"Key": item["Key"], "VersionId": item["VersionId"]})
    for i in range(0, len(doomed), 1000):
        s3.delete_objects(Bucket=loc.bucket, Delete={"Objects": doomed[i:i + 1000], "Quiet": True})
    return len(doomed)
