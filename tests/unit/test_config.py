from pathlib import Path

import pytest

from provisioner import config
from provisioner.errors import EXIT_BAD_INPUT, ConfigError

REPO = Path(__file__).resolve().parents[2]


def minimal(**sections):
    data = {"project": {"root_module": "modules/stack", "baseline": "modules/stack/production.tfvars",
                        "overrides": "modules/stack/staging.overrides.toml"}}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


def check(data, key, fragment, suggestion=None):
    with pytest.raises(ConfigError) as err:
        config.validate(data, source="staging.toml", base_dir=str(REPO))
    assert err.value.key == key
    assert fragment in str(err.value)
    assert str(err.value).startswith("staging.toml: ")
    assert err.value.suggestion == suggestion
    assert err.value.exit_code == EXIT_BAD_INPUT


def test_repository_config_loads():
    s = config.load(str(REPO / "staging.toml"))
    assert s.target.kind == "local"
    assert s.root_module == REPO / "modules/stack"
    assert s.module_tree == REPO / "modules"
    assert s.stacks.default_ttl_seconds == 48 * 3600


def test_defaults():
    s = config.validate(minimal(), base_dir=str(REPO))
    assert s.backend.locking == "lockfile"
    assert s.stacks.name_limit == 24
    assert s.engine.command == "embedded"


@pytest.mark.parametrize(("section", "values", "key", "suggestion"), [
    ("backend", {"buckt": "x"}, "backend.buckt", "bucket"),
    ("stacks", {"default_tl": "1h"}, "stacks.default_tl", "default_ttl"),
    ("target", {"regoin": "us-east-1"}, "target.regoin", "region"),
    ("engine", {"comand": "embedded"}, "engine.comand", "command"),
    ("project", {"baseline_file": "x"}, "project.baseline_file", "baseline"),
    ("registry", {"tabel": "x"}, "registry.tabel", "table"),
    ("zebra", {}, "zebra", None),
])
def test_unknown_keys_suggest(section, values, key, suggestion):
    check(minimal(**{section: values}), key, "unknown key", suggestion)


def test_unknown_section_suggests():
    data = minimal()
    data["targte"] = {}
    check(data, "targte", "unknown key", "target")


@pytest.mark.parametrize(("section", "values", "key", "fragment"), [
    ("stacks", {"name_limit": "long"}, "stacks.name_limit", "valid integer"),
    ("stacks", {"name_limit": 5}, "stacks.name_limit", "greater than or equal"),
    ("stacks", {"default_ttl": "forever"}, "stacks.default_ttl", "not a duration"),
    ("stacks", {"default_ttl": "30d"}, "stacks", "longer than max_ttl"),
    ("target", {"kind": "gcp"}, "target.kind", "'local' or 'aws'"),
    ("target", {"region": "mars-1"}, "target.region", "not an AWS region"),
    ("target", {"endpoint": "ftp://x"}, "target.endpoint", "not an http"),
    ("target", {"kind": "aws", "endpoint": "http://127.0.0.1:1"}, "target", "for the local emulator"),
    ("target", {"profile": "prod"}, "target", "for kind = 'aws'"),
    ("backend", {"bucket": "Bad_Bucket"}, "backend.bucket", "not a valid S3 bucket"),
    ("backend", {"key_prefix": "../escape"}, "backend.key_prefix", "without '..'"),
    ("backend", {"locking": "hope"}, "backend.locking", "'lockfile', 'dynamodb' or 'none'"),
    ("backend", {"locking": 1}, "backend.locking", "'lockfile', 'dynamodb' or 'none'"),
    ("target", {"endpoint": 5}, "target.endpoint", "must be a valid string, got an integer"),
    ("retry", {"initial_wait": 700}, "retry.initial_wait", "less than or equal to 600"),
    ("cost", {"prices": {"vcpu_hour": -1}}, "cost.prices", "'vcpu_hour' must be a number >= 0"),
    ("registry", {"table": "no spaces"}, "registry.table", "not a valid DynamoDB table"),
    ("engine", {"command": "/nonexistent/terraform"}, "engine.command", "not an executable"),
    ("project", {"baseline": "missing.tfvars"}, "project.baseline", "does not exist"),
])
def test_bad_values_name_the_key(section, values, key, fragment):
    check(minimal(**{section: values}), key, fragment)


def test_a_table_given_as_a_value_names_the_table():
    check({**minimal(), "target": "us-east-1"}, "target", "must be a valid table, got a string")


def test_missing_required_key():
    data = minimal()
    del data["project"]["overrides"]
    check(data, "project.overrides", "required key is missing")


def test_top_level_must_be_table():
    with pytest.raises(ConfigError, match="top level"):
        config.validate(["not", "a", "table"], source="staging.toml")


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(str(tmp_path / "nope.toml"))
    bad = tmp_path / "staging.toml"
    bad.write_text("[project\nroot_module = 1")
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        config.load(str(bad))
    assert err.value.path == str(bad)


def test_found_in_parent_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv(config.CONFIG_ENV, raising=False)
    (tmp_path / "staging.toml").write_text("")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert config.find_config(cwd=sub) == tmp_path / "staging.toml"
    monkeypatch.setenv(config.CONFIG_ENV, str(tmp_path / "staging.toml"))
    assert config.find_config(cwd=Path("/")) == tmp_path / "staging.toml"


def test_not_found_says_where(tmp_path, monkeypatch):
    monkeypatch.delenv(config.CONFIG_ENV, raising=False)
    with pytest.raises(ConfigError, match="no staging.toml in"):
        config.find_config(cwd=tmp_path)


@pytest.mark.parametrize(("text", "seconds"), [("48h", 172800), ("30m", 1800), ("7d", 604800),
                                              ("1w", 604800), ("90s", 90), (60, 60)])
def test_durations(text, seconds):
    assert config.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0h", "-1h", "1y", "h", "", True, 0])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        config.parse_duration(text)
