"""`provisioner doctor` against the moto server: all ok after bootstrap; a missing bucket fails."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli, write_project

pytestmark = pytest.mark.integration


def test_doctor_all_ok(tmp_path_factory, moto_url, provider_mirror):
    cfg = write_project(tmp_path_factory.mktemp("doctor-ok"), moto_url, provider_mirror)
    run_cli(cfg, "bootstrap")
    report = json.loads(run_cli(cfg, "doctor", "--json").stdout)
    assert report["ok"], report
    names = [c["name"] for c in report["checks"]]
    assert names == ["config", "engine", "provider", "registry", "module providers", "workspace names",
                     "emulator", "aws identity", "state bucket",
                     "registry table"]
    text = run_cli(cfg, "doctor").stdout
    assert "FAIL" not in text and "everything is in place" in text


def test_doctor_missing_bucket(tmp_path_factory, moto_url, provider_mirror):
    cfg = write_project(tmp_path_factory.mktemp("doctor-nobucket"), moto_url, provider_mirror)
    proc = run_cli(cfg, "doctor", "--json", check=False)
    assert proc.returncode == 1
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["aws identity"]["ok"] and checks["emulator"]["ok"]
    bucket = checks["state bucket"]
    assert not bucket["ok"] and "bootstrap" in bucket["advice"]
    text = run_cli(cfg, "doctor", check=False)
    assert text.returncode == 1
    assert "FAIL  state bucket" in text.stdout and "-> create it with `provisioner bootstrap`" in text.stdout


def test_doctor_does_not_start_the_emulator(tmp_path_factory, provider_mirror):
    root = tmp_path_factory.mktemp("doctor-noemu")
    cfg = write_project(root, "http://127.0.0.1:9", provider_mirror)
    text = cfg.read_text().replace('endpoint = "http://127.0.0.1:9"\n', "")
    cfg.write_text(text)
    proc = run_cli(cfg, "doctor", check=False)
    assert proc.returncode == 1
    assert "FAIL  emulator" in proc.stdout and "--start-emulator" in proc.stdout
    assert not (root / ".provisioner" / "emulator.json").exists()
