"""Find resources by our tags (the deleting half lives with the nightly cleanup).

The tagging API misses some types under the emulator and for IAM globally
(HARNESS.md: aws_iam_role, aws_db_subnet_group), so those are listed per service.
"""

from __future__ import annotations

from typing import Any

from . import tags
from .aws import Aws


def _tag_map(tag_list: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list or []}


def _tagged_via_api(aws: Aws, filters: list[dict[str, Any]]) -> list[str]:
    api = aws.client("resourcegroupstaggingapi")
    arns: list[str] = []
    for page in api.get_paginator("get_resources").paginate(TagFilters=filters):
        arns.extend(r["ResourceARN"] for r in page.get("ResourceTagMappingList", []))
    return arns


def _matches(tag_list: list[dict[str, str]], wanted: dict[str, str | None]) -> bool:
    have = _tag_map(tag_list)
    return all(k in have and (v is None or have[k] == v) for k, v in wanted.items())


def _iam_roles(aws: Aws, wanted: dict[str, str | None]) -> list[str]:
    iam = aws.client("iam")
    return [role["Arn"]
            for page in iam.get_paginator("list_roles").paginate() for role in page.get("Roles", [])
            if _matches(iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", []), wanted)]


def _db_subnet_groups(aws: Aws, wanted: dict[str, str | None]) -> list[str]:
    rds = aws.client("rds")
    return [group["DBSubnetGroupArn"]
            for page in rds.get_paginator("describe_db_subnet_groups").paginate()
            for group in page.get("DBSubnetGroups", [])
            if _matches(rds.list_tags_for_resource(ResourceName=group["DBSubnetGroupArn"]).get("TagList", []),
                        wanted)]


def find_tagged(aws: Aws, slug: str | None = None) -> list[str]:
    """ARNs of live resources managed by us (of one stack when ``slug`` is given)."""
    wanted: dict[str, str | None] = {tags.MANAGED_BY: tags.MANAGED_BY_VALUE}
    if slug:
        wanted[tags.STACK] = slug
    filters = [{"Key": k, "Values": [v]} if v else {"Key": k} for k, v in wanted.items()]
    arns = set(_tagged_via_api(aws, filters))
    arns.update(_iam_roles(aws, wanted))
    arns.update(_db_subnet_groups(aws, wanted))
    return sorted(arns)
