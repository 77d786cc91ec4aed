"""Bootstrap runs once per emulator, and again when the emulator forgot it (restarted, wiped)."""

from __future__ import annotations

import tomllib

import pytest
from conftest import aws_client, run_cli, table_names, write_project

pytestmark = pytest.mark.integration


def test_bootstrap_is_remembered_until_the_emulator_loses_it(tmp_path, moto_url, provider_mirror):
    cfg = write_project(tmp_path / "boot", moto_url, provider_mirror)
    table = tomllib.loads(cfg.read_text())["registry"]["table"]
    registry = {"table": table, "audit_table": f"{table}-audit"}
    first = run_cli(cfg, "teardown", "--branch", "feature/boot").stderr
    assert f"created table {registry['audit_table']}" in first, first
    again = run_cli(cfg, "teardown", "--branch", "feature/boot").stderr
    assert "created" not in again, again

    ddb = aws_client(moto_url, "dynamodb")
    for table in (registry["table"], registry["audit_table"]):  # what a restarted emulator looks like
        ddb.delete_table(TableName=table)
    after = run_cli(cfg, "teardown", "--branch", "feature/boot").stderr
    assert f"created table {registry['table']}" in after and "Traceback" not in after, after
    assert registry["table"] in table_names(moto_url)
