"""Unit tests for provisioner.render: baseline + overrides -> staging tfvars and differences."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path

import pytest

from provisioner.domain.difference import UNSET, Difference
from provisioner.domain.naming import StackId
from provisioner.errors import RenderError
from provisioner.render.baseline import load_baseline
from provisioner.render.core import render
from provisioner.render.model import Baseline, Guards, ModuleVariable, Override, RenderContext, Rendered
from provisioner.render.modulevars import module_variables
from provisioner.render.overrides import load_overrides, parse_overrides
from provisioner.render.report import format_differences, write_tfvars
from provisioner.support.templating import render_template

FIXTURES = Path(__file__).parent / "fixtures" / "render"
HCL = FIXTURES / "baseline.tfvars"
JSON_BASELINE = FIXTURES / "baseline.tfvars.json"
CONTEXT = RenderContext(stack=StackId(branch="feature/Checkout v2", slug="checkout-v2-1a2b3c4"),
                        pr=42, owner="alice")
NAME = {"name": ("checkout-v2-1a2b3c4", "stack name derived from the branch")}


# -- helpers -----------------------------------------------------------------


def var(name: str, type_: str | None = None, *, default=UNSET, sensitive: bool = False) -> ModuleVariable:
    has_default = default is not UNSET
    return ModuleVariable(name, type_, has_default, default if has_default else None, sensitive, "")


def module(**types: str | None) -> dict[str, ModuleVariable]:
    return {name: var(name, type_) for name, type_ in types.items()}


def baseline(values: dict, production_only: dict | None = None) -> Baseline:
    return Baseline("prod.tfvars", values, production_only or {})


def override(variable: str, rule: str, /, **params) -> Override:
    table = {"rule": rule, "reason": "because", **params}
    return parse_overrides({"overrides": {variable: table}}, "staging.toml")[0]


def render_one(production, rule: str, ctx: RenderContext = CONTEXT, /, **params):
    """Render a single variable ``x`` with production value ``production`` and one override."""
    result = render(baseline({"x": production}), (override("x", rule, **params),), {"x": var("x")}, ctx)
    return result.tfvars["x"]


def refused(match: str, fn, *args, **kwargs) -> RenderError:
    with pytest.raises(RenderError, match=match) as info:
        fn(*args, **kwargs)
    return info.value


@pytest.fixture()
def fixture_render() -> Rendered:
    return render(load_baseline(HCL), load_overrides(FIXTURES / "overrides.toml"),
                  module_variables(FIXTURES / "module"), CONTEXT, injected=NAME)


# -- baselines ---------------------------------------------------------------


def test_hcl_baseline_decodes_values_and_markers():
    loaded = load_baseline(HCL)
    assert loaded.path == str(HCL)
    assert loaded.values["environment"] == "production"  # quotes gone
    assert loaded.values["app_desired_count"] == 12 and isinstance(loaded.values["app_desired_count"], int)
    assert loaded.values["cache_ratio"] == 0.75
    assert loaded.values["enable_deletion_protection"] is True
    assert loaded.values["allowed_cidrs"] == ["10.0.0.0/8", "192.168.0.0/16"]
    assert loaded.values["tags"] == {"Team": "shop", "cost-center": "42"}
    assert loaded.values["motd"] == 'Welcome to "prod"\nliteral ${not_interpolated}'
    assert loaded.production_only == {"domain_name": "real customers resolve this name",
                                      "alert_email": "pages the on-call team"}


def test_json_baseline_matches_hcl_and_marker_key_is_not_a_variable():
    loaded = load_baseline(JSON_BASELINE)
    assert loaded.values == load_baseline(HCL).values
    assert "//production_only" not in loaded.values
    assert loaded.production_only["alert_email"] == "pages the on-call team"


def test_json_marker_for_a_variable_the_file_does_not_set(tmp_path):
    path = tmp_path / "b.tfvars.json"
    path.write_text(json.dumps({"//production_only": {"domain_nam": "dns"}, "domain_name": "x"}))
    err = refused("does not set it", load_baseline, path)
    assert err.variable == "domain_nam" and err.suggestion == "domain_name"


@pytest.mark.parametrize("text, match", [
    ("# @production-only:\nx = 1\n", "needs a reason"),
    ("# @production-only no colon\nx = 1\n", "needs a reason"),
    ("# @production-only: why\n\nx = 1\n", "directly above"),
    ("x = 1 # @production-only: inline\n", "directly above"),
    ("# @production-only: at the end\n", "directly above"),
])
def test_misplaced_or_unexplained_marker_is_refused(tmp_path, text, match):
    path = tmp_path / "b.tfvars"
    path.write_text(text)
    assert str(path) in str(refused(match, load_baseline, path))


@pytest.mark.parametrize("text, match", [
    ("x = var.other\n", "expression"),
    ('x = "${var.other}-suffix"\n', "interpolates"),
    ('x = "%{ if true }a%{ endif }"\n', "interpolates"),
    ("x = 1 + 2\n", "expression"),
    ("x = 1\nx = 2\n", "assigned again"),
    ("x {\n  y = 1\n}\n", "not blocks"),
])
def test_hcl_non_literal_values_are_refused(tmp_path, text, match):
    path = tmp_path / "b.tfvars"
    path.write_text(text)
    refused(match, load_baseline, path)


def test_malformed_hcl_names_file_and_line():
    err = refused("malformed HCL at line 5", load_baseline, FIXTURES / "malformed.tfvars")
    assert str(err).startswith(str(FIXTURES / "malformed.tfvars"))


def test_malformed_json_names_file_and_line():
    err = refused("malformed JSON at line 4", load_baseline, FIXTURES / "malformed.tfvars.json")
    assert str(FIXTURES / "malformed.tfvars.json") in str(err)


def test_non_object_json_is_refused():
    refused("top level must be an object.*not list", load_baseline, FIXTURES / "not_object.tfvars.json")


def test_file_over_the_size_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.tfvars"
    path.write_text('x = "' + "a" * 200 + '"\n' + "this is not HCL {{{")
    refused(r"bytes; the limit is 100", load_baseline, path, max_bytes=100)


def test_missing_baseline_names_the_file(tmp_path):
    refused("cannot read", load_baseline, tmp_path / "nope.tfvars")


# -- module variables --------------------------------------------------------


def test_module_variables_normalises_types_and_reads_defaults():
    found = module_variables(FIXTURES / "module")
    assert found["app_desired_count"] == ModuleVariable("app_desired_count", "number", True, 2, False,
                                                        "How many app tasks run.")
    assert found["allowed_cidrs"].type == "list(string)"  # hcl2 gives "${list(string)}"
    assert found["motd"].type == "string"  # legacy quoted type
    assert found["alert_email"].has_default and found["alert_email"].default is None
    assert not found["customer_bucket"].has_default
    assert found["db_password"].sensitive
    assert found["domain_name"].description == "Public DNS name\nof the shop."


def test_module_dir_without_tf_files_is_refused(tmp_path):
    refused("no \\*.tf files", module_variables, tmp_path)


# -- overrides ---------------------------------------------------------------


def test_load_overrides_keeps_file_order_and_params():
    loaded = load_overrides(FIXTURES / "overrides.toml")
    assert [o.variable for o in loaded] == ["environment", "app_desired_count", "domain_name", "alert_email",
                                            "enable_deletion_protection"]
    scale = loaded[1]
    assert (scale.rule, scale.reason) == ("scale", "Preview traffic is one engineer.")
    assert dict(scale.params) == {"factor": 0.1, "min": 1, "max": 2, "round": "ceil"}
    assert scale.source == str(FIXTURES / "overrides.toml")


def test_malformed_toml_names_file_and_line():
    refused(r"malformed TOML.*line 2", load_overrides, FIXTURES / "malformed.toml")


@pytest.mark.parametrize("table, match, suggestion", [
    ({"rule": "set", "value": 1}, "needs a reason", None),
    ({"rule": "set", "value": 1, "reason": "   "}, "needs a reason", None),
    ({"rule": "sacle", "factor": 1, "reason": "r"}, "unknown rule 'sacle'", "scale"),
    ({"rule": "scale", "factr": 1, "reason": "r"}, "unknown key 'factr'", "factor"),
    ({"rule": "set", "valeu": 1, "reason": "r"}, "unknown key 'valeu'", "value"),
    ({"value": 1, "reason": "r"}, "needs a rule", None),
    ({"rule": "scale", "reason": "r"}, "needs 'factor'", None),
    ({"rule": "scale", "factor": "x", "reason": "r"}, "factor must be a number", None),
    ({"rule": "scale", "factor": 1, "min": 3, "max": 2, "reason": "r"}, "min .3. is greater than max", None),
    ({"rule": "scale", "factor": 1, "round": "cell", "reason": "r"}, "round must be one of", "ceil"),
    ({"rule": "set", "reason": "r"}, "needs 'value'", None),
    ({"rule": "set", "value": [float("nan")], "reason": "r"}, "not a finite number", None),
    ({"rule": "template", "reason": "r"}, "needs 'template'", None),
    ({"rule": "template", "template": "{{ stack", "reason": "r"}, "template syntax error", None),
    ("not a table", "must be a table", None),
])
def test_invalid_override_names_file_and_variable(table, match, suggestion):
    err = refused(match, parse_overrides, {"overrides": {"app_cpu": table}}, "staging.toml")
    assert (err.source, err.variable, err.suggestion) == ("staging.toml", "app_cpu", suggestion)
    assert str(err).startswith("staging.toml: app_cpu: ")


def test_unknown_top_level_key_suggests_overrides():
    err = refused("unknown top-level key", parse_overrides, {"override": {}}, "staging.toml")
    assert err.suggestion == "overrides"


# -- rules -------------------------------------------------------------------


@pytest.mark.parametrize("production, params, expected", [
    (12, {"factor": 0.1, "min": 1, "max": 2, "round": "ceil"}, 2),
    (12, {"factor": 0.1}, 1),                      # int default rounding is half-up "round"
    (5, {"factor": 0.5}, 3),                       # 2.5 rounds up, not to even
    (5, {"factor": 0.5, "round": "floor"}, 2),
    (20, {"factor": 0.1, "round": "ceil"}, 2),     # decimal arithmetic: no 2.0000000000000004 -> 3
    (100, {"factor": 0.5, "max": 10}, 10),         # clamp to max
    (3, {"factor": 0.1, "min": 1}, 1),             # clamp to min
    (8, {"factor": 0.5, "round": "none"}, 4),      # whole result keeps int
    (0.75, {"factor": 0.5}, 0.375),                # float default rounding is "none"
    (0.75, {"factor": 2, "round": "ceil"}, 2.0),
])
def test_scale(production, params, expected):
    result = render_one(production, "scale", **params)
    assert result == expected and type(result) is type(production)


def test_scale_to_a_fraction_of_an_int_without_rounding_is_refused():
    refused("not a whole number", render_one, 3, "scale", factor=0.5, round="none")


@pytest.mark.parametrize("production", ["12", True, [1], None])
def test_scale_on_a_non_number_is_refused(production):
    err = refused("scale needs a number", render_one, production, "scale", factor=0.5)
    assert err.variable == "x" and err.source == "staging.toml"


def test_set_replaces_the_value():
    assert render_one(["a"], "set", value=["b", "c"]) == ["b", "c"]
    assert render_one(1024, "set", value=0.5) == 0.5  # int and float are both numbers


@pytest.mark.parametrize("production, value, names", [
    (12, "12", "from number to string"),
    (True, "true", "from bool to string"),
    ("a", ["a"], "from string to list"),
    ({"a": "b"}, ["a"], "from object to list"),
])
def test_set_changing_the_type_is_refused(production, value, names):
    err = refused(names, render_one, production, "set", value=value)
    assert err.variable == "x"


def test_set_checks_the_declared_type_when_the_baseline_does_not_set_it():
    mod = {"x": var("x", "number", default=2)}
    err = refused("from number to string", render, baseline({}), (override("x", "set", value="2"),),
                  mod, CONTEXT)
    assert err.variable == "x"


def test_template_sees_stack_branch_pr_owner_and_production():
    text = "{{ stack }}|{{ branch }}|{{ pr }}|{{ owner }}|{{ production | upper }}"
    assert render_one("prod", "template", template=text) == \
        "checkout-v2-1a2b3c4|feature/Checkout v2|42|alice|PROD"


def test_template_of_a_non_string_variable_is_refused():
    refused("renders a string, but the variable is a number", render_one, 12, "template",
            template="{{ pr }}")


def test_template_undefined_name_is_refused_naming_the_variable():
    err = refused("undefined name.*'stak'", render_one, "a", "template", template="{{ stak }}.test")
    assert err.variable == "x"


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ 'x' * 1000000000 }}",
])
def test_template_sandbox_escape_is_refused(template):
    err = refused("sandbox forbids", render_one, "a", "template", template=template)
    assert err.variable == "x"


def test_template_syntax_in_a_branch_name_renders_literally():
    ctx = RenderContext(StackId(branch="{{ 7*7 }}{% raw %}", slug="b-0123456"), None, "{{ owner }}")
    assert render_one("a", "template", ctx, template="{{ branch }}/{{ owner }}/{{ pr }}") == \
        "{{ 7*7 }}{% raw %}/{{ owner }}/None"


def test_drop_removes_the_variable_so_terraform_uses_the_default():
    mod = {"x": var("x", "string", default="d"), "y": var("y")}
    result = render(baseline({"x": "prod", "y": 1}), (override("x", "drop"),), mod, CONTEXT)
    assert result.tfvars == {"y": 1}
    assert result.differences[0].staging is UNSET and result.differences[0].production == "prod"


def test_drop_without_a_module_default_is_refused():
    refused("drop needs a module default", render_one, "prod", "drop")


def test_drop_of_a_variable_the_baseline_does_not_set_is_refused():
    mod = {"x": var("x", "string", default="d")}
    refused("nothing to drop", render, baseline({}), (override("x", "drop"),), mod, CONTEXT)


# -- render errors -----------------------------------------------------------


def test_override_of_an_unknown_variable_suggests_a_name():
    err = refused("neither the baseline nor the root module", render, baseline({"app_cpu": 1}),
                  (override("app_cpus", "set", value=2),), module(app_cpu="number", app_memory="number"),
                  CONTEXT)
    assert (err.source, err.variable, err.suggestion) == ("staging.toml", "app_cpus", "app_cpu")


def test_override_of_a_module_only_variable_reports_production_unset():
    mod = {"x": var("x", "number", default=2)}
    result = render(baseline({}), (override("x", "scale", factor=2),), mod, CONTEXT)
    assert result.tfvars == {"x": 4}  # scaled from the module default production runs with
    assert result.differences[0].production is UNSET


def test_baseline_variable_the_module_does_not_declare_is_refused():
    err = refused("root module declares no such variable", render, baseline({"enviroment": "p"}), (),
                  module(environment="string"), CONTEXT)
    assert (err.source, err.variable, err.suggestion) == ("prod.tfvars", "enviroment", "environment")


def test_production_only_without_override_is_refused_with_the_reason():
    err = refused(r"production-only \(real customers\)", render,
                  baseline({"domain": "shop.com"}, {"domain": "real customers"}), (), module(domain="string"),
                  CONTEXT)
    assert (err.source, err.variable) == ("prod.tfvars", "domain")


@pytest.mark.parametrize("ov", [
    override("domain", "set", value="shop.com"),
    override("domain", "template", template="shop.{{ 'com' }}"),
])
def test_production_only_value_kept_equal_is_refused(ov):
    err = refused("equals the production value", render, baseline({"domain": "shop.com"}, {"domain": "dns"}),
                  (ov,), module(domain="string"), CONTEXT)
    assert err.variable == "domain"


def test_production_only_dropped_to_a_default_equal_to_production_is_refused():
    mod = {"domain": var("domain", "string", default="shop.com")}
    refused("equals the production value", render, baseline({"domain": "shop.com"}, {"domain": "dns"}),
            (override("domain", "drop"),), mod, CONTEXT)


def test_production_only_scaled_is_refused():
    refused("not scale", render, baseline({"n": 4}, {"n": "real shards"}),
            (override("n", "scale", factor=0.5),), module(n="number"), CONTEXT)


def test_injected_variable_is_set_last_and_reported():
    result = render(baseline({"x": "a"}), (), module(x="string", name="string"), CONTEXT, injected=NAME)
    assert result.tfvars == {"x": "a", "name": "checkout-v2-1a2b3c4"}
    (diff,) = result.differences
    assert (diff.variable, diff.production, diff.rule, diff.reason) == \
        ("name", UNSET, "injected", "stack name derived from the branch")
    assert diff.to_json()["production"] == "(not set)"


def test_injected_variable_also_set_by_the_baseline_is_refused():
    err = refused("must not set it too", render, baseline({"name": "prod"}), (),
                  module(name="string"), CONTEXT, injected=NAME)
    assert (err.source, err.variable) == ("prod.tfvars", "name")


def test_injected_variable_also_set_by_an_override_is_refused():
    err = refused("override must not set it too", render, baseline({}),
                  (override("name", "set", value="mine"),), module(name="string"), CONTEXT, injected=NAME)
    assert (err.source, err.variable) == ("staging.toml", "name")


def test_injected_variable_the_module_does_not_declare_is_refused():
    err = refused("declares no such variable", render, baseline({}), (), module(nam="string"), CONTEXT,
                  injected=NAME)
    assert err.suggestion == "nam"


# -- the whole fixture -------------------------------------------------------


def test_fixture_render_applies_every_rule(fixture_render):
    assert fixture_render.tfvars == {
        "name": "checkout-v2-1a2b3c4",
        "environment": "staging",
        "app_desired_count": 2,
        "cache_ratio": 0.75,
        "domain_name": "checkout-v2-1a2b3c4.staging.acme-corp.test",
        "enable_deletion_protection": False,
        "allowed_cidrs": ["10.0.0.0/8", "192.168.0.0/16"],
        "tags": {"Team": "shop", "cost-center": "42"},
        "motd": 'Welcome to "prod"\nliteral ${not_interpolated}',
    }
    rules = {d.variable: d.rule for d in fixture_render.differences}
    assert rules == {"environment": "set", "app_desired_count": "scale", "domain_name": "template",
                     "alert_email": "drop", "enable_deletion_protection": "set", "name": "injected"}
    assert "tags" not in rules and "cache_ratio" not in rules  # untouched: copied, not differences


def test_json_and_hcl_baselines_render_the_same():
    args = (load_overrides(FIXTURES / "overrides.toml"), module_variables(FIXTURES / "module"), CONTEXT)
    from_hcl = render(load_baseline(HCL), *args, injected=NAME)
    from_json = render(load_baseline(JSON_BASELINE), *args, injected=NAME)
    assert from_hcl.tfvars == from_json.tfvars and from_hcl.digest == from_json.digest


def test_render_does_not_mutate_its_arguments():
    base = load_baseline(HCL)
    before = copy.deepcopy(base.values)
    result = render(base, load_overrides(FIXTURES / "overrides.toml"), module_variables(FIXTURES / "module"),
                    CONTEXT, injected=NAME)
    result.tfvars["tags"]["Team"] = "changed"
    assert base.values == before


# -- digest ------------------------------------------------------------------


def test_digest_is_stable_and_tracks_baseline_and_override_changes():
    mod = module(x="number", y="string")
    base = baseline({"x": 10, "y": "a"})
    ovs = (override("x", "scale", factor=0.5),)
    first = render(base, ovs, mod, CONTEXT).digest
    other_ctx = RenderContext(StackId("other", "other-7654321"), 7, "bob")
    assert render(baseline({"y": "a", "x": 10}), ovs, mod, other_ctx).digest == first  # order, context
    assert render(baseline({"x": 11, "y": "a"}), ovs, mod, CONTEXT).digest != first
    assert render(base, (override("x", "scale", factor=0.25),), mod, CONTEXT).digest != first
    assert len(first) == 64 and int(first, 16) >= 0


# -- output ------------------------------------------------------------------


def test_write_tfvars_is_private_json_and_replaces_atomically(tmp_path, fixture_render):
    target = tmp_path / "staging.tfvars.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_tfvars(fixture_render, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text()) == fixture_render.tfvars
    assert target.read_text() == json.dumps(fixture_render.tfvars, sort_keys=True, indent=2,
                                            ensure_ascii=False) + "\n"
    assert [p.name for p in tmp_path.iterdir()] == ["staging.tfvars.json"]  # no temp file left


def test_format_differences_lists_each_difference(fixture_render):
    report = format_differences(fixture_render)
    lines = report.splitlines()
    assert lines[0] == "Staging differs from production in 6 variables:"
    assert lines[2].split() == ["variable", "production", "staging", "rule", "reason"]
    for diff in fixture_render.differences:
        row = next(line for line in lines if line.startswith(diff.variable + " "))
        assert diff.rule in row and diff.reason in row
    # production-only values never travel into reports (they reach PR comments and CI logs)
    assert "oncall@acme-corp.com" not in report and "(production-only)" in report
    assert "(module default)" in report
    assert fixture_render.digest in report
    starts = {line.index(" injected ") for line in lines if " injected " in line}
    assert {line.index(" scale ") for line in lines if " scale " in line} == starts  # columns align


def test_format_differences_elides_long_values_and_hides_sensitive_ones():
    mod = {"blob": var("blob", "string"), "db_password": var("db_password", "string", sensitive=True)}
    result = render(baseline({"blob": "x" * 100}), (override("blob", "set", value="y"),), mod, CONTEXT,
                    guards=Guards(secrets={"db_password": "env:DB_PASSWORD"}))
    report = format_differences(result)
    assert '"' + "x" * 38 + "… (+63 characters; diff --json shows all)" in report and "x" * 40 not in report
    assert "(sensitive)" in report and "TF_VAR_db_password from env:DB_PASSWORD" in report
    masked = Difference("db_password", "hunter2", "s3cret", "set", "because", sensitive=True)
    shown = format_differences(Rendered({}, (masked,), "0" * 64)) + json.dumps(masked.to_json())
    assert "hunter2" not in shown and "s3cret" not in shown and "(sensitive)" in shown


def test_format_differences_without_differences():
    report = format_differences(Rendered({"x": 1}, (), "0" * 64))
    assert "unchanged" in report


def test_templates_dir_can_be_overridden(tmp_path, monkeypatch):
    (tmp_path / "hello.txt.j2").write_text("hello {{ who }}\n")
    monkeypatch.setenv("PROVISIONER_TEMPLATES", str(tmp_path))
    assert render_template("hello.txt.j2", who="{{ 7*7 }}") == "hello {{ 7*7 }}\n"


def test_production_only_values_are_masked_in_json_but_kept_in_memory(fixture_render):
    masked = [d for d in fixture_render.differences if d.production_only]
    assert masked, "the fixture baseline marks production-only variables"
    for d in masked:
        shown = d.to_json()
        assert shown["production"] == "(production-only)" and shown["production_only"] is True
        assert d.production not in (UNSET, "(production-only)")  # the real value stays available to checks
    plain = [d for d in fixture_render.differences if not d.production_only and d.production is not UNSET]
    assert all(d.to_json()["production"] == d.production for d in plain if not d.sensitive)
