"""Issue #5, pure parts: production guard, identifier scan, sensitive variables, secret sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner import config
from provisioner.domain.naming import StackId
from provisioner.errors import EXIT_BAD_INPUT, EXIT_REFUSED, BadInput, ConfigError, RefusedError, RenderError
from provisioner.render.baseline import load_baseline
from provisioner.render.core import render
from provisioner.render.model import Baseline, Guards, ModuleVariable, RenderContext
from provisioner.render.modulevars import module_variables
from provisioner.render.overrides import load_overrides, parse_overrides
from provisioner.render.report import format_differences
from provisioner.safety import guard, secrets

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "modules" / "stack"
CONTEXT = RenderContext(stack=StackId(branch="feature/x", slug="x-1a2b3c4"), pr=7, owner="alice")
SECRETS = {"third_party_api_key": "env:ACME_API_KEY"}


def settings(production=None, backend=None, secrets_=None, target=None):
    data = {"project": {"root_module": "modules/stack", "baseline": "modules/stack/production.tfvars",
                        "overrides": "modules/stack/staging.overrides.toml"},
            "production": production or {}, "backend": backend or {}, "secrets": secrets_ or {}}
    if target:
        data["target"] = target
    return config.validate(data, source="staging.toml", base_dir=str(REPO))


def var(name, type_="string", *, sensitive=False, default=None):
    return ModuleVariable(name, type_, default is not None, default, sensitive, "")


def example():
    return load_baseline(STACK / "production.tfvars"), load_overrides(STACK / "staging.overrides.toml")


def overrides(**tables):
    return parse_overrides({"overrides": {k: {"reason": "r", **v} for k, v in tables.items()}}, "ov.toml")


# -- config ------------------------------------------------------------------------------------


def test_repository_config_declares_production_and_still_renders():
    s = config.load(str(REPO / "staging.toml"))
    assert {"acme-prod", "api.acme-corp.com", "111111111111"} <= set(s.production.forbidden)
    assert s.production.account_ids == ("111111111111",)
    guards = Guards(identifiers=s.production.forbidden, secrets=s.secrets, source=s.source)
    result = render(*example(), module_variables(STACK), CONTEXT, injected={"name": ("x-1a2b3c4", "stack")},
                    guards=guards)
    assert result.tfvars["domain_name"] == "x-1a2b3c4.staging.acme-corp.test"


@pytest.mark.parametrize(("section", "key", "fragment"), [
    ({"production": {"account_ids": [111111111111]}}, "production.account_ids", "quoted"),
    ({"production": {"account_ids": "111111111111"}}, "production.account_ids", "list of strings"),
    ({"production": {"account_ids": ["1234"]}}, "production.account_ids", "not an AWS account id"),
    ({"production": {"identifiers": ["ab"]}}, "production.identifiers", "too short"),
    ({"production": {"identifiers": ["  "]}}, "production.identifiers", "too short"),
    ({"production": {"state_prefixes": ["/"]}}, "production.state_prefixes", "not a key prefix"),
    ({"production": {"state_prefixes": ["s3://Bad_Bucket/x"]}}, "production.state_prefixes", "s3://bucket"),
    ({"production": {"acount_ids": []}}, "production.acount_ids", "unknown key"),
    ({"secrets": {"api_key": "hunter2-literal"}}, "secrets.api_key", "not a secret source"),
    ({"secrets": {"api_key": "vault:x"}}, "secrets.api_key", "env:NAME, ssm:/parameter/name"),
    ({"secrets": {"api_key": 5}}, "secrets.api_key", "valid string"),
    ({"secrets": {"bad name": "env:X"}}, "secrets", "not a Terraform variable name"),
])
def test_bad_safety_config_names_the_key(section, key, fragment):
    base = {"project": {"root_module": "modules/stack", "baseline": "modules/stack/production.tfvars",
                        "overrides": "modules/stack/staging.overrides.toml"}}
    with pytest.raises(ConfigError) as err:
        config.validate({**base, **section}, source="staging.toml", base_dir=str(REPO))
    assert err.value.key == key and fragment in str(err.value)
    assert "hunter2" not in str(err.value)  # a secret pasted into the config is never echoed


def test_config_file_size_and_nesting_limits(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# x\n" * (config.MAX_CONFIG_BYTES // 4 + 1))
    with pytest.raises(ConfigError, match="a config file is at most"):
        config.load(str(big))
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000)
    with pytest.raises(ConfigError, match="nested too deeply"):
        config.load(str(deep))


# -- guard -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("production", "bucket", "key", "hit"), [
    ({"state_buckets": ["prod-state"]}, "prod-state", "staging/x/terraform.tfstate", "state_buckets"),
    ({"state_prefixes": ["production"]}, "any", "production/x/terraform.tfstate", "'production'"),
    ({"state_prefixes": ["production/"]}, "any", "production", "'production"),
    ({"state_prefixes": ["s3://shared/prod"]}, "shared", "prod/x/terraform.tfstate", "s3://shared/prod"),
    ({"state_prefixes": ["s3://shared"]}, "shared", "staging/x/terraform.tfstate", "s3://shared"),
    ({"state_prefixes": ["s3://shared/prod"]}, "other", "prod/x/terraform.tfstate", None),
    ({"state_prefixes": ["prod"]}, "any", "production/x/terraform.tfstate", None),  # segment-wise
    ({"state_prefixes": ["staging/x"]}, "any", "staging/x-2/terraform.tfstate", None),
    ({"state_prefixes": ["staging/x"]}, "any", "staging/x/terraform.tfstate", "'staging/x'"),
    ({}, "prod-state", "production/x", None),
])
def test_production_location(production, bucket, key, hit):
    found = guard.production_location(config.Production(**production), bucket, key)
    assert (found is None) if hit is None else (hit in found)


def test_check_state_refuses_with_exit_3_naming_the_location():
    s = settings(production={"state_prefixes": ["staging/team-a"]}, backend={"key_prefix": "staging/team-a"})
    with pytest.raises(RefusedError) as err:
        guard.check_state(s)
    assert err.value.exit_code == EXIT_REFUSED
    assert "s3://staging-tfstate/staging/team-a" in str(err.value) and "state_prefixes" in str(err.value)
    one_stack = settings(production={"state_prefixes": ["staging/x"]})
    guard.check_state(one_stack, "staging/y/terraform.tfstate")
    with pytest.raises(RefusedError, match="staging/x/terraform.tfstate"):
        guard.check_state(one_stack, "staging/x/terraform.tfstate")


class FakeAws:
    """The one method the guard uses, with a fixed answer (or failure)."""

    def __init__(self, account=None, error=None):
        self.account, self.error, self.calls = account, error, 0

    def account_id(self):
        self.calls += 1
        if self.error:
            raise self.error
        return self.account


def test_check_account_refuses_a_production_account():
    s = settings(production={"account_ids": ["123456789012"]})
    with pytest.raises(RefusedError) as err:
        guard.check_account(s, FakeAws("123456789012"))
    assert "AWS account 123456789012" in str(err.value) and "account_ids" in str(err.value)
    assert "target.endpoint" in str(err.value)  # the local target's knob
    aws_target = settings(production={"account_ids": ["123456789012"]}, target={"kind": "aws"})
    with pytest.raises(RefusedError, match="target.role_arn"):
        guard.check_account(aws_target, FakeAws("123456789012"))
    assert guard.check_account(s, FakeAws("222222222222")) == "222222222222"


def test_check_account_fails_closed_and_costs_nothing_without_a_list():
    s = settings(production={"account_ids": ["123456789012"]})
    with pytest.raises(RefusedError, match="cannot confirm"):
        guard.check_account(s, FakeAws(error=OSError("no route")))
    fake = FakeAws(error=AssertionError("must not be called"))
    assert guard.check_account(settings(), fake) is None and fake.calls == 0


# -- render: production identifiers --------------------------------------------------------------


@pytest.mark.parametrize(("value", "path"), [
    ("rds:ACME-PROD-snap", None),                                   # substring, any case
    (["a", ["b", "x.acme-prod.y"]], "x[1][1]"),                     # nested lists
    ({"Owner": {"team": "acme-prod"}}, 'x["Owner"]["team"]'),        # nested maps
    ({"acme-prod": "v"}, 'x["acme-prod"] (the key)'),               # a map key
    ([{"n": 111111111111}], 'x[0]["n"]'),                           # a number holding the account id
])
def test_production_identifier_anywhere_is_refused_naming_the_path(value, path):
    guards = Guards(identifiers=("acme-prod", "111111111111"), source="staging.toml")
    with pytest.raises(RenderError) as err:
        render(Baseline("prod.tfvars", {"x": value}, {}), (), {"x": var("x", None)}, CONTEXT, guards=guards)
    assert err.value.variable == "x" and err.value.source == "prod.tfvars"
    assert "production identifier" in str(err.value) and "staging.toml" in str(err.value)
    if path:
        assert f"at {path} " in str(err.value)


def test_identifier_brought_in_by_an_override_or_the_branch_names_the_cause():
    guards = Guards(identifiers=("acme-prod",))
    mod = {"x": var("x"), "name": var("name")}
    with pytest.raises(RenderError) as err:
        render(Baseline("prod.tfvars", {"x": "ok"}, {}), overrides(x={"rule": "template",
               "template": "{{ branch }}"}), mod, RenderContext(StackId("acme-prod", "s"), None, "o"),
               guards=guards)
    assert err.value.source == "ov.toml"
    with pytest.raises(RenderError) as err:
        render(Baseline("prod.tfvars", {"x": "ok"}, {}), (), mod, CONTEXT,
               injected={"name": ("acme-prod-fix-1", "stack name")}, guards=guards)
    assert err.value.variable == "name" and "use another branch name" in str(err.value)


def test_without_identifiers_nothing_is_scanned():
    result = render(Baseline("p", {"x": "acme-prod"}, {}), (), {"x": var("x")}, CONTEXT)
    assert result.tfvars == {"x": "acme-prod"}


# -- render: sensitive variables ----------------------------------------------------------------


def test_a_sensitive_value_in_the_baseline_is_refused():
    with pytest.raises(RenderError) as err:
        render(Baseline("prod.tfvars", {"api_key": "hunter2"}, {}), (),
               {"api_key": var("api_key", sensitive=True)}, CONTEXT)
    assert (err.value.source, err.value.variable) == ("prod.tfvars", "api_key")
    assert "[secrets]" in str(err.value) and "hunter2" not in str(err.value)
    assert err.value.exit_code == EXIT_BAD_INPUT


@pytest.mark.parametrize("table", [{"rule": "set", "value": "hunter2"}, {"rule": "template", "template": "x"},
                                   {"rule": "drop"}])
def test_an_override_of_a_sensitive_variable_is_refused(table):
    with pytest.raises(RenderError) as err:
        render(Baseline("p", {}, {}), overrides(api_key=table), {"api_key": var("api_key", default="")},
               CONTEXT, guards=Guards(secrets={"api_key": "env:K"}))  # sensitive because of [secrets]
    assert (err.value.source, err.value.variable) == ("ov.toml", "api_key")
    assert "hunter2" not in str(err.value)


def test_a_secret_the_module_does_not_declare_is_refused_with_a_suggestion():
    with pytest.raises(RenderError) as err:
        render(Baseline("p", {}, {}), (), {"api_key": var("api_key")}, CONTEXT,
               guards=Guards(secrets={"api_kee": "env:K"}, source="staging.toml"))
    assert err.value.source == "staging.toml [secrets]" and err.value.suggestion == "api_key"


def test_secrets_are_reported_masked_and_never_rendered():
    mod = module_variables(STACK)
    assert mod["third_party_api_key"].sensitive
    result = render(*example(), mod, CONTEXT, injected={"name": ("x-1a2b3c4", "s")},
                    guards=Guards(secrets=SECRETS))
    assert "third_party_api_key" not in result.tfvars
    (row,) = [d for d in result.differences if d.rule == "secret"]
    assert row.sensitive and row.to_json()["staging"] == "(sensitive)"
    assert "TF_VAR_third_party_api_key from env:ACME_API_KEY" in format_differences(result)


# -- secret sources ----------------------------------------------------------------------------


def test_env_secret_becomes_tf_var_and_missing_or_empty_ones_are_refused():
    values = secrets.resolve(SECRETS, aws=None, environ={"ACME_API_KEY": "k-123"})
    assert secrets.terraform_env(values) == {"TF_VAR_third_party_api_key": "k-123"}
    with pytest.raises(BadInput, match="ACME_API_KEY is not set"):
        secrets.resolve(SECRETS, aws=None, environ={})
    with pytest.raises(BadInput, match="is empty"):
        secrets.resolve(SECRETS, aws=None, environ={"ACME_API_KEY": ""})


def test_redact_masks_every_value_longest_first_and_leaves_short_ones():
    text = "token abcdef and abcdefgh; ab"
    assert secrets.redact(text, ["abcdef", "abcdefgh", "ab"]) == "token (sensitive) and (sensitive); ab"


def test_big_or_deep_inputs_are_refused(tmp_path):
    deep = tmp_path / "deep.tfvars.json"
    deep.write_text(json.dumps({"x": 1}).replace("1", "[" * 100000 + "]" * 100000))
    with pytest.raises(RenderError, match="nested too deeply"):
        load_baseline(deep)
    nested = tmp_path / "nested.tfvars"
    nested.write_text("x = " + "[" * 70 + "]" * 70)
    with pytest.raises(RenderError, match="nested deeper than 64"):
        load_baseline(nested)
    ov = tmp_path / "ov.toml"
    ov.write_text('[overrides.x]\nrule = "set"\nreason = "r"\nvalue = ' + "[" * 5000 + "]" * 5000)
    with pytest.raises(RenderError, match="nested too deeply"):
        load_overrides(ov)


def test_errors_are_scrubbed_of_secret_values_before_they_are_shown_or_stored():
    from provisioner.errors import TerraformError
    from provisioner.usecases.operation import scrubbed as _scrubbed

    class Rt:  # the one thing _scrubbed reads from a Runtime
        read_secrets = {"third_party_api_key": "sk-live-4242"}

    exc = TerraformError("apply", "/w", [], "bad key sk-live-4242 rejected", 1)
    clean = _scrubbed(Rt(), exc)
    assert isinstance(clean, TerraformError) and clean.exit_code == exc.exit_code
    assert "sk-live-4242" not in str(clean) and "(sensitive)" in str(clean)
    assert "sk-live-4242" in str(exc)  # the original is not mutated
    same = RefusedError("nothing secret here")
    assert _scrubbed(Rt(), same) is same
