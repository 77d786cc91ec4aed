"""The live progress view in a real terminal: the CLI runs under a pseudo-terminal of 80x24 and
120x40 against the emulator, and the screen (pyte, a VT100 emulator) is what is asserted on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import aws_client
from terminal import run_in_terminal

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
}
variable "roles" {
  type        = number
  description = "how many IAM roles"
}
resource "aws_sqs_queue" "q" {
  count = var.queues
  name  = "${var.name}-q${count.index}"
}
resource "aws_iam_role" "r" {
  count              = var.roles
  name               = "${var.name}-r${count.index}"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}
"""


@pytest.fixture(scope="module")
def many(tmp_path_factory, moto_url, provider_mirror) -> Path:
    """A project of 33 fast resources (more rows than 24 lines hold)."""
    root = tmp_path_factory.mktemp("terminal")
    (root / "mod").mkdir()
    (root / "mod" / "main.tf").write_text(MODULE)
    (root / "production.tfvars").write_text("queues = 30\nroles  = 3\n")
    (root / "overrides.toml").write_text("")
    tag = root.name[-12:].replace("_", "-").lower()
    (root / "staging.toml").write_text(f"""
[project]
root_module = "mod"
baseline = "production.tfvars"
overrides = "overrides.toml"
[target]
kind = "local"
endpoint = "{moto_url}"
[backend]
bucket = "tt-{tag}-state"
[registry]
table = "tt-{tag}-envs"
[engine]
provider_mirror = "{provider_mirror}"
""")
    return root


def _cli(project: Path, *args: str, columns: int, lines: int):
    return run_in_terminal([sys.executable, "-m", "provisioner", *args], columns=columns, lines=lines,
                           cwd=str(project), env={"PROVISIONER_CONFIG": str(project / "staging.toml")})


def _show(run) -> str:
    return "screen:\n" + run.text


def test_120x40_spinup_shows_header_bar_rows_then_a_clean_summary(many, moto_url):
    run = _cli(many, "spinup", "--branch", "term/ok", columns=120, lines=40)
    assert run.returncode == 0, _show(run)
    slug = stack_id("term/ok").slug
    live = [f for f in run.frames if any("creating " in line for line in f)
            and any(f"spinup {slug}  phase: apply" in line for line in f)]
    assert live, "no frame showed a running resource\n" + _show(run)
    frame = "\n".join(live[-1])
    assert f"spinup {slug}  phase: apply" in frame
    assert "/33" in frame and "elapsed" in frame
    assert any("phase: init" in line for f in run.frames for line in f), "no init header"
    # rows: running before pending before done
    order = [line.split()[0] for line in live[-1] if line.split()[:1] and line.split()[0] in
             ("creating", "pending", "done")]
    assert order == sorted(order, key=["creating", "pending", "done"].index), frame
    screen = run.text
    assert f"spinup {slug}  phase: apply done" in screen
    assert "33/33" in screen and "+ 33 done not shown" in screen
    assert f"stack {slug} is ready: 33 to add" in screen
    assert all(len(line) <= 120 for line in run.screen)

    down = _cli(many, "teardown", "--branch", "term/ok", columns=120, lines=40)   # the same header
    assert down.returncode == 0, _show(down)
    assert f"teardown {slug}  phase: destroy done" in down.text and "33/33" in down.text, _show(down)
    assert any(f"teardown {slug}  phase: destroy" in line and "done" not in line
               for f in down.frames for line in f), "no live frame during destroy"


def test_80x24_failure_keeps_every_failed_row_the_counts_and_the_next_step(many, moto_url):
    slug = stack_id("term/fail").slug
    iam = aws_client(moto_url, "iam")
    for i in range(3):   # the roles exist already: Terraform's create fails with EntityAlreadyExists
        iam.create_role(RoleName=f"{slug}-r{i}", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": []}))
    run = _cli(many, "spinup", "--branch", "term/fail", columns=80, lines=24)
    assert run.returncode == 1, _show(run)
    tall = [f for f in run.frames if sum("pending" in line or "creating" in line for line in f) > 10]
    assert tall and all(len(f) == 24 for f in tall)
    assert any("not shown" in line for f in tall for line in f), "rows were not collapsed to the height"
    screen = run.text
    assert "30/33" in screen and "3 failed" in screen, _show(run)
    for i in range(3):
        assert f"failed  aws_iam_role.r[{i}]" in screen, _show(run)
    assert "+ 30 done not shown" in screen
    assert "next: fix the cause above and re-run `provisioner spinup --branch term/fail`" in \
        " ".join(screen.split()), _show(run)
