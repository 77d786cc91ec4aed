"""The data tier wired into the tool: config, the record, diff, status views, the switch-off rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner import config
from provisioner.cli import board
from provisioner.cli.app import cli
from provisioner.data import DataSpecError
from provisioner.domain.record import Record
from provisioner.errors import EXIT_BAD_INPUT, ConfigError
from provisioner.github.comment import CommentInput, render_comment
from provisioner.render.report import format_data_differences
from provisioner.usecases.data import active, data_differences, datasets

REPO = Path(__file__).resolve().parents[2]
VERSION = {"dataset": "customers", "digest": "ab" * 32, "kind": "dynamodb", "store": "dynamodb:t",
           "rows": 1005, "source_digest": "synthetic", "seed": "00" * 8, "content_digest": "cd" * 32,
           "loaded_at": 1_000_000.0, "load_seconds": 0.9}


def minimal(**top):
    return {"project": {"root_module": "modules/stack", "baseline": "modules/stack/production.tfvars",
                        "overrides": "modules/stack/staging.overrides.toml"}, **top}


def test_the_repository_config_holds_the_example_datasets():
    settings = config.load(str(REPO / "staging.toml"))
    specs = datasets(settings)
    assert specs.names == ("customers", "orders", "invoices", "accounts", "account_orders")
    assert {s.kind for s in specs.specs} == {"dynamodb", "s3", "postgres"}
    assert {s.target for s in specs.specs if s.kind == "postgres"} == {"database_name"}


def test_a_bad_dataset_is_refused_naming_file_dataset_and_key():
    settings = config.validate(minimal(data={"customers": {"reason": "r", "kind": "dynamo"}}),
                               source="staging.toml", base_dir=str(REPO))
    with pytest.raises(DataSpecError) as err:
        datasets(settings)
    assert err.value.exit_code == EXIT_BAD_INPUT
    assert str(err.value).startswith("staging.toml: data.customers")


def test_data_key_must_be_a_secret_source():
    with pytest.raises(ConfigError) as err:
        config.validate(minimal(data_key="hunter2-literal-key"), source="staging.toml", base_dir=str(REPO))
    assert err.value.key == "data_key"
    ok = config.validate(minimal(data_key="env:ACME_DATA_KEY"), source="staging.toml", base_dir=str(REPO))
    assert ok.data_key == "env:ACME_DATA_KEY"


def test_an_empty_target_output_switches_a_dataset_off():
    specs = datasets(config.load(str(REPO / "staging.toml")))
    outputs = {"table_name": "t", "bucket_name": {"value": "b"}, "database_name": {"value": ""}}
    on, off = active(specs, outputs)
    assert off == ("accounts", "account_orders")
    assert on.names == ("customers", "orders", "invoices")
    assert set(on.schemas) == {"customers", "invoices"}


def test_diff_lists_each_dataset_with_its_reason():
    diffs = data_differences(config.load(str(REPO / "staging.toml")))
    text = format_data_differences(diffs)
    assert text.splitlines()[1].split() == ["dataset", "production", "staging", "reason"]
    customers = next(line for line in text.splitlines() if line.startswith("customers "))
    assert "250000 rows" in customers and "synthetic, 1000 rows" in customers
    assert "Staging never holds a real customer" in customers
    assert format_data_differences(()) == ""


def test_record_keeps_versions_and_the_views_show_them():
    rec = Record(slug="x-1234567", branch="feature/x", status="ready", created_at=999_000.0,
                 data={"customers": VERSION})
    assert rec.datasets == [{"dataset": "customers", "kind": "dynamodb", "store": "dynamodb:t", "rows": 1005,
                             "digest": "ab" * 6, "loaded_at": 1_000_000.0, "load_seconds": 0.9}]
    page = board.render_page(board.environments([rec], now=1_000_100.0, env={}))
    assert "1005 rows in 1 datasets" in page and "abababababab" in page
    body = render_comment(CommentInput(slug=rec.slug, branch=rec.branch, status="ready", record=rec))
    assert "Staging data (1 datasets)" in body
    assert "| customers | 1005 | dynamodb\\:t | `abababababab` |" in body   # text_cell escapes the colon
    gone = render_comment(CommentInput(slug=rec.slug, branch=rec.branch, status="destroyed", record=rec))
    assert "Staging data" not in gone


def test_the_data_commands_are_registered():
    group = cli.commands["data"]
    assert set(group.commands) == {"plan", "seed", "reset"}
    for name in ("seed", "reset"):
        params = {p.name for p in group.commands[name].params}
        assert {"branch", "only", "as_json"} <= params
    assert "no_data" in {p.name for p in cli.commands["spinup"].params}
