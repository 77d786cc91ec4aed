"""Issue #5 end to end: the production guard and secrets, through the real CLI against moto."""

from __future__ import annotations

import json
import secrets as random
import tomllib
from pathlib import Path

import pytest
from conftest import aws_client, run_cli, table_names, write_project

from provisioner.aws.clients import Aws
from provisioner.domain import tags
from provisioner.domain.naming import stack_id
from provisioner.errors import BadInput
from provisioner.safety import secrets

pytestmark = pytest.mark.integration

MOTO_ACCOUNT = "123456789012"  # moto's default account id


def names(cfg: Path) -> tuple[str, str]:
    data = tomllib.loads(cfg.read_text())
    return data["backend"]["bucket"], data["registry"]["table"]


def assert_nothing_created(moto_url, cfg: Path, slug: str) -> None:
    bucket, table = names(cfg)
    assert bucket not in [b["Name"] for b in aws_client(moto_url, "s3").list_buckets()["Buckets"]]
    assert table not in table_names(moto_url)
    found = aws_client(moto_url, "resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": tags.STACK, "Values": [slug]}])["ResourceTagMappingList"]
    assert found == []
    assert not (cfg.parent / ".provisioner" / "stacks").exists()


@pytest.mark.parametrize("command", [["spinup", "--branch", "feature/guarded"],
                                     ["teardown", "--branch", "feature/guarded"],
                                     ["spinup", "--branch", "feature/guarded", "--dry-run"],
                                     ["bootstrap"], ["list"]])
def test_a_production_account_is_refused_before_anything_is_created(tmp_path, moto_url, provider_mirror,
                                                                    command):
    cfg = write_project(tmp_path / "prodacct", moto_url, provider_mirror,
                        extra=f'\n[production]\naccount_ids = ["{MOTO_ACCOUNT}", "111111111111"]\n')
    out = run_cli(cfg, *command, check=False)
    assert out.returncode == 3, out.stderr
    assert f"refusing to run in AWS account {MOTO_ACCOUNT}: it is a production account" in out.stderr
    assert "[production].account_ids" in out.stderr and "Traceback" not in out.stderr
    assert_nothing_created(moto_url, cfg, stack_id("feature/guarded").slug)


@pytest.mark.parametrize(("production", "named"), [
    ('state_buckets = ["{bucket}"]', "state_buckets: '{bucket}'"),
    ('state_prefixes = ["staging"]', "state_prefixes: 'staging'"),
    # named in its canonical form: the trailing "/" of the config entry is normalised away
    ('state_prefixes = ["s3://{bucket}/staging/"]', "state_prefixes: 's3://{bucket}/staging'"),
])
def test_state_under_a_production_location_is_refused(tmp_path, moto_url, provider_mirror, production, named):
    root = tmp_path / "prodstate"
    bucket = names(write_project(root, moto_url, provider_mirror))[0]
    cfg = write_project(root, moto_url, provider_mirror,
                        extra="\n[production]\n" + production.format(bucket=bucket) + "\n")
    for command in ("spinup", "teardown"):
        out = run_cli(cfg, command, "--branch", "feature/guarded", check=False)
        assert out.returncode == 3, out.stderr
        assert f"refusing to use state s3://{bucket}/staging" in out.stderr
        assert named.format(bucket=bucket) in out.stderr
    assert_nothing_created(moto_url, cfg, stack_id("feature/guarded").slug)


def test_a_staging_account_passes_the_guard(tmp_path, moto_url, provider_mirror):
    production = '\n[production]\naccount_ids = ["111111111111"]\nstate_prefixes = ["production"]\n'
    cfg = write_project(tmp_path / "stagingacct", moto_url, provider_mirror, extra=production)
    assert "nothing to tear down" in run_cli(cfg, "teardown", "--branch", "feature/guarded").stdout


