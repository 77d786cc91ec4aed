"""Resources AWS deletes later, and the sweep's handler for KMS keys.

Terraform's destroy of an ``aws_kms_key`` only schedules its deletion (7 to 30 days); the key
stays, tagged, in ``PendingDeletion``. A Secrets Manager secret in its recovery window keeps its
tags and a ``DeletedDate``; a deregistered ECS task definition stays ``INACTIVE`` for good. Each of
these is already on its way out: the nothing-tagged check and the sweep count it as gone, and the
sweep schedules a KMS key's deletion itself.
"""

from __future__ import annotations

from provisioner.aws.clients import Aws
from provisioner.aws.errors import error_code

KMS_PENDING_WINDOW_DAYS = 7   # the shortest window AWS allows
_KMS_LEAVING = ("PendingDeletion", "PendingReplicaDeletion")


def _service(arn: str) -> tuple[str, str]:
    parts = arn.split(":", 5)
    return (parts[2], parts[5]) if len(parts) == 6 else ("", "")


def leaving(aws: Aws, arn: str) -> bool:
    """True when AWS has already scheduled the resource's deletion (or keeps only a husk of it)."""
    service, resource = _service(arn)
    try:
        if service == "kms" and resource.startswith("key/"):
            state = aws.client("kms").describe_key(KeyId=arn)["KeyMetadata"].get("KeyState")
            return state in _KMS_LEAVING
        if service == "secretsmanager":
            return "DeletedDate" in aws.client("secretsmanager").describe_secret(SecretId=arn)
        if service == "ecs" and resource.startswith("task-definition/"):
            found = aws.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
            return found.get("status") in ("INACTIVE", "DELETE_IN_PROGRESS")
    except Exception as exc:
        if error_code(exc).endswith(("NotFoundException", "NotFound")):
            return True
        raise
    return False


def kms_tags(aws: Aws, arn: str) -> dict[str, str]:
    found = aws.client("kms").list_resource_tags(KeyId=arn).get("Tags") or []
    return {t["TagKey"]: t["TagValue"] for t in found}


def kms_delete(aws: Aws, arn: str) -> None:
    """Schedule the key's deletion (AWS never deletes a key at once); a key already scheduled is fine."""
    if leaving(aws, arn):
        return
    # the key id, not the ARN: AWS takes either, moto 5.2.5 only the id
    key_id = arn.rsplit("/", 1)[-1]
    aws.client("kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=KMS_PENDING_WINDOW_DAYS)
