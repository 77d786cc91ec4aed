"""Against real AWS, a store is written only if it carries the stack's tags.

The stack outputs name the stores, but an output can be wrong (a copied config, a hand-edited
state): the tags the provisioner put on every resource (`managed-by`, `staging:stack`, ...) are the
proof that a table or bucket belongs to this staging stack and not to production.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._aws import Aws, error_code
from .errors import TagMismatch, TargetError


def table_tags(aws: Aws, table: str) -> dict[str, str]:
    client = aws.client("dynamodb")
    arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    tags: dict[str, str] = {}
    args: dict[str, Any] = {"ResourceArn": arn}
    while True:   # ListTagsOfResource pages at 10 tags
        page = client.list_tags_of_resource(**args)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        if not page.get("NextToken"):
            return tags
        args["NextToken"] = page["NextToken"]


def bucket_tags(aws: Aws, bucket: str) -> dict[str, str]:
    try:
        answer = aws.client("s3").get_bucket_tagging(Bucket=bucket)
    except Exception as exc:
        if error_code(exc) == "NoSuchTagSet":
            return {}
        raise
    return {t["Key"]: t["Value"] for t in answer.get("TagSet", [])}


def check_target_tags(aws: Aws, targets: Iterable[tuple[str, str]], expected: Mapping[str, str]) -> None:
    """Raise TagMismatch (exit 3) unless every `(kind, name)` target carries every expected tag
    with its value. Kinds: `dynamodb` (a table), `s3` (a bucket); `postgres` has no AWS tags and
    is skipped (the local server is the tool's own)."""
    for kind, name in targets:
        if kind == "postgres":
            continue
        try:
            found = table_tags(aws, name) if kind == "dynamodb" else bucket_tags(aws, name)
        except Exception as exc:
            raise TargetError("", name, f"cannot read its tags ({error_code(exc) or exc})") from exc
        for key, value in expected.items():
            if found.get(key) != value:
                raise TagMismatch(f"{kind}:{name}", key, value, found.get(key))
