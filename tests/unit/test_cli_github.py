"""`provisioner pr-event` at the CLI edge: decisions that need no stack, exit codes, env defaults.

The config points at an emulator URL where nothing listens, so any path that opened a runtime would
fail: skips, schedule runs and dry runs must not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_project

from provisioner.cli.app import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def project(tmp_path, monkeypatch):
    for var in ("GITHUB_TOKEN", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_ACTIONS",
                "PROVISIONER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return write_project(tmp_path / "proj", NOWHERE, tmp_path / "mirror")


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def pr_event(capsys, cfg, fixture, *extra):
    name = fixture.split(".")[0]
    return run(capsys, "--config", str(cfg), "pr-event", "--event-name", name,
               "--event-file", str(FIXTURES / f"{fixture}.json"), *extra)


def test_schedule_points_at_cleanup_and_does_nothing(project, capsys):
    code, out, _ = pr_event(capsys, project, "schedule")
    assert code == 0
    assert "provisioner cleanup" in out and "this pr-event run does nothing" in out


@pytest.mark.parametrize("fixture, reason", [
    ("pull_request.opened.fork", "forks get no preview"),
    ("pull_request.opened.draft", "draft pull requests"),
])
def test_skips_exit_zero_without_touching_anything(project, capsys, fixture, reason):
    code, out, _ = pr_event(capsys, project, fixture)
    assert code == 0 and out.startswith("skip: ") and reason in out


def test_dry_run_prints_the_decision(project, capsys):
    code, out, _ = pr_event(capsys, project, "pull_request.opened", "--dry-run")
    assert code == 0
    assert out.strip() == 'dry run: would spinup branch "feature/checkout-page": pull request opened'


def test_event_name_and_path_default_to_the_actions_environment(project, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(FIXTURES / "pull_request.closed.merged.json"))
    code, out, _ = run(capsys, "--config", str(project), "pr-event", "--dry-run")
    assert code == 0 and "would teardown" in out and "(merged)" in out


def test_a_spinup_really_tries_to_reach_the_target(project, capsys):
    code, _, err = pr_event(capsys, project, "pull_request.opened")
    assert code == 1 and "no AWS emulator answers" in err


@pytest.mark.parametrize("args, message", [
    (("--event-name", "push", "--event-file", str(FIXTURES / "schedule.json")), "not handled"),
    (("--event-name", "pull_request", "--event-file", "/nonexistent/event.json"), "cannot read"),
    (("--event-name", "pull_request", "--event-file", str(FIXTURES / "schedule.json")), "pull_request"),
])
def test_bad_events_exit_2(project, capsys, args, message):
    code, _, err = run(capsys, "--config", str(project), "pr-event", *args)
    assert code == 2 and message in err


def test_bad_dispatch_action_exits_2(project, capsys, tmp_path):
    event = tmp_path / "dispatch.json"
    event.write_text((FIXTURES / "workflow_dispatch.json").read_text().replace('"spinup"', '"nuke"'))
    code, _, err = run(capsys, "--config", str(project), "pr-event", "--event-name", "workflow_dispatch",
                       "--event-file", str(event))
    assert code == 2 and "nuke" in err


def test_github_config_keys_are_checked(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PROVISIONER_CONFIG", raising=False)
    cfg = write_project(tmp_path / "p", NOWHERE, tmp_path / "m", extra="[github]\nallow_fork = true\n")
    code, _, err = pr_event(capsys, cfg, "schedule")
    assert code == 2 and "did you mean 'allow_forks'" in err
    cfg.write_text(cfg.read_text().replace("allow_fork = true", 'label = "x"\nkeep_label = "x"'))
    code, _, err = pr_event(capsys, cfg, "schedule")
    assert code == 2 and "must differ" in err


def test_json_output(project, capsys):
    code, out, _ = pr_event(capsys, project, "pull_request.opened.fork", "--dry-run", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["dry_run"] is True and doc["decision"]["action"] == "skip"
    assert doc["decision"]["branch"].startswith("mallory-x:")
    code, out, _ = pr_event(capsys, project, "schedule", "--json")
    doc = json.loads(out)
    assert doc["decision"]["action"] == "cleanup" and doc["stack"] is None and doc["comment"] is None


@pytest.mark.parametrize("where", ["option", "environment"])
def test_teardown_refuses_a_bad_reason_before_touching_anything(capsys, project, monkeypatch, where):
    # NOWHERE has no emulator: a teardown that opened its runtime would fail on the connection instead
    reason = "PR #7 closed\n::set-output name=x::y"
    if where == "environment":
        monkeypatch.setenv("PROVISIONER_TEARDOWN_REASON", reason)
    code, _, err = run(capsys, "--config", str(project), "teardown", "--stack", "login-page-3f1c2ab",
                       *(("--reason", reason) if where == "option" else ()))
    assert code == 2
    assert "'--reason' / PROVISIONER_TEARDOWN_REASON" in err and "control character" in err
