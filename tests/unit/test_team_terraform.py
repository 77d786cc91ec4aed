"""Reading a team's root module (providers, backend, lock file, variable files) and what the
override makes of it: pure functions over files written into tmp_path."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from msgspec.structs import replace

from provisioner import config
from provisioner.config.retry import LOCAL_TERRAFORM_MAX_RETRIES
from provisioner.errors import ConfigError, RefusedError, RenderError
from provisioner.render.baseline import load_baseline
from provisioner.render.model import ModuleVariable
from provisioner.render.varfiles import layered, variable_files
from provisioner.safety.guard import check_provider_credentials, role_account
from provisioner.state import backend
from provisioner.terraform.args import build_args
from provisioner.terraform.lockfile import h1_of_zip, with_platform_hashes
from provisioner.terraform.providers import check_user_tags, merged_tags, provider_overrides
from provisioner.terraform.rootmodule import read_root_module
from provisioner.terraform.workspace import backend_override

PROVIDERS = '''
locals {
  team_tags = { team = "orders", "managed-by" = "terraform" }
}
provider "aws" {
  region = var.region
  assume_role {
    role_arn = "arn:aws:iam::210987654321:role/deploy"
  }
  default_tags {
    tags = local.team_tags
  }
}
provider "aws" {
  alias  = "replica"
  region = "us-west-2"
  profile = "prod"
  default_tags {
    tags = { team = "orders", env = "x-${var.region}" }
  }
}
terraform {
  backend "s3" {
    bucket         = "prod-state"
    key            = "orders.tfstate"
    dynamodb_table = "prod-locks"
  }
}
resource "aws_s3_bucket" "b" {
  bucket = "acme-${terraform.workspace}"
}
'''
TOOL = {"managed-by": "staging-provisioner", "staging:stack": "s-1"}


def module(tmp_path: Path, text: str = PROVIDERS) -> Path:
    (tmp_path / "main.tf").write_text(text)
    return tmp_path


def test_every_provider_block_is_found_with_what_the_override_needs(tmp_path):
    root = read_root_module(module(tmp_path))
    default, replica = root.providers
    assert default.alias is None and default.has_region and default.region is None
    assert default.role_arns == ('"arn:aws:iam::210987654321:role/deploy"',)
    assert replica.alias == "replica" and replica.region == "us-west-2" and replica.profile == '"prod"'
    assert root.regions == ("us-west-2",)
    assert root.backend["dynamodb_table"] == '"prod-locks"'
    assert root.workspace_files == (str(tmp_path / "main.tf"),)


def test_overrides_cover_aliases_merge_tags_and_neutralise_roles_locally(tmp_path):
    root = read_root_module(module(tmp_path))
    overrides, notes = provider_overrides(root, TOOL, region="us-east-1", endpoint="http://127.0.0.1:1",
                                          endpoint_keys=("s3", "sts"),
                                          max_retries=LOCAL_TERRAFORM_MAX_RETRIES)
    default, replica = overrides
    assert "alias" not in default and "region" not in default   # the user's region expression stays
    assert replica["alias"] == "replica" and replica["endpoints"] == {"s3": "http://127.0.0.1:1",
                                                                       "sts": "http://127.0.0.1:1"}
    assert default["default_tags"]["tags"] == (
        '${merge(local.team_tags, {"managed-by" = "staging-provisioner", "staging:stack" = "s-1"})}')
    assert default["assume_role"] == {"role_arn": ""} and replica["profile"] is None
    assert [n.what for n in notes] == ["assume_role arn:aws:iam::210987654321:role/deploy", "profile prod"]
    assert default["max_retries"] == replica["max_retries"] == LOCAL_TERRAFORM_MAX_RETRIES
    on_aws, none = provider_overrides(root, TOOL, region="us-east-1", endpoint=None, endpoint_keys=())
    assert none == [] and "assume_role" not in on_aws[0] and "endpoints" not in on_aws[1]
    assert not any("max_retries" in cfg for cfg in on_aws), "the aws target keeps the provider's retries"


def test_the_local_backend_retries_little_and_the_aws_one_as_terraform_does(tmp_path):
    settings = config.load(str(Path(__file__).resolve().parents[2] / "staging.toml"))
    loc = backend.location(settings, "s-1")
    assert settings.target.max_retries() == LOCAL_TERRAFORM_MAX_RETRIES
    assert backend.backend_block(settings, loc, "http://127.0.0.1:1")["max_retries"] == \
        LOCAL_TERRAFORM_MAX_RETRIES
    on_aws = replace(settings, target=replace(settings.target, kind="aws"))
    assert on_aws.target.max_retries() is None
    assert "max_retries" not in backend.backend_block(on_aws, loc, None)


@pytest.mark.parametrize("kind,endpoint", [("local", "http://127.0.0.1:1"), ("aws", None)])
def test_terraform_max_retries_is_set_for_provider_and_backend_on_either_target(tmp_path, kind, endpoint):
    settings = config.load(str(Path(__file__).resolve().parents[2] / "staging.toml"))
    chosen = replace(settings, target=replace(settings.target, kind=kind, terraform_max_retries=12))
    assert backend.backend_block(chosen, backend.location(chosen, "s-1"), endpoint)["max_retries"] == 12
    root = read_root_module(module(tmp_path))
    overrides, _ = provider_overrides(root, TOOL, region="us-east-1", endpoint=endpoint,
                                      endpoint_keys=("s3",), max_retries=chosen.target.max_retries())
    assert [cfg["max_retries"] for cfg in overrides] == [12, 12]


def test_no_provider_block_gets_a_default_one():
    overrides, _ = provider_overrides(read_root_module(Path("/nonexistent")), TOOL, region="eu-west-1",
                                      endpoint=None, endpoint_keys=())
    assert overrides == [{"region": "eu-west-1", "default_tags": {"tags": TOOL}}]


def test_merged_tags_escape_template_syntax():
    assert merged_tags('${var.tags}', {"k": "a${b}"}) == '${merge(var.tags, {"k" = "a$${b}"})}'


@pytest.mark.parametrize("key", ['"managed-by"', '"staging:owner"'])
def test_a_literal_reserved_team_tag_is_refused_naming_file_and_key(tmp_path, key):
    module(tmp_path, f'provider "aws" {{\n  default_tags {{\n    tags = {{ {key} = "x" }}\n  }}\n}}\n')
    with pytest.raises(RenderError) as err:
        check_user_tags(read_root_module(tmp_path))
    assert "main.tf" in str(err.value) and key.strip('"') in str(err.value) and "reserved" in str(err.value)


def test_backend_override_unsets_the_teams_other_arguments(tmp_path):
    root = read_root_module(module(tmp_path))
    out = backend_override(root, {"bucket": "staging-tfstate", "key": "terraform.tfstate"})
    assert out == {"dynamodb_table": None, "bucket": "staging-tfstate", "key": "terraform.tfstate"}


def _zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("terraform-provider-aws_v3.39.0_x5", b"binary")
    return path


MAC_LOCK = '''provider "registry.terraform.io/hashicorp/aws" {
  version     = "3.39.0"
  constraints = ">= 3.30.0"
  hashes = [
    "h1:darwinOnly=",
    "zh:abc",
  ]
}
'''


def test_the_stacks_lock_file_gets_this_platforms_hash(tmp_path):
    mirror = tmp_path / "mirror"
    target = mirror / "registry.terraform.io/hashicorp/aws"
    target.mkdir(parents=True)
    h1 = h1_of_zip(_zip(target / "terraform-provider-aws_3.39.0_linux_amd64.zip"))
    text, added = with_platform_hashes(MAC_LOCK, mirror, "linux_amd64")
    assert added == ["registry.terraform.io/hashicorp/aws"]
    assert f'"{h1}",' in text and '"h1:darwinOnly=",' in text and 'constraints = ">= 3.30.0"' in text
    assert with_platform_hashes(text, mirror, "linux_amd64") == (text, [])       # idempotent
    assert with_platform_hashes(MAC_LOCK, None, "linux_amd64") == (MAC_LOCK, [])  # no mirror: as is


def test_h1_matches_terraforms_own_hash_of_the_mirrored_provider():
    from conftest import MIRROR  # the real provider zip, when the mirror has been built

    archive = MIRROR / "registry.terraform.io/hashicorp/aws/terraform-provider-aws_3.39.0_linux_amd64.zip"
    if not archive.is_file():
        from provisioner.terraform import mirror
        mirror.build(MIRROR)
    # what `terraform init` recorded on linux_amd64 for this zip (see HARNESS.md)
    assert h1_of_zip(archive) == "h1:goOMfGE4SjLps+hpxJFEM/pZFiNgvi6BMG8/w86+f6k="


def _var(name: str) -> ModuleVariable:
    return ModuleVariable(name=name, type="string", has_default=False, default=None, sensitive=False,
                          description="")


def test_variable_files_are_layers_under_the_baseline(tmp_path):
    (tmp_path / "terraform.tfvars").write_text('a = "tfvars"\nb = "tfvars"\nundeclared = 1\n')
    (tmp_path / "b.auto.tfvars").write_text('# @production-only: the real one\nb = "auto"\nc = "auto"\n')
    (tmp_path / "prod.tfvars").write_text('c = "baseline"\n')
    files = variable_files(tmp_path, tmp_path / "prod.tfvars")
    assert [p.name for p in files] == ["terraform.tfvars", "b.auto.tfvars"]
    merged, origins = layered(load_baseline(tmp_path / "prod.tfvars"), files,
                              {n: _var(n) for n in "abc"})
    assert merged.values == {"a": "tfvars", "b": "auto", "c": "baseline"}
    assert origins["a"].endswith("terraform.tfvars") and origins["b"].endswith("b.auto.tfvars")
    assert origins["c"].endswith("prod.tfvars") and merged.production_only == {"b": "the real one"}


def test_role_accounts_are_read_from_literal_arns():
    assert role_account("arn:aws:iam::210987654321:role/deploy") == "210987654321"
    assert role_account("${var.role}") is None and role_account("arn:aws:s3:::bucket") is None


def _aws_settings(tmp_path: Path) -> config.Settings:
    for name in ("m", "b.tfvars", "o.toml"):
        (tmp_path / name).touch()
    return config.validate({"project": {"root_module": "m", "baseline": "b.tfvars", "overrides": "o.toml"},
                            "target": {"kind": "aws"}, "production": {"account_ids": ["210987654321"]}},
                           base_dir=str(tmp_path))


def test_the_aws_target_refuses_a_provider_role_in_a_production_account(tmp_path):
    settings = _aws_settings(tmp_path)
    with pytest.raises(RefusedError) as err:
        check_provider_credentials(settings, None, [("provider \"aws\" in main.tf", '"arn"',  # type: ignore[arg-type]
                                                     "arn:aws:iam::210987654321:role/deploy")], [])
    assert "210987654321" in str(err.value) and "main.tf" in str(err.value) and err.value.exit_code == 3
    with pytest.raises(RefusedError, match="cannot tell its account"):
        check_provider_credentials(settings, None, [("p", "${var.role}", None)], [])  # type: ignore[arg-type]
    check_provider_credentials(settings, None, [("p", '"x"', "arn:aws:iam::111111111111:role/ok")], [])  # type: ignore[arg-type]


def test_workspace_select_creates_when_missing():
    from provisioner.terraform.args import Options

    assert build_args("workspace select", options=Options(workspace="s-1")) == [
        "workspace", "select", "-or-create=true", "-no-color", "s-1"]
    with pytest.raises(ValueError):
        build_args("workspace select")


@pytest.mark.parametrize(("constraint", "version", "clause"), [
    (">= 3.30.0, < 4.0.0", "3.39.0", None),
    ("~> 3.39", "3.39.0", None),
    ("~> 3.0", "3.39.0", None),
    ("~> 3.40.0", "3.39.0", "~> 3.40.0"),
    (">= 4.0", "3.39.0", ">= 4.0"),
    (">= 3.0, != 3.39.0", "3.39.0", "!= 3.39.0"),
    ("~> 5.0", "3.39.0", "~> 5.0"),
    ("", "3.39.0", None),
])
def test_which_constraint_excludes_the_mirrors_version(constraint, version, clause):
    from provisioner.usecases.doctor_module import excluding_clause

    assert excluding_clause(constraint, version) == clause


def test_doctor_names_the_constraint_and_the_providers_the_mirror_lacks(tmp_path):
    from provisioner.usecases.doctor_module import ModuleProblem, check_constraints

    mirror = tmp_path / "mirror" / "registry.terraform.io" / "hashicorp" / "aws"
    mirror.mkdir(parents=True)
    (mirror / "terraform-provider-aws_3.39.0_linux_amd64.zip").write_bytes(b"")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "versions.tf").write_text('''terraform {
  required_providers {
    aws    = { source = "hashicorp/aws", version = ">= 4.0" }
    random = { source = "hashicorp/random", version = "~> 3.5" }
  }
}
''')
    for name in ("b.tfvars", "o.toml"):
        (tmp_path / name).touch()
    project = {"root_module": "m", "baseline": "b.tfvars", "overrides": "o.toml"}
    settings = config.validate({"project": project, "engine": {"provider_mirror": "mirror"}},
                               base_dir=str(tmp_path))
    with pytest.raises(ModuleProblem) as err:
        check_constraints({"settings": settings})
    assert "hashicorp/aws 3.39.0 in the mirror is excluded by '>= 4.0'" in str(err.value)
    assert "hashicorp/random (required_providers.random) is not in the mirror" in str(err.value)


def test_engine_command_is_relative_to_the_config_file_or_found_on_path(tmp_path, monkeypatch):
    binary = tmp_path / "bin" / "terraform"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    for name in ("m", "b.tfvars", "o.toml"):
        (tmp_path / name).touch()
    project = {"root_module": "m", "baseline": "b.tfvars", "overrides": "o.toml"}
    relative = config.validate({"project": project, "engine": {"command": "bin/terraform"}},
                               base_dir=str(tmp_path))
    assert relative.engine_command == str(binary)
    monkeypatch.setenv("PATH", str(binary.parent))
    bare = config.validate({"project": project, "engine": {"command": "terraform"}}, base_dir=str(tmp_path))
    assert bare.engine_command == str(binary)
    with pytest.raises(ConfigError, match="on PATH"):
        config.validate({"project": project, "engine": {"command": "tofu"}}, base_dir=str(tmp_path))
