"""The real account behind the sweep's ``Account`` interface: finding what carries our tags
(the tagging API, plus IAM roles and DB subnet groups listed per service, which it misses), and
reading and deleting one resource through its handler."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from provisioner.aws.clients import Aws
from provisioner.aws.errors import error_code, must
from provisioner.domain import tags
from provisioner.support.parallel import gather
from provisioner.sweep.handlers import HANDLERS, tag_map
from provisioner.sweep.leaving import leaving


def find_tagged(aws: Aws, slug: str | None = None, regions: Iterable[str] = ()) -> list[str]:
    """ARNs of live resources managed by us (of one stack when ``slug`` is given), in the client's
    region and every one of ``regions``; resources AWS already deletes later are not live. The
    regions are read at once (threads); any region's failure fails the whole answer."""
    return sorted({arn for found in tagged_in(accounts(aws, regions), slug) for arn, _tags in found})


def tagged_in(found_in: list[AwsAccount], slug: str | None) -> list[list[tuple[str, dict[str, str]]]]:
    """``account.tagged(slug)`` of every account, read at once; in the order given."""
    return gather([partial(a.tagged, slug) for a in found_in])


def in_region(aws: Aws, region: str) -> Aws:
    """The same target and credentials in another region (a stack's aliased providers)."""
    if region == aws.region:
        return aws
    return Aws(region=region, endpoint=aws.endpoint, profile=aws.profile, role_arn=aws.role_arn,
               retries=aws.retries)


def accounts(aws: Aws, regions: Iterable[str] = ()) -> list[AwsAccount]:
    return [AwsAccount(in_region(aws, r)) for r in dict.fromkeys([aws.region, *regions])]


_GONE = {"NoSuchBucket", "NoSuchEntity", "InvalidResourceId", "ParameterNotFound", "NotFound",
         "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def _is_gone(exc: BaseException) -> bool:
    code = error_code(exc)
    return code in _GONE or code.endswith(("NotFound", "NotFoundException", "NotFoundFault"))


class AwsAccount:
    """``Account`` over boto3 clients from ``Aws.client`` (retries configured there)."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def tagged(self, only_slug: str | None) -> list[tuple[str, dict[str, str]]]:
        wanted = {tags.MANAGED_BY: tags.MANAGED_BY_VALUE}
        if only_slug:
            wanted[tags.STACK] = only_slug
        region = self.aws.region
        # The three sources at once (threads over one Aws: its clients are thread-safe), each
        # through ``must``: a source that cannot be read fails the answer with its reason, it is
        # never taken for "nothing tagged".
        tagging, roles, groups = gather([
            lambda: must(f"list resources tagged {wanted} in {region} (tagging API)",
                         lambda: list(_via_tagging_api(self.aws, wanted))),
            lambda: must("list IAM roles and their tags", lambda: list(_iam_roles(self.aws))),
            lambda: must(f"list DB subnet groups and their tags in {region}",
                         lambda: list(_db_subnet_groups(self.aws))),
        ])
        found = dict(tagging)
        found.update((arn, t) for arn, t in [*roles, *groups] if _matches(t, wanted))
        arns = sorted(found)
        gone = gather([partial(self._leaving, arn) for arn in arns])
        return [(arn, found[arn]) for arn, away in zip(arns, gone, strict=True) if not away]

    def _leaving(self, arn: str) -> bool:
        return must(f"read the state of {arn}", lambda: leaving(self.aws, arn))

    def tags(self, kind: str, arn: str) -> dict[str, str] | None:
        try:
            return HANDLERS[kind].tags(self.aws, arn)
        except Exception as exc:
            if _is_gone(exc):
                return None
            raise

    def prepare(self, kind: str, arn: str) -> None:
        step = HANDLERS[kind].prepare
        if step is not None:
            step(self.aws, arn)

    def delete(self, kind: str, arn: str) -> None:
        try:
            HANDLERS[kind].delete(self.aws, arn)
        except Exception as exc:
            if not _is_gone(exc):
                raise


def _matches(have: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(have.get(k) == v for k, v in wanted.items())


def _via_tagging_api(aws: Aws, wanted: dict[str, str]) -> Iterable[tuple[str, dict[str, str]]]:
    api = aws.client("resourcegroupstaggingapi")
    filters = [{"Key": k, "Values": [v]} for k, v in wanted.items()]
    for page in api.get_paginator("get_resources").paginate(TagFilters=filters):
        for r in page.get("ResourceTagMappingList", []):
            yield r["ResourceARN"], tag_map(r.get("Tags"))


def _iam_roles(aws: Aws) -> Iterable[tuple[str, dict[str, str]]]:
    iam = aws.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            yield role["Arn"], tag_map(iam.list_role_tags(RoleName=role["RoleName"]).get("Tags"))


def _db_subnet_groups(aws: Aws) -> Iterable[tuple[str, dict[str, str]]]:
    rds = aws.client("rds")
    for page in rds.get_paginator("describe_db_subnet_groups").paginate():
        for group in page.get("DBSubnetGroups", []):
            arn = group["DBSubnetGroupArn"]
            yield arn, tag_map(rds.list_tags_for_resource(ResourceName=arn).get("TagList"))
