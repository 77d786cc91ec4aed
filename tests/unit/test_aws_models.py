"""The AWS layer's client factory: botocore clients built with the tool's loader (aws.models).

No network: building a client reads botocore's model files only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from botocore import xform_name
from botocore.exceptions import UnknownServiceError

from provisioner.aws import models
from provisioner.aws.clients import Aws

PACKAGE = Path(__file__).resolve().parents[2] / "provisioner"


def test_every_client_the_package_asks_for_is_a_known_service():
    asked = {
        m.group(1)
        for p in PACKAGE.rglob("*.py")
        for m in re.finditer(r"""\bclient\(\s*["']([a-z0-9-]+)["']""", p.read_text())
    }
    assert asked, "found no client(...) calls: the pattern is wrong"
    assert asked <= set(models.CLIENT_SERVICES), sorted(asked - set(models.CLIENT_SERVICES))


@pytest.mark.parametrize("service", models.CLIENT_SERVICES)
def test_each_known_service_builds_a_client_with_its_paginators_and_waiters(service):
    client = Aws(region="eu-west-1", endpoint="http://127.0.0.1:9").client(service)
    assert client.meta.service_model.service_name == service
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    # the same model botocore's own loader reads (msgspec decodes it; json would give the same)
    assert client.meta.service_model.operation_names
    names = [xform_name(op) for op in client.meta.service_model.operation_names]
    assert any(client.can_paginate(n) for n in names) or service == "sts"  # paginators-1 loaded


def test_dynamodb_waiter_and_paginator_come_from_the_loader():
    client = Aws(region="eu-west-1", endpoint="http://127.0.0.1:9").client("dynamodb")
    assert client.get_paginator("scan") is not None
    assert client.get_waiter("table_exists").config.delay > 0


def test_an_unknown_service_is_botocores_error_naming_the_known_ones():
    with pytest.raises(UnknownServiceError, match="dynamodb"):
        Aws(region="eu-west-1", endpoint="http://127.0.0.1:9").client("lambda")


def test_a_client_loads_botocore_without_boto3():
    code = (
        "import sys; from provisioner.aws.clients import Aws; "
        "Aws(region='eu-west-1', endpoint='http://127.0.0.1:9').client('dynamodb'); "
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_local_credentials_are_the_emulators():
    creds = Aws(region="eu-west-1", endpoint="http://127.0.0.1:9").session().get_credentials()
    assert (creds.access_key, creds.secret_key) == ("test", "test")
    assert Aws(region="eu-west-1", endpoint="http://x").terraform_env()["AWS_ACCESS_KEY_ID"] == "test"


def test_the_loader_reads_aws_data_path_too(tmp_path):
    loader = models.loader(f"{tmp_path}{':'}{tmp_path / 'more'}")
    assert str(tmp_path) in loader.search_paths and str(tmp_path / "more") in loader.search_paths
    assert models.loader(None).search_paths == models.ToolLoader().search_paths


@pytest.mark.parametrize(
    "name",
    [
        "endpoints",
        "partitions",
        "dynamodb/2012-08-10/service-2",
        "s3/2006-03-01/endpoint-rule-set-1",
        "sdk-default-configuration",
    ],
)
def test_msgspec_decodes_botocores_files_as_json_does(name):
    import botocore
    from botocore.loaders import JSONFileLoader

    path = str(Path(botocore.__file__).parent / "data" / name)
    ours = models.JSONFiles()
    assert ours.exists(path)
    assert ours.load_file(path) == JSONFileLoader().load_file(path)
    assert not ours.exists(path + "-missing") and ours.load_file(path + "-missing") is None
