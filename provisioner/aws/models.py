"""botocore's service models, loaded for what the tool uses and no more.

Building a client is mostly reading JSON: botocore's loader first walks every service directory it
ships (~400 of them, two ``listdir`` and a ``stat`` each, ~35 ms) to decide whether the name is a
service at all, then parses the 1-2 MB model and the endpoint rules with ``json`` into
``OrderedDict``s. A command such as ``list`` makes one client and one call, so that was a quarter of
its run. This loader is botocore's own ``Loader`` (same search paths, ``AWS_DATA_PATH`` and
``~/.aws/models`` included, same extras) with two changes: the services it knows are
``CLIENT_SERVICES`` (a client for any other name fails with botocore's ``UnknownServiceError``,
naming these), and files are decoded with msgspec (plain dicts, which keep their order too).
"""

from __future__ import annotations

import gzip
import os
from typing import Any

import msgspec
from botocore.loaders import JSONFileLoader, Loader

# Every service ``Aws.client`` is asked for (tests/unit/test_aws_models.py checks the package's
# ``client("...")`` calls against it, and builds a client of each).
CLIENT_SERVICES = (
    "autoscaling", "cloudwatch", "dynamodb", "ec2", "ecs", "elb", "elbv2", "iam", "kms", "logs", "rds",
    "resourcegroupstaggingapi", "route53", "s3", "secretsmanager", "sns", "sqs", "ssm", "sts",
)
# The same lookup order as botocore's JSONFileLoader.
_SUFFIXES: tuple[tuple[str, Any], ...] = ((".json", open), (".json.gz", gzip.open))


class JSONFiles(JSONFileLoader):
    """botocore's file loader, both its methods (``exists``, ``load_file``) redone to decode with
    msgspec."""

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + suffix) for suffix, _ in _SUFFIXES)

    def load_file(self, file_path: str) -> Any:
        for suffix, opener in _SUFFIXES:
            path = file_path + suffix
            if os.path.isfile(path):
                with opener(path, "rb") as fp:
                    return msgspec.json.decode(fp.read())
        return None


class ToolLoader(Loader):
    def list_available_services(self, type_name: str) -> list[str]:
        """The tool's services, instead of a walk over every service botocore ships."""
        return sorted(CLIENT_SERVICES)


def loader(data_path: str | None) -> ToolLoader:
    """A loader for a session whose ``data_path`` config variable (``AWS_DATA_PATH``) is
    ``data_path``: the search paths botocore's ``create_loader`` would give it."""
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] \
        if data_path else None
    return ToolLoader(extra_search_paths=extra, file_loader=JSONFiles())
