"""The test command's environment, built from a stack's outputs (a pure function)."""

from __future__ import annotations

import pytest

from provisioner.aws.clients import Aws
from provisioner.errors import BadInput
from provisioner.health import StackContext, aws_test_env, build_env
from provisioner.health.runner import _Tail, output_env, output_env_name, secret_values

AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}


@pytest.mark.parametrize(("name", "env_name"), [
    ("queue_url", "STAGING_OUTPUT_QUEUE_URL"),
    ("loadBalancer-dns", "STAGING_OUTPUT_LOADBALANCER_DNS"),
    ("db.host", "STAGING_OUTPUT_DB_HOST"),
    ("ünïcode", "STAGING_OUTPUT__N_CODE"),
    ("x2", "STAGING_OUTPUT_X2"),
])
def test_output_names(name, env_name):
    assert output_env_name(name) == env_name


@pytest.mark.parametrize(("value", "text"), [
    ("http://q/1", "http://q/1"),
    (8080, "8080"),
    (True, "true"),
    (None, "null"),
    (["subnet-1", "subnet-2"], '["subnet-1","subnet-2"]'),
    ({"b": 1, "a": "x"}, '{"a":"x","b":1}'),
])
def test_output_values_strings_as_is_others_as_json(value, text):
    assert output_env({"v": value}) == {"STAGING_OUTPUT_V": text}


def test_colliding_output_names_are_refused():
    with pytest.raises(BadInput) as err:
        output_env({"queue-url": "a", "queue_url": "b"})
    assert "STAGING_OUTPUT_QUEUE_URL" in str(err.value)
    assert err.value.fields["outputs"] == ("queue-url", "queue_url")


def test_whole_environment():
    ctx = StackContext("login-3f1c2ab", "feature/login", 42, {"queue_url": "http://q/1", "port": 80})
    inherit = {"PATH": "/usr/bin", "HOME": "/root", "AWS_PROFILE": "prod-admin",
               "STAGING_OUTPUT_OLD": "stale", "AWS_ENDPOINT_URL": "https://real"}
    env = build_env(ctx, aws_env=AWS_ENV, extra={"SMOKE_LEVEL": "2", "STAGING_BRANCH": "spoofed"},
                    inherit=inherit)
    assert env == {
        "PATH": "/usr/bin", "HOME": "/root", "SMOKE_LEVEL": "2",
        "STAGING_OUTPUT_QUEUE_URL": "http://q/1", "STAGING_OUTPUT_PORT": "80",
        "STAGING_STACK_ID": "login-3f1c2ab", "STAGING_BRANCH": "feature/login", "STAGING_PR": "42",
        **AWS_ENV,
    }


def test_no_pr_is_an_empty_string():
    assert build_env(StackContext("s", "b"), aws_env={})["STAGING_PR"] == ""


def test_aws_env_from_the_factory_names_the_emulator():
    env = aws_test_env(Aws(region="eu-west-1", endpoint="http://127.0.0.1:4566"))
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"] == "test"


def test_secret_values_skip_the_emulators_test_credentials():
    env = {"AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLE"}
    assert secret_values(env, ["short", "hunter2-but-longer"]) == ("IQoJb3JpZ2luX2VjEXAMPLE",
                                                                   "hunter2-but-longer")


def test_tail_masks_before_cutting():
    """A secret straddling the cut must not leave a piece of itself in the tail."""
    secret = "S3CR3T-VALUE-0123456789"
    tail = _Tail(keep=64 + len(secret))
    tail.data += ("x" * 100 + secret + "y" * 10).encode()
    # cut first, mask second would leave "56789" of the secret in the last 15 bytes
    assert tail.text(limit=15, secrets=(secret,)) == "xx***" + "y" * 10
    assert tail.text(limit=15, secrets=()) == "56789" + "y" * 10
