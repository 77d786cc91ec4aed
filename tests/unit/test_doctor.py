"""The doctor's check table: results, advice, dependencies, exceptions never escape."""

from __future__ import annotations

from pathlib import Path

from provisioner.usecases import doctor
from provisioner.usecases.doctor import Check, CheckFailed, run_checks


def _ok(detail):
    return lambda ctx: detail


def _fail(detail, advice=""):
    def run(ctx):
        raise CheckFailed(detail, advice)
    return run


def test_all_ok():
    report = run_checks([Check("a", _ok("fine")), Check("b", _ok("also"), needs=("a",))])
    assert report.ok
    assert [(r.name, r.ok, r.detail) for r in report.results] == [("a", True, "fine"), ("b", True, "also")]


def test_failure_carries_its_own_advice_else_the_default():
    report = run_checks([Check("a", _fail("broken", "do X"), "default"),
                         Check("b", _fail("broken too"), "default b")])
    assert not report.ok
    assert [(r.ok, r.advice) for r in report.results] == [(False, "do X"), (False, "default b")]


def test_dependent_checks_are_skipped_as_failed():
    report = run_checks([Check("config", _fail("bad toml")), Check("engine", _ok("x"), needs=("config",)),
                         Check("free", _ok("y"))])
    by = {r.name: r for r in report.results}
    assert not by["engine"].ok and "needs config" in by["engine"].detail
    assert by["free"].ok


def test_unexpected_exceptions_become_failures():
    def boom(ctx):
        raise RuntimeError("socket closed\nmore lines")
    report = run_checks([Check("aws", boom, "check credentials")])
    r = report.results[0]
    assert (r.ok, r.detail, r.advice) == (False, "socket closed", "check credentials")
    assert report.to_json() == {"ok": False, "checks": [r.to_json()]}


def test_checks_share_a_context():
    def first(ctx):
        ctx["value"] = 41
        return "set"
    report = run_checks([Check("one", first), Check("two", lambda ctx: str(ctx["value"] + 1))])
    assert report.results[1].detail == "42"


class _Settings:
    """A fake with just what the provider check reads."""

    def __init__(self, mirror):
        self.engine = type("E", (), {"provider_mirror": mirror})()

    def path(self, p):
        return Path(p)

    @property
    def provider_mirror(self):
        return Path(self.engine.provider_mirror) if self.engine.provider_mirror else None


def test_provider_check(tmp_path):
    assert "needs network" in doctor.check_provider({"settings": _Settings(None)})
    report = run_checks([Check("provider", doctor.check_provider)], {"settings": _Settings(str(tmp_path))})
    assert not report.ok and "mirror build" in report.results[0].advice
    zdir = tmp_path / "registry.terraform.io/hashicorp/aws"
    zdir.mkdir(parents=True)
    (zdir / "terraform-provider-aws_3.39.0_linux_amd64.zip").write_bytes(b"PK")
    assert "3.39.0" in doctor.check_provider({"settings": _Settings(str(tmp_path))})


def test_emulator_check_never_starts_it_unless_asked(tmp_path):
    target = type("T", (), {"kind": "local", "endpoint": None, "region": "us-east-1", "emulator_port": 0})()
    settings = type("S", (), {"target": target, "state_dir": tmp_path})()
    report = run_checks([Check("emulator", doctor.check_emulator)], {"settings": settings})
    assert not report.ok and "--start-emulator" in report.results[0].advice
    assert not (tmp_path / "emulator.json").exists()
