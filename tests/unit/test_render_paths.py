"""Overrides on parts of a value (key paths), the merge rule, and set values checked against the
module's declared types; the differences report shows nested changes path by path."""

from __future__ import annotations

import pytest
from test_render import CONTEXT, baseline, override, var

from provisioner.errors import RenderError
from provisioner.render.core import render
from provisioner.render.paths import parse_path, type_problem
from provisioner.render.report import format_differences

TABLE = "object({billing_mode = string, read_capacity = number, write_capacity = number})"
QUEUES = "map(object({visibility_timeout = number, retention_seconds = optional(number, 60)}))"
PRODUCTION = {
    "orders_table": {"billing_mode": "PROVISIONED", "read_capacity": 400, "write_capacity": 200},
    "queues": {"ingest": {"visibility_timeout": 60, "retention_seconds": 1209600},
               "billing": {"visibility_timeout": 300}},
    "subnets": ["10.0.1.0/24", "10.0.2.0/24"],
}
MODULE = {"orders_table": var("orders_table", TABLE), "queues": var("queues", QUEUES),
          "subnets": var("subnets", "list(string)")}


def rendered(*overrides):
    return render(baseline(PRODUCTION), overrides, MODULE, CONTEXT)


@pytest.mark.parametrize(("text", "variable", "steps"), [
    ("orders_table.read_capacity", "orders_table", ("read_capacity",)),
    ('queues["ingest"].retention_seconds', "queues", ("ingest", "retention_seconds")),
    ("subnets[1]", "subnets", (1,)),
    ("plain", "plain", ()),
])
def test_key_paths_parse_like_terraform_spells_them(text, variable, steps):
    path = parse_path(text, "o.toml")
    assert (path.variable, path.steps) == (variable, steps)


def test_a_bad_key_path_is_refused():
    with pytest.raises(RenderError, match="bad key path"):
        parse_path("orders_table..x", "o.toml")


def test_scale_a_nested_number_and_every_other_part_stays():
    result = rendered(override("orders_table.read_capacity", "scale", factor=0.01, min=5, round="ceil"))
    assert result.tfvars["orders_table"] == {"billing_mode": "PROVISIONED", "read_capacity": 5,
                                             "write_capacity": 200}
    (diff,) = [d for d in result.differences if d.rule == "scale"]
    assert (diff.variable, diff.production, diff.staging) == ("orders_table.read_capacity", 400, 5)


def test_merge_drop_and_set_on_map_keys_and_list_indexes():
    result = rendered(override('queues["ingest"]', "merge", value={"retention_seconds": 3600}),
                      override('queues["billing"]', "drop"),
                      override("subnets[1]", "set", value="10.9.2.0/24"))
    assert result.tfvars["queues"] == {"ingest": {"visibility_timeout": 60, "retention_seconds": 3600}}
    assert result.tfvars["subnets"] == ["10.0.1.0/24", "10.9.2.0/24"]


def test_merge_on_a_whole_variable_deep_merges_into_production():
    result = rendered(override("orders_table", "merge", value={"read_capacity": 5}))
    assert result.tfvars["orders_table"]["read_capacity"] == 5
    assert result.tfvars["orders_table"]["write_capacity"] == 200


def test_a_partial_object_set_is_refused_naming_the_missing_attribute():
    with pytest.raises(RenderError) as err:
        rendered(override("orders_table", "set", value={"billing_mode": "PAY_PER_REQUEST"}))
    assert "orders_table.read_capacity" in str(err.value) and "required" in str(err.value)


def test_a_wrong_element_type_is_refused_at_render():
    with pytest.raises(RenderError, match=r"queues.ingest.visibility_timeout: expected a number"):
        rendered(override('queues["ingest"]', "set", value={"visibility_timeout": "soon"}))
    with pytest.raises(RenderError, match="no such key"):
        rendered(override("orders_table.reads", "scale", factor=0.5))


def test_optional_attributes_may_be_left_out():
    assert type_problem({"a": {"visibility_timeout": 1}}, QUEUES, "queues") is None


def test_whole_and_part_overrides_of_one_variable_are_refused():
    with pytest.raises(RenderError, match="also overridden as a whole"):
        rendered(override("orders_table", "merge", value={"read_capacity": 5}),
                 override("orders_table.write_capacity", "scale", factor=0.5))


def test_diff_shows_nested_changes_path_by_path_and_says_when_it_elides():
    smaller = {"billing_mode": "PROVISIONED", "read_capacity": 5, "write_capacity": 5}
    result = rendered(override("orders_table", "set", value=smaller),
                      override('queues["billing"]', "drop"))
    report = format_differences(result)
    rows = {line.split()[0]: line for line in report.splitlines() if line.startswith(("orders", "queues"))}
    assert set(rows) == {"orders_table.read_capacity", "orders_table.write_capacity", 'queues["billing"]'}
    assert "400" in rows["orders_table.read_capacity"] and "(removed)" in rows['queues["billing"]']
    assert "billing_mode" not in report   # unchanged parts are not listed
