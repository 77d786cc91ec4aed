"""``emulator.json`` as another version of the tool may have written it (no process is started)."""

from __future__ import annotations

import json

from provisioner.aws import emulator


def test_a_key_this_version_does_not_know_is_not_read_as_no_emulator(tmp_path):
    (tmp_path / emulator.STATE_FILE).write_text(json.dumps({
        "pid": 4242, "port": 5000, "started_at": 1.0, "log": "x.log", "restore": {}, "starter": 7,
        "added_by_a_newer_version": True}))
    info = emulator.read_info(tmp_path)
    assert info is not None and (info.pid, info.port, info.starter) == (4242, 5000, 7)


def test_an_older_file_without_starter_and_a_broken_one(tmp_path):
    (tmp_path / emulator.STATE_FILE).write_text(json.dumps({
        "pid": 4242, "port": 5000, "started_at": 1.0, "log": "x.log"}))
    info = emulator.read_info(tmp_path)
    assert info is not None and info.starter == 0
    (tmp_path / emulator.STATE_FILE).write_text("[1, 2]")
    assert emulator.read_info(tmp_path) is None
    (tmp_path / emulator.STATE_FILE).write_text('{"pid": 1}')
    assert emulator.read_info(tmp_path) is None
