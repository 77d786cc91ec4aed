"""The hostile-input corpus (cases.py) through the real CLI, against one shared moto emulator.

Every case runs ``provisioner`` in a subprocess and asserts: the exit code, a message that names
the problem, no traceback, and that nothing was created: no new bucket, S3 object, DynamoDB table
or item, no resource tagged managed-by, no IAM role, and no local stack directory (no state).
None of the cases gets as far as Terraform.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from string import Template

import boto3
import pytest
from cases import CASES
from conftest import REPO, moto_server, run_cli

from provisioner.domain import tags

pytestmark = pytest.mark.integration

STACK = REPO / "modules" / "stack"
XDIST_SPREAD = True   # conftest: a cheap world per worker; the cases spread over every worker
BUCKET, TABLE = "hostile-state", "hostile-envs"
CONFIG = Template("""
[project]
root_module = "$stack"
baseline = "$baseline"
overrides = "$overrides"
state_dir = "$dir/.provisioner"

[target]
kind = "local"
endpoint = "$moto"

[backend]
bucket = "$bucket"
$backend

[registry]
table = "$table"

[engine]
provider_mirror = "$mirror"
$engine

[production]
$production

$extra
""")
DEFAULTS = {
    "bucket": BUCKET, "table": TABLE, "backend": "", "engine": 'command = "embedded"', "extra": "",
    "production": 'account_ids = ["111111111111"]\nstate_buckets = ["hostile-prod-state"]\n'
                  'state_prefixes = ["production"]\nidentifiers = ["acme-prod", "api.acme-corp.com"]',
}


def client(url: str, service: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def snapshot(url: str) -> dict:
    """Everything a run could have created in the emulator."""
    s3, ddb, iam = client(url, "s3"), client(url, "dynamodb"), client(url, "iam")
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    # paginated: after the integration tier the shared emulator holds more than one page (100) of tables
    tables = sorted(n for page in ddb.get_paginator("list_tables").paginate() for n in page["TableNames"])
    pages = client(url, "resourcegroupstaggingapi").get_paginator("get_resources").paginate(
        TagFilters=[{"Key": tags.MANAGED_BY}])
    return {
        "objects": {b: sorted(o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", []))
                    for b in buckets},
        "items": {t: ddb.scan(TableName=t, Select="COUNT")["Count"] for t in tables},
        "tagged": sorted(r["ResourceARN"] for page in pages for r in page["ResourceTagMappingList"]),
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory, provider_mirror):
    """One bootstrapped project (state bucket, registry table) shared by every case, on an emulator
    of its own: the snapshot before and after each case lists every bucket, table and tagged
    resource, which on the worker's shared emulator (every integration test's registry and state
    bucket) cost more than the case itself."""
    root = tmp_path_factory.mktemp("hostile")
    with moto_server(root) as url:
        cfg = root / "staging.toml"
        example = {"baseline": STACK / "production.tfvars", "overrides": STACK / "staging.overrides.toml"}
        cfg.write_text(config_text(example, root, url, provider_mirror))
        run_cli(cfg, "bootstrap")
        yield {"url": url, "mirror": provider_mirror}


def config_text(values: dict, case_dir: Path, url: str, mirror: Path) -> str:
    given = {k: str(v).replace("$dir", str(case_dir)) for k, v in values.items()}
    return CONFIG.substitute({**DEFAULTS, "stack": STACK, "dir": case_dir, "moto": url, "mirror": mirror,
                              **given})


def write(path: Path, spec) -> None:
    """text, bytes, or {"big": n, "line": s}: a file of n bytes made of one repeated line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, dict) and "big" in spec:
        line = spec["line"].encode()
        with open(path, "wb") as out:
            out.write(line * (spec["big"] // len(line) + 1))
    elif isinstance(spec, dict):
        write(path, spec.get("text", spec.get("bytes")))
    elif isinstance(spec, bytes):
        path.write_bytes(spec)
    else:
        path.write_text(spec, encoding="utf-8")


def input_file(case_dir: Path, example: Path, spec) -> Path:
    """The example file, edited by (old, new) / ("+", text), or a file of the case's own."""
    if isinstance(spec, dict):
        target = case_dir / spec["name"]
        write(target, spec)
        return target
    text = example.read_text()
    if spec is not None:
        old, new = spec
        if old == "+":
            text += "\n" + new
        else:
            assert text.count(old) == 1, f"the case edits {old!r}, which {example.name} does not hold once"
            text = text.replace(old, new)
    target = case_dir / example.name
    target.write_text(text)
    return target


def prepare(case: dict, case_dir: Path, world: dict) -> Path:
    baseline = input_file(case_dir, STACK / "production.tfvars", case.get("baseline"))
    overrides = input_file(case_dir, STACK / "staging.overrides.toml", case.get("overrides"))
    for name, spec in case.get("files", {}).items():
        write(case_dir / name, spec)
    config = dict(case.get("config", {}))
    if "path" in config:
        return Path(config["path"].replace("$dir", str(case_dir)))
    cfg = case_dir / "staging.toml"
    if {"text", "bytes", "big"} & config.keys():
        write(cfg, config)
        return cfg
    config.setdefault("baseline", baseline)
    config.setdefault("overrides", overrides)
    cfg.write_text(config_text(config, case_dir, world["url"], world["mirror"]))
    return cfg


def case_args(case: dict, case_dir: Path) -> list[str]:
    args = case.get("args") or ["spinup", "--branch", case.get("branch", "feature/hostile")]
    return [a.replace("$dir", str(case_dir)) for a in args]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_hostile_input(case, world, tmp_path):
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    cfg = prepare(case, case_dir, world)
    before = snapshot(world["url"])
    proc = run_cli(cfg, *case_args(case, case_dir), env=case.get("env"), check=False, timeout=120)
    shown = f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    assert proc.returncode == case["exit"], shown
    assert "Traceback" not in proc.stderr, shown
    for fragment in case.get("message", []):
        assert fragment in proc.stderr, f"{fragment!r} not in the message\n{shown}"
    for fragment in case.get("stdout", []):
        assert fragment in proc.stdout, f"{fragment!r} not on stdout\n{shown}"
    for fragment in case.get("absent", []):
        assert fragment not in proc.stdout + proc.stderr, f"{fragment!r} was shown\n{shown}"
    # nothing created: the emulator is as it was, the shared state bucket and registry stay empty
    after = snapshot(world["url"])
    assert after == before
    assert after["objects"][BUCKET] == [] and after["items"][TABLE] == 0
    assert not list(case_dir.glob(".provisioner/stacks/*")), "a stack working directory was written"
    shutil.rmtree(case_dir)  # the 50 MB files go at once
