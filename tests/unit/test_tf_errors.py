"""Terraform's own errors in our words, from saved real runs (fixtures/terraform/capture_errors.py):
a variable validation failure names the variable, where its value came from and the module's rule;
a failed resource's address and AWS error code share one line; no local paths in any of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner import config
from provisioner.domain.difference import Difference
from provisioner.errors import EXIT_BAD_INPUT, TerraformError, VariableRejected
from provisioner.render.model import Rendered
from provisioner.terraform.events import parse_stream
from provisioner.usecases.tferrors import explain

FIXTURES = Path(__file__).parent / "fixtures" / "terraform"
WORKDIR = "/home/someone/project/.provisioner/stacks/web-1a2b3c4/tree/stack"


def _error(name: str, command: str) -> TerraformError:
    _, diagnostics, _, _ = parse_stream((FIXTURES / f"{name}.jsonl").read_text().splitlines())
    return TerraformError(command, WORKDIR, list(diagnostics), retcode=1)


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "main.tf").write_text((FIXTURES / "errors_module.tf").read_text())
    (tmp_path / "stack" / "production.tfvars").write_text('region = "eu-west-1"\napp_desired_count = 40\n')
    (tmp_path / "stack" / "staging.overrides.toml").write_text("")
    data = {"project": {"root_module": "stack", "baseline": "stack/production.tfvars",
                        "overrides": "stack/staging.overrides.toml"}}
    return config.validate(data, source=str(tmp_path / "staging.toml"), base_dir=str(tmp_path))


def test_aws_error_is_one_line_with_address_and_code():
    text = str(_error("apply_aws_error", "apply"))
    assert text.splitlines()[0] == "terraform apply failed for stack web-1a2b3c4 (exit 1)"
    assert text.splitlines()[1] == ("error: aws_iam_role.app: EntityAlreadyExists: Role with name "
                                    "web-1a2b3c4-app already exists. (creating IAM Role web-1a2b3c4-app; "
                                    "HTTP 409)")
    assert "/home/someone" not in text and "request id" not in text


def test_validation_failure_from_the_baseline_names_its_line_and_the_rule(settings):
    rendered = Rendered(tfvars={"name": "web-1a2b3c4", "app_desired_count": 40}, differences=(), digest="")
    exc = explain(settings, rendered, _error("plan_variable_validation", "plan"))
    assert isinstance(exc, VariableRejected) and exc.exit_code == EXIT_BAD_INPUT
    assert str(exc) == (
        "variable app_desired_count = 40 was refused by the module's validation rule (stack/main.tf:25: "
        "condition = var.app_desired_count >= 1 && var.app_desired_count <= 10): app_desired_count must be "
        "between 1 and 10.\n"
        "  the value comes from the production baseline, stack/production.tfvars:2, unchanged (no override "
        "for it in stack/staging.overrides.toml)")


def test_validation_failure_from_an_override_names_the_file_and_rule(settings):
    diff = Difference("app_desired_count", 4, 40, "scale", "load test this week")
    rendered = Rendered(tfvars={"app_desired_count": 40}, differences=(diff,), digest="")
    text = str(explain(settings, rendered, _error("plan_variable_validation", "plan")))
    assert ("the value comes from the override [overrides.app_desired_count] in stack/staging.overrides.toml "
            '(rule = "scale"; production: 4); reason given: load test this week') in text
    assert str(settings.base_dir) not in text


def test_other_errors_pass_through(settings):
    exc = _error("apply_aws_error", "apply")
    assert explain(settings, Rendered({}, (), ""), exc) is exc


def test_board_and_pr_comment_carry_no_local_paths():
    from provisioner.cli.board import row
    from provisioner.domain.record import Record
    from provisioner.github.comment import CommentInput, render_comment
    from provisioner.support.localpaths import without_local_paths

    error = "/home/ci/work/app/staging.overrides.toml: app_count: not a number; see https://x.test/a/b"
    assert without_local_paths(error) == "staging.overrides.toml: app_count: not a number; see https://x.test/a/b"
    rec = Record(slug="web-1a2b3c4", branch="web", status="failed", error=error, created_at=1.0)
    assert "/home/ci" not in row(rec, 2.0, {})["last_action"]
    body = render_comment(CommentInput(slug=rec.slug, branch=rec.branch, status="failed", error=error))
    assert "staging.overrides.toml: app_count" in body and "/home/ci" not in body