def test_secret_sources_read_ssm_and_secrets_manager(moto_url):
    aws_client(moto_url, "ssm").put_parameter(Name="/it/api-key", Value="from-ssm-1", Type="SecureString")
    aws_client(moto_url, "secretsmanager").create_secret(Name="it/api-key", SecretString="from-sm-1")
    aws = Aws(region="us-east-1", endpoint=moto_url)
    got = secrets.resolve({"a": "ssm:/it/api-key", "b": "secretsmanager:it/api-key", "c": "env:IT_C"}, aws,
                          {"IT_C": "from-env-1"})
    assert got == {"a": "from-ssm-1", "b": "from-sm-1", "c": "from-env-1"}
    with pytest.raises(BadInput, match="ssm:/it/none does not exist"):
        secrets.read("a", "ssm:/it/none", aws, {})
    with pytest.raises(BadInput, match="secretsmanager:it/none does not exist"):
        secrets.read("b", "secretsmanager:it/none", aws, {})


def files_under(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 5_000_000:
            yield path


def test_a_secret_reaches_terraform_only_through_the_environment(tmp_path, moto_url, provider_mirror):
    key = "itk-" + random.token_hex(12)
    cfg = write_project(tmp_path / "secret", moto_url, provider_mirror,
                        extra='\n[secrets]\nthird_party_api_key = "env:IT_THIRD_PARTY_KEY"\n')
    env = {"IT_THIRD_PARTY_KEY": key}
    sid = stack_id("feature/secret")
    shown = [run_cli(cfg, "render", "--branch", sid.branch, env=env),
             run_cli(cfg, "diff", "--branch", sid.branch, env=env),
             run_cli(cfg, "spinup", "--branch", sid.branch, env=env),
             run_cli(cfg, "status", "--branch", sid.branch, "--json", env=env)]
    assert "third_party_api_key is sensitive and not shown" in shown[0].stderr
    assert "(sensitive)" in shown[1].stdout and "TF_VAR_third_party_api_key" in shown[1].stdout

    # Terraform got it: the stack stored it as the secret's value
    secret_id = f"{sid.slug}/app/third-party-api-key"
    stored = aws_client(moto_url, "secretsmanager").get_secret_value(SecretId=secret_id)
    assert stored["SecretString"] == key

    # ... and it is nowhere else: outputs, rendered files, the stored inputs, the registry
    for out in shown:
        assert key not in out.stdout + out.stderr
    for path in files_under(cfg.parent / ".provisioner"):
        assert key.encode() not in path.read_bytes(), path
    bucket, table = names(cfg)
    inputs = aws_client(moto_url, "s3").get_object(Bucket=bucket,
                                                   Key=f"staging/{sid.slug}/inputs.tfvars.json")
    assert key.encode() not in inputs["Body"].read()
    assert key not in json.dumps(aws_client(moto_url, "dynamodb").scan(TableName=table)["Items"])

    # a missing secret is refused (exit 2) before a record or state is touched
    before = aws_client(moto_url, "dynamodb").scan(TableName=table)["Items"]
    out = run_cli(cfg, "spinup", "--branch", "feature/other", check=False)
    assert out.returncode == 2 and "IT_THIRD_PARTY_KEY is not set" in out.stderr
    assert aws_client(moto_url, "dynamodb").scan(TableName=table)["Items"] == before

    run_cli(cfg, "teardown", "--branch", sid.branch, env=env)
    assert aws_client(moto_url, "resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": tags.STACK, "Values": [sid.slug]}])["ResourceTagMappingList"] == []


def test_reading_commands_create_nothing_in_a_fresh_account(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "readonly", moto_url, provider_mirror)
    assert json.loads(run_cli(cfg, "list", "--json").stdout) == {"environments": [], "warnings": []}
    assert "no staging environments" in run_cli(cfg, "list").stdout
    out = run_cli(cfg, "status", "--branch", "feature/guarded", "--json", check=False)
    assert out.returncode == 5 and json.loads(out.stdout)["record"] is None   # 5: no such stack
    audit = run_cli(cfg, "audit", "--json")
    assert audit.returncode == 0, audit.stderr
    assert_nothing_created(moto_url, cfg, stack_id("feature/guarded").slug)
