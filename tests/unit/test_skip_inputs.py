"""The input digests (terraform.fingerprint) and the skip decision (usecases.skip), on real files."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from provisioner import config
from provisioner.domain.record import Record
from provisioner.errors import ConfigError
from provisioner.terraform import fingerprint
from provisioner.usecases import skip

REPO = Path(__file__).resolve().parents[2]


def project(tmp_path: Path, **engine: object) -> config.Settings:
    shutil.copytree(REPO / "modules", tmp_path / "modules", ignore=shutil.ignore_patterns(".terraform"))
    data = {"project": {"root_module": "modules/stack", "baseline": "modules/stack/production.tfvars",
                        "overrides": "modules/stack/staging.overrides.toml", "state_dir": ".provisioner"},
            "engine": dict(engine)}
    return config.validate(data, source="staging.toml", base_dir=str(tmp_path))


def test_refresh_after_defaults_and_is_checked():
    base = {"project": {"root_module": "modules/stack", "baseline": "modules/stack/production.tfvars",
                        "overrides": "modules/stack/staging.overrides.toml"}}
    assert config.validate(base, base_dir=str(REPO)).stacks.refresh_after_seconds == 6 * 3600
    with pytest.raises(ConfigError) as err:
        config.validate({**base, "stacks": {"refresh_after": "soon"}}, source="staging.toml",
                        base_dir=str(REPO))
    assert err.value.key == "stacks.refresh_after" and "'soon' is not a duration" in str(err.value)


def test_module_tree_covers_every_file_the_copy_holds(tmp_path):
    s = project(tmp_path)
    first = fingerprint.module_tree(s)
    assert fingerprint.module_tree(s) == first                        # deterministic
    os.utime(tmp_path / "modules" / "stack" / "main.tf", (1, 1))    # a checkout's new mtime: no change
    assert fingerprint.module_tree(s) == first
    for rel in ("stack/main.tf", "network/variables.tf", "app/templates/policy.json.tpl",
                "stack/.terraform.lock.hcl"):
        path = tmp_path / "modules" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        before = fingerprint.module_tree(s)
        path.write_text((path.read_text() if path.exists() else "") + "\n# changed\n")
        assert fingerprint.module_tree(s) != before, rel
    # what the copy leaves out is not an input
    before = fingerprint.module_tree(s)
    for rel in ("docs/notes.md", "stack/examples/x.tf", "stack/.terraform/junk", "stack/x.auto.tfvars",
                "stack/terraform.tfstate", ".provisioner/stacks/a/tree/main.tf"):
        path = tmp_path / "modules" / rel if not rel.startswith(".provisioner") else tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert fingerprint.module_tree(s) == before


def test_versions_follow_the_engine_and_the_mirror(tmp_path):
    mirror = tmp_path / "mirror" / "registry.terraform.io" / "hashicorp" / "aws"
    mirror.mkdir(parents=True)
    package = mirror / "terraform-provider-aws_3.39.0_linux_amd64.zip"
    package.write_bytes(b"zip")
    s = project(tmp_path, provider_mirror=str(tmp_path / "mirror"))
    first = fingerprint.versions(s)
    assert fingerprint.versions(s) == first
    (mirror / "terraform-provider-aws_3.40.0_linux_amd64.zip").write_bytes(b"zip")   # a new release
    assert fingerprint.versions(s) != first
    second = fingerprint.versions(s)
    package.write_bytes(b"another zip")                                              # replaced package
    assert fingerprint.versions(s) != second
    binary = tmp_path / "terraform"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    t = project(tmp_path / "b", provider_mirror=str(tmp_path / "mirror"), command=str(binary))
    on_binary = fingerprint.versions(t)
    assert on_binary != fingerprint.versions(s)
    binary.write_text("#!/bin/sh\n# terraform 1.16\n")                              # upgraded engine
    assert fingerprint.versions(t) != on_binary


def test_secrets_count_but_are_never_hashed_plainly():
    tfvars = {"name": "a"}
    plain = fingerprint.variables(tfvars, {}, "a-1234567")
    with_secret = fingerprint.variables(tfvars, {"db_password": "hunter2"}, "a-1234567")
    assert plain != with_secret
    assert fingerprint.variables(tfvars, {"db_password": "hunter3"}, "a-1234567") != with_secret
    assert fingerprint.variables(tfvars, {"db_password": "hunter2"}, "b-1234567") != with_secret
    assert fingerprint.variables({"name": "b"}, {}, "a-1234567") != plain


DIGESTS = {k: f"{k}-digest" for k in fingerprint.KINDS}
NOW = 1_800_000_000.0


def applied(**fields: object) -> Record:
    rec = Record(slug="a-1234567", branch="a", status="ready", last_applied_at=NOW - 60,
                 inputs=dict(DIGESTS))
    return replace(rec, **fields)  # type: ignore[arg-type]


def settings() -> config.Settings:
    return config.validate({"project": {"root_module": "modules/stack",
                                        "baseline": "modules/stack/production.tfvars",
                                        "overrides": "modules/stack/staging.overrides.toml"}},
                           base_dir=str(REPO))


@pytest.mark.parametrize(("record", "digests", "why"), [
    (applied(), DIGESTS, None),
    (None, DIGESTS, "no applied stack yet"),
    (applied(status="destroyed"), DIGESTS, "no applied stack yet"),
    (applied(status="failed"), DIGESTS, "the stack is failed, not ready"),
    (applied(status="interrupted"), DIGESTS, "the stack is interrupted, not ready"),
    (applied(status="unhealthy"), DIGESTS, "the stack is unhealthy, not ready"),
    (applied(status="creating"), DIGESTS, "the stack is creating, not ready"),
    (applied(inputs={}), DIGESTS, "recorded no input digests"),
    (applied(last_applied_at=NOW - 6 * 3600), DIGESTS, "the last apply was 6.0h ago"),
    (applied(last_applied_at=NOW + 600), DIGESTS, "the last apply was"),     # a clock ahead: no trust
    (applied(drifted_at=NOW - 10), DIGESTS, "drift was found outside Terraform"),
    *[(applied(), {**DIGESTS, kind: "other"}, fingerprint.LABELS[kind]) for kind in fingerprint.KINDS],
    (applied(inputs={k: v for k, v in DIGESTS.items() if k != "versions"}), DIGESTS,
     "engine or provider version"),
])
def test_why_not(record, digests, why):
    found = skip.why_not(settings(), record, digests, NOW)
    assert (found is None) if why is None else (found is not None and why in found), found


def test_the_note_names_the_time_and_refresh():
    note = skip.unchanged_note(0.0)
    assert note == ("no infrastructure changes (inputs unchanged since 1970-01-01 00:00:00 UTC; --refresh "
                    "to check AWS anyway)")


def test_a_skipped_record_keeps_the_apply_and_moves_the_clocks():
    rec = applied(changes={"add": 3, "change": 0, "remove": 0}, active_at=NOW - 60)
    planned = replace(rec, status="creating", error="", changes={}, active_at=NOW, expires_at=NOW + 99,
                      last_applied_at=None)
    done = skip.skipped_record(rec, planned)
    assert done.status == "ready" and done.changes == rec.changes
    assert done.last_applied_at == rec.last_applied_at and done.active_at == NOW
    assert done.expires_at == NOW + 99
