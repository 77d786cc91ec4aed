"""[health] and [tests] tables: what parses, and what each mistake is called."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from provisioner.config.health import AlarmsCheck, HttpCheck, SqsQueueCheck, TcpCheck, parse_seconds
from provisioner.errors import EXIT_BAD_INPUT, BadInput, ConfigError
from provisioner.health import parse_health, parse_tests

REPO = Path(__file__).resolve().parents[2]


def bad(data, key, fragment, suggestion=None, parse=parse_health):
    with pytest.raises(ConfigError) as err:
        parse(data, "staging.toml")
    assert err.value.key == key
    assert fragment in str(err.value)
    assert str(err.value).startswith(f"staging.toml: {key}: ")
    assert err.value.suggestion == suggestion
    assert isinstance(err.value, BadInput) and err.value.exit_code == EXIT_BAD_INPUT
    return err.value


def checks(**tables):
    return {"checks": tables}


def test_example_tables_parse():
    data = tomllib.loads((REPO / "staging.toml").read_text())
    spec = parse_health(data["health"], "staging.toml")
    assert [c.name for c in spec.checks] == ["queue", "table", "bucket", "alarms", "web"]
    web = spec.checks[-1]
    assert isinstance(web, HttpCheck) and web.optional and web.timeout == 5.0 and web.wait == 10.0
    assert isinstance(spec.checks[3], AlarmsCheck) and spec.checks[3].prefix is None
    tests = parse_tests(data["tests"], "staging.toml")
    assert tests.argv[:3] == ["python", "-m", "pytest"] and tests.timeout == 300.0


def test_defaults_and_order_kept():
    spec = parse_health(checks(b={"kind": "tcp", "address": "{{ outputs.host }}:5432"},
                               a={"kind": "sqs_queue", "queue_url": "{{ outputs.queue_url }}"}), "s")
    assert [type(c) for c in spec.checks] == [TcpCheck, SqsQueueCheck]
    assert spec.checks[0].name == "b" and spec.checks[0].attempts == 3 and spec.checks[0].timeout == 10.0
    assert spec.parallel == 8


@pytest.mark.parametrize(("table", "key", "suggestion"), [
    ({"kind": "http", "url": "x", "stauts": 200}, "health.checks.web.stauts", "status"),
    ({"kind": "http", "url": "x", "tiemout": 3}, "health.checks.web.tiemout", "timeout"),
    ({"kind": "sqs_queue", "queue_ulr": "x"}, "health.checks.web.queue_ulr", "queue_url"),
    # a key of another kind is unknown here, and named as such
    ({"kind": "tcp", "address": "h:1", "url": "x"}, "health.checks.web.url", None),
    ({"kind": "http", "url": "x", "name": "other"}, "health.checks.web.name", None),
])
def test_unknown_keys_suggest_the_nearest_of_that_kind(table, key, suggestion):
    bad(checks(web=table), key, "unknown key", suggestion)


def test_unknown_top_level_key():
    bad({"chekcs": {}}, "health.chekcs", "unknown key", "checks")


def test_unknown_kind_suggests():
    err = bad(checks(web={"kind": "htp", "url": "x"}), "health.checks.web.kind", "unknown kind 'htp'", "http")
    assert "dynamodb_table" in str(err)


def test_missing_kind_lists_kinds():
    bad(checks(web={"url": "x"}), "health.checks.web.kind", "required key is missing (one of http, tcp")


@pytest.mark.parametrize(("table", "key", "fragment"), [
    ({"kind": "http"}, "health.checks.web.url", "required key is missing"),
    ({"kind": "http", "url": "x", "status": "200"}, "health.checks.web.status", "must be int, got str"),
    ({"kind": "http", "url": "x", "status": 99}, "health.checks.web.status", "must be >= 100"),
    ({"kind": "http", "url": "x", "attempts": 0}, "health.checks.web.attempts", "must be >= 1"),
    ({"kind": "http", "url": "x", "timeout": 0}, "health.checks.web.timeout", "must be > 0"),
    ({"kind": "http", "url": "x", "timeout": "soon"}, "health.checks.web.timeout", "not a duration"),
    ({"kind": "http", "url": "x", "wait": True}, "health.checks.web.wait", "number of seconds"),
    ({"kind": "http", "url": "{{ outputs.x"}, "health.checks.web.url", "not a valid template"),
    ({"kind": "ecs_service", "cluster": "{% for %}", "service": "s"}, "health.checks.web.cluster",
     "not a valid template"),
])
def test_bad_values_name_the_key(table, key, fragment):
    bad(checks(web=table), key, fragment)


def test_bad_names_and_shapes():
    bad(checks(**{"has space": {"kind": "tcp", "address": "h:1"}}), "health.checks.has space", "check name")
    bad(checks(web="http://x"), "health.checks.web", "must be a table")
    bad({"checks": ["web"]}, "health.checks", "table of named checks")
    bad({"parallel": 0}, "health.parallel", "from 1 to 32")
    bad([], "health", "must be a table")


@pytest.mark.parametrize(("text", "seconds"), [(30, 30.0), (2.5, 2.5), ("500ms", 0.5), ("30s", 30.0),
                                                ("2m", 120.0), ("1h", 3600.0), (" 3 s ", 3.0)])
def test_durations(text, seconds):
    assert parse_seconds(text) == seconds


def test_tests_table():
    spec = parse_tests({"command": "pytest 'smoke tests/' -k \"not slow\"", "timeout": "10m",
                        "env": {"SMOKE_LEVEL": "2"}}, "s")
    assert spec.argv == ["pytest", "smoke tests/", "-k", "not slow"]
    assert spec.timeout == 600.0 and spec.tail_bytes == 4096


@pytest.mark.parametrize(("data", "key", "fragment", "suggestion"), [
    ({"command": "pytest", "timout": 5}, "tests.timout", "unknown key", "timeout"),
    ({}, "tests.command", "required key is missing", None),
    ({"command": "pytest 'smoke"}, "tests.command", "cannot split into arguments", None),
    ({"command": "   "}, "tests.command", "is empty", None),
    ({"command": "pytest", "env": {"BAD-NAME": "x"}}, "tests.env.BAD-NAME", "environment variable", None),
    ({"command": "pytest", "timeout": -1}, "tests.timeout", "must be > 0", None),
])
def test_tests_table_errors(data, key, fragment, suggestion):
    bad(data, key, fragment, suggestion, parse=parse_tests)


def test_settings_hold_the_health_and_tests_tables(tmp_path):
    from provisioner.config import validate

    data = tomllib.loads((REPO / "staging.toml").read_text())
    settings = validate(data, source="staging.toml", base_dir=str(REPO))
    assert [c.name for c in settings.health.checks] == ["queue", "table", "bucket", "alarms", "web"]
    assert settings.tests is not None and settings.tests.argv[:3] == ["python", "-m", "pytest"]
    bare = validate({k: v for k, v in data.items() if k not in ("health", "tests")}, base_dir=str(REPO))
    assert bare.health.checks == () and bare.tests is None
    bad = {**data, "health": {"checks": {"web": {"kind": "http", "url": "x", "stauts": 200}}}}
    with pytest.raises(ConfigError) as err:
        validate(bad, source="staging.toml", base_dir=str(REPO))
    assert err.value.exit_code == EXIT_BAD_INPUT
    assert "health.checks.web.stauts" in str(err.value) and "status" in str(err.value)
    with pytest.raises(ConfigError, match="tests: must be a table"):
        validate({**data, "tests": "pytest"}, source="staging.toml", base_dir=str(REPO))


@pytest.mark.parametrize("text", [
    "", "plain", "http://{{ outputs.x }}/h", "{{outputs.x}}", "{{ a }}{{ b.c }}", "a } b }} c", "{ x }",
    "x {", "{{ x.y.z }}", "{{ inx }}", "{{ not }}", "{{ if }}", "{{ a.if }}", "{{ x|upper }}", "{% if %}",
    "{# c #}", "{{- x }}", "{{ x", "{{{ x }}", "{{ 1 }}", "{{  x }}", "{{ x. y }}", "{{ x }", "{{ é }}",
    "{{ outputs['a'] }}", "{% raw %}{{ x {% endraw %}",
])
def test_the_templates_taken_without_jinja2_are_ones_jinja2_accepts(text):
    """The check skips Jinja2 (its import is ~30 ms of every command) only for text Jinja2 parses."""
    from jinja2 import TemplateSyntaxError

    from provisioner.config.health import is_simple_template
    from provisioner.support.templating import sandbox

    try:
        sandbox().parse(text)
        valid = True
    except TemplateSyntaxError:
        valid = False
    assert valid or not is_simple_template(text)
    if text in ("plain", "http://{{ outputs.x }}/h", "{{ a }}{{ b.c }}"):
        assert is_simple_template(text)   # the example's shapes take the fast path


def test_a_config_with_simple_templates_loads_no_jinja2():
    import subprocess
    import sys

    code = ("import sys; from provisioner.config.health import parse_health; "
            "parse_health({'checks': {'q': {'kind': 'sqs_queue', "
            "'queue_url': '{{ outputs.queue_url }}'}}}, 's'); "
            "print('jinja2' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
