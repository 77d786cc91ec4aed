"""What a person sees when a name is mistyped, when an expiry is read, and the CLI's conventions:
the real CLI in a subprocess against the emulator, with a one-queue module (real Terraform)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli

from provisioner.domain.naming import stack_id

pytestmark = pytest.mark.integration

MODULE = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
  backend "s3" {}
}
provider "aws" {
  region = "us-east-1"
}
variable "name" {
  type        = string
  description = "stack name"
}
variable "queues" {
  type        = number
  description = "how many queues"
  validation {
    condition     = var.queues >= 1 && var.queues <= 5
    error_message = "queues must be between 1 and 5."
  }
}
resource "aws_sqs_queue" "q" {
  count = var.queues
  name  = "${var.name}-q${count.index}"
}
output "environment_url" {
  value = "https://${var.name}.staging.example.com"
}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory, moto_url, provider_mirror) -> Path:
    root = tmp_path_factory.mktemp("operator")
    (root / "mod").mkdir()
    (root / "mod" / "main.tf").write_text(MODULE)
    (root / "production.tfvars").write_text("queues = 1\n")
    (root / "overrides.toml").write_text("")
    tag = root.name[-12:].replace("_", "-").lower()
    cfg = root / "staging.toml"
    cfg.write_text(f"""
[project]
root_module = "mod"
baseline = "production.tfvars"
overrides = "overrides.toml"
[target]
kind = "local"
endpoint = "{moto_url}"
[backend]
bucket = "op-{tag}-state"
[registry]
table = "op-{tag}-envs"
[engine]
provider_mirror = "{provider_mirror}"
[stacks]
default_ttl = "48h"
idle_ttl = "24h"
max_ttl = "72h"
""")
    run_cli(cfg, "spinup", "--branch", "feature/login")
    return cfg


def test_mistyped_branch_names_the_nearest_live_one(project):
    for command in (["status"], ["status", "--json"], ["extend", "--by", "1h"], ["keep"]):
        out = run_cli(project, *command, "--branch", "feature/logn", check=False)
        assert out.returncode == 5, (command, out.stderr)
        assert "no live stack for branch 'feature/logn'" in out.stderr
        assert "did you mean 'feature/login'?" in out.stderr
        assert "Traceback" not in out.stderr
    doc = json.loads(run_cli(project, "status", "--branch", "feature/logn", "--json", check=False).stdout)
    assert doc["record"] is None and doc["suggestions"] == ["feature/login"]

    out = run_cli(project, "teardown", "--branch", "featur/login")
    assert out.returncode == 0
    assert "nothing to tear down: branch 'featur/login'" in out.stdout
    assert "matched no live stack" in out.stdout
    assert "did you mean 'feature/login'?" in out.stdout
    doc = json.loads(run_cli(project, "teardown", "--branch", "featur/login", "--json").stdout)
    assert doc["action"] == "nothing" and doc["suggestions"] == ["feature/login"]

    far = run_cli(project, "status", "--branch", "zzz", check=False)
    assert far.returncode == 5 and "`provisioner list` shows the live ones" in far.stderr


def test_expiry_says_which_clock_applies_and_what_was_capped(project):
    status = run_cli(project, "status", "--branch", "feature/login").stdout
    # the module's stack was made by the fixture some minutes ago (more on a loaded machine): the idle
    # clock (24h) applies, and the cap (48h) is named
    assert re.search(r"expires:  in 2[0-3]h[0-5]\dm \(idle; 4[0-7]h[0-5]\dm at most\)", status), status
    doc = json.loads(run_cli(project, "status", "--branch", "feature/login", "--json").stdout)
    assert doc["expiry"]["applies"] == "idle"

    out = run_cli(project, "extend", "--branch", "feature/login", "--by", "200h").stdout
    assert "extend --by 200h was capped: a stack lives at most stacks.max_ttl (72h00m)" in out
    assert "now expires in 71h59m (fixed: the end of its ttl)" in out
    before = json.loads(run_cli(project, "status", "--branch", "feature/login", "--json").stdout)["record"]

    # a plain spinup never shortens what extend gave
    run_cli(project, "spinup", "--branch", "feature/login")
    after = json.loads(run_cli(project, "status", "--branch", "feature/login", "--json").stdout)["record"]
    assert after["expires_at"] >= before["expires_at"]
    assert after["fixed_expires_at"] == before["fixed_expires_at"]


def test_spinup_ttl_cap_json_keys_and_no_expiry_once_destroyed(project):
    out = run_cli(project, "spinup", "--branch", "feature/ttl", "--ttl", "500h")
    assert "--ttl 500h was capped" in out.stdout
    again = json.loads(run_cli(project, "spinup", "--branch", "feature/ttl", "--json").stdout)
    assert again["changes"] is None and again["skipped_since"]   # inputs unchanged: Terraform skipped
    doc = json.loads(run_cli(project, "spinup", "--branch", "feature/ttl", "--refresh", "--json").stdout)
    assert set(doc["changes"]) == {"add", "change", "remove", "import", "operation"}
    assert doc["skipped_since"] is None

    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)
    assert not [k for k in keys(doc) if k.endswith("_") or k.startswith("_")]

    slug = stack_id("feature/ttl").slug
    run_cli(project, "teardown", "--branch", "feature/ttl")
    listing = run_cli(project, "list", "--all").stdout
    line = next(x for x in listing.splitlines() if x.startswith(slug))
    assert line.split()[-1] == "-" and "destroyed" in line
    record = next(e for e in json.loads(run_cli(project, "list", "--all", "--json").stdout)["environments"]
                  if e["slug"] == slug)
    assert record["expires_at"] is None


def test_module_validation_failure_reads_as_bad_input(project, tmp_path):
    overrides = Path(project).parent / "overrides.toml"
    overrides.write_text('[overrides.queues]\nrule = "set"\nvalue = 9\nreason = "fan-out test"\n')
    try:
        out = run_cli(project, "spinup", "--branch", "feature/many", check=False)
    finally:
        overrides.write_text("")
    assert out.returncode == 2, out.stderr
    assert ("variable queues = 9 was refused by the module's validation rule (mod/main.tf:18: condition = "
            "var.queues >= 1 && var.queues <= 5): queues must be between 1 and 5.") in out.stderr
    assert ('the value comes from the override [overrides.queues] in overrides.toml (rule = "set"; '
            "production: 1); reason given: fan-out test") in out.stderr
    assert str(Path(project).parent) not in out.stderr


def test_conventions_flags_anywhere_version_quiet(project):
    version = run_cli(project, "--version").stdout
    assert version.startswith("provisioner ")
    out = run_cli(project, "status", "--branch", "nope", "--debug", check=False)
    assert out.returncode == 5 and "Traceback" in out.stderr          # --debug after the command
    quiet = run_cli(project, "spinup", "--branch", "feature/login", "--quiet")
    assert quiet.stderr == "" and "is ready" in quiet.stdout
    plain = run_cli(project, "list", "--no-color")
    assert "\x1b[" not in plain.stdout + plain.stderr
