"""Dataset specs: the example parses; every mistake is refused naming the file, dataset and key."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from provisioner.data import DataSpecError, Scale, parse_datasets
from provisioner.errors import EXIT_BAD_INPUT

EXAMPLE = Path(__file__).resolve().parents[2] / "modules" / "stack" / "data"
RAW = tomllib.loads((EXAMPLE / "datasets.toml").read_text())["data"]


def parse(data: dict, base: Path = EXAMPLE):
    return parse_datasets(data, "staging.toml", base)


def refused(data: dict, base: Path = EXAMPLE) -> DataSpecError:
    with pytest.raises(DataSpecError) as info:
        parse(data, base)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert str(info.value).startswith("staging.toml: data.") or "schema" in str(info.value)
    return info.value


def edited(name: str, **changes) -> dict:
    data = copy.deepcopy(RAW)
    for key, value in changes.items():
        if value is None:
            data[name].pop(key)
        else:
            data[name][key] = value
    return data


def test_example_parses_in_dependency_order():
    datasets = parse(RAW)
    names = datasets.names
    assert set(names) == {"customers", "orders", "invoices", "accounts", "account_orders"}
    assert names.index("customers") < names.index("orders")
    assert names.index("customers") < names.index("invoices")
    assert names.index("accounts") < names.index("account_orders")
    orders = datasets.get("orders")
    assert orders.keep_fields() == ("order_id", "currency", "status")
    assert orders.format == "jsonl" and Path(str(orders.export)).is_absolute()
    assert datasets.get("customers").row_count() == 1000       # 250000 * 0.004
    assert datasets.get("accounts").table == "accounts"


def test_unknown_key_suggests_the_nearest():
    err = refused(edited("customers", reasn="typo"))
    assert err.dataset == "customers" and err.key == "reasn" and err.suggestion == "reason"
    assert "did you mean 'reason'" in str(err)


def test_unknown_rule_and_fake_kind_suggest():
    data = copy.deepcopy(RAW)
    data["orders"]["fields"]["email"] = "hsh"
    err = refused(data)
    assert (err.key, err.suggestion) == ("fields.email", "hash")
    data["orders"]["fields"]["email"] = {"rule": "fake", "kind": "emial"}
    err = refused(data)
    assert (err.key, err.suggestion) == ("fields.email.kind", "email")
    data["orders"]["fields"]["email"] = {"rule": "mask", "keep_lst": 4}
    err = refused(data)
    assert (err.key, err.suggestion) == ("fields.email.keep_lst", "keep_last")


def test_nested_table_keys_are_checked():
    err = refused(edited("orders", subset={"sampel": 0.5}))
    assert (err.key, err.suggestion) == ("subset.sampel", "sample")
    err = refused(edited("customers", rows={"production": 10, "factr": 0.5}))
    assert (err.key, err.suggestion) == ("rows.factr", "factor")


@pytest.mark.parametrize(("name", "changes", "key", "words"), [
    ("customers", {"reason": None}, "reason", "missing"),
    ("customers", {"reason": ""}, "reason", "length"),
    ("customers", {"rows": None}, "rows", "required"),
    ("customers", {"kind": "redis"}, "kind", "redis"),
    ("customers", {"rows": "many"}, "rows", "str"),
    ("customers", {"keys": None}, "keys", "required"),
    ("customers", {"export": "x.jsonl"}, "export", "not allowed"),
    ("invoices", {"keys": {"pk": "x"}}, "keys", "not allowed"),
    ("orders", {"key": "id"}, "key", "no rule"),
    ("orders", {"rows": 10}, "rows", "use subset"),
    ("orders", {"export": "orders.parquet"}, "format", "cannot tell"),
    ("orders", {"subset": {"sample": 1.5}}, "subset.sample", "<= 1"),
])
def test_spec_errors_name_the_key(name, changes, key, words):
    err = refused(edited(name, **changes))
    assert err.dataset == name
    assert err.key == key, str(err)
    assert words in str(err)


def test_references_are_checked():
    data = copy.deepcopy(RAW)
    data["orders"]["fields"]["customer_id"] = {"rule": "ref", "dataset": "customer"}
    err = refused(data)
    assert err.suggestion == "customers" and err.key == "fields.customer_id.dataset"
    data = copy.deepcopy(RAW)
    data["accounts"]["fields"]["id"] = {"rule": "fake", "kind": "uuid"}
    err = refused(data)
    assert err.dataset == "accounts" and "keep or hash" in str(err)


def test_a_reference_cycle_is_refused():
    data = copy.deepcopy(RAW)
    data["accounts"]["fields"]["loyalty_tier"] = {"rule": "ref", "dataset": "account_orders"}
    err = refused(data)
    assert "cycle" in str(err)


def test_schema_file_errors_name_the_file_and_field(tmp_path):
    schema = tmp_path / "s.schema.toml"
    data = {"s": {"reason": "r", "kind": "s3", "target": "bucket_name", "source": "synthetic",
                  "schema": "s.schema.toml", "rows": 5}}
    cases = [
        ('key = "id"\n[fields.id]\ngen = "sequense"\n', "fields.id.gen", "sequence"),
        ('key = "id"\n[fields.id]\ngen = "sequence"\nstrat = 1\n', "fields.id.strat", "start"),
        ('key = "id"\n[fields.id]\ngen = "name"\n', "fields.id.gen", None),
        ('key = "ident"\n[fields.id]\ngen = "uuid"\n', "key", None),
        ('key = "id"\n[fields.id]\ngen = "uuid"\n[fields.x]\ngen = "choice"\n', "fields.x.choices", None),
        ('key = "id"\n[fields.id]\ngen = "uuid"\n[fields.x]\ngen = "ref"\ndataset = "nope"\n',
         "fields.x.dataset", None),
    ]
    for text, key, suggestion in cases:
        schema.write_text(text)
        err = refused(data, tmp_path)
        assert err.key == key, (text, str(err))
        assert err.suggestion == suggestion
        assert str(schema) in str(err) or err.path == "staging.toml"


def test_scale_counts_like_the_scale_rule():
    assert Scale(production=1000, factor=0.1).count() == 100
    assert Scale(production=1001, factor=0.1, round="ceil").count() == 101
    assert Scale(production=1001, factor=0.1, round="floor").count() == 100
    assert Scale(production=10, factor=0.1, min=5).count() == 5
    assert Scale(production=10**6, factor=0.5, max=2000).count() == 2000


def test_dataset_names_must_be_identifiers():
    data = {"Bad-Name": copy.deepcopy(RAW["customers"])}
    err = refused(data)
    assert err.dataset == "Bad-Name"


def test_a_bad_rule_setting_names_the_field():
    data = copy.deepcopy(RAW)
    data["orders"]["fields"]["placed_at"] = {"rule": "shift_date", "days": 0}
    err = refused(data)
    assert err.key == "fields.placed_at.days" and ">= 1" in str(err)


def test_a_target_output_the_stack_lacks_is_named():
    from provisioner.data import TargetError
    from provisioner.data.keyed import Keyed
    from provisioner.data.run import Run

    datasets = parse(RAW)
    run = Run({"bucket_name": {"value": "b-1"}, "name": 42}, "s", datasets, None, None,
              Keyed(b"0123456789abcdef-secret"))
    assert run.store_name(datasets.get("invoices")) == "s3://b-1/invoices/"      # terraform output shape
    for name, target in (("customers", "table_name"), ("accounts", "name")):
        with pytest.raises(TargetError) as info:
            run.store_name(datasets.get(name))
        assert (info.value.dataset, info.value.target) == (name, target)
        assert info.value.exit_code == EXIT_BAD_INPUT and "bucket_name" in str(info.value)
