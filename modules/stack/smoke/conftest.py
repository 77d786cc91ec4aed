"""Smoke tests of a staging stack of the example service, run by `[tests] command`.

The provisioner hands the stack in through the environment: every Terraform output as
STAGING_OUTPUT_<NAME>, the stack as STAGING_STACK_ID / STAGING_BRANCH / STAGING_PR, and AWS
region, credentials and (on the local emulator) AWS_ENDPOINT_URL, which boto3 reads by itself.
Nothing here knows whether it talks to the emulator or to a real account.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest


def staging(name: str) -> str:
    """An environment variable the provisioner sets; a clear failure when run without a stack."""
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through `provisioner test --branch B`, "
                    "which passes the stack's outputs in the environment", pytrace=False)
    return value


@pytest.fixture(scope="session")
def output() -> Callable[[str], str]:
    """output("queue_url") -> the stack's output of that name."""
    return lambda name: staging("STAGING_OUTPUT_" + name.upper())


@pytest.fixture(scope="session")
def stack_id() -> str:
    return staging("STAGING_STACK_ID")


@pytest.fixture(scope="session")
def aws() -> Callable[[str], Any]:
    import boto3

    session = boto3.Session()
    return lambda service: session.client(service)
