"""Hardening items 6, 7 and 9 as tables: production guard spellings, identifiers spread over a value
or in what is handed to Terraform besides the variables, and the local emulator's endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner import config
from provisioner.errors import ConfigError, RefusedError, RenderError
from provisioner.render.guards import check_handed, find_identifier
from provisioner.render.model import Guards
from provisioner.safety import guard

REPO = Path(__file__).resolve().parents[2]


def settings(production=None, backend=None, target=None):
    data = {"project": {"root_module": "modules/stack", "baseline": "modules/stack/production.tfvars",
                        "overrides": "modules/stack/staging.overrides.toml"},
            "production": production or {}, "backend": backend or {}}
    if target:
        data["target"] = target
    return config.validate(data, source="staging.toml", base_dir=str(REPO))


@pytest.mark.parametrize("entry", ["acme-prod-tfstate", "s3://acme-prod-tfstate", "s3://acme-prod-tfstate/",
                                   "S3://ACME-PROD-TFSTATE", "ACME-Prod-TFState",
                                   "arn:aws:s3:::acme-prod-tfstate", "arn:aws-us-gov:s3:::acme-prod-tfstate"])
def test_every_spelling_of_a_production_bucket_protects_it(entry):
    s = settings({"state_buckets": [entry]}, {"bucket": "acme-prod-tfstate"})
    assert s.production.state_buckets == ("acme-prod-tfstate",)
    with pytest.raises(RefusedError):
        guard.check_state(s)


@pytest.mark.parametrize(("entry", "message"), [
    ("s3://acme-prod-tfstate/env/prod", "names a key prefix, not a bucket"),
    ("s3://", "not an S3 bucket"),
    ("not a bucket!", "not an S3 bucket"),
])
def test_a_state_bucket_that_is_not_one_is_refused_naming_the_entry(entry, message):
    with pytest.raises(ConfigError) as info:
        settings({"state_buckets": [entry]})
    assert "production.state_buckets" in str(info.value) and message in str(info.value)
    assert repr(entry) in str(info.value)


@pytest.mark.parametrize(("entry", "canonical", "key_prefix"), [
    ("S3://Staging-TFState/production", "s3://staging-tfstate/production", "production"),
    ("s3://staging-tfstate/production/", "s3://staging-tfstate/production", "production/x"),
    ("arn:aws:s3:::staging-tfstate/production", "s3://staging-tfstate/production", "production"),
    ("Production", "production", "production"),
    ("/Production/", "production", "production/eu"),
])
def test_every_spelling_of_a_production_prefix_covers_the_key(entry, canonical, key_prefix):
    s = settings({"state_prefixes": [entry]}, {"bucket": "staging-tfstate", "key_prefix": key_prefix})
    assert s.production.state_prefixes == (canonical,)
    with pytest.raises(RefusedError):
        guard.check_state(s)


def test_a_prefix_in_another_bucket_does_not_refuse():
    s = settings({"state_prefixes": ["S3://other-bucket/production"]},
                 {"bucket": "staging-tfstate", "key_prefix": "production"})
    guard.check_state(s)


@pytest.mark.parametrize(("value", "path"), [
    (["acme-", "corp.com"], "v (its items joined)"),
    ({"a": "acme", "b": "-corp.com"}, "v (its items joined)"),
    ({"Host": "api.ACME-corp.com"}, 'v["Host"]'),
    ({"acme-corp.com": "x"}, 'v["acme-corp.com"] (the key)'),
])
def test_identifiers_are_found_inside_and_across_a_value(value, path):
    assert find_identifier(value, ("acme-corp.com",), "v") == (path, "acme-corp.com")


def test_identifiers_in_tags_provider_or_backend_settings_are_refused_naming_where():
    guards = Guards(identifiers=("acme-corp.com", "111111111111"), source="staging.toml")
    with pytest.raises(RenderError) as info:
        check_handed({"provider default_tags": {"staging:owner": "acme-prod 111111111111"}}, guards)
    assert info.value.exit_code == 2
    assert 'provider default_tags["staging:owner"]' in str(info.value) and "111111111111" in str(info.value)
    check_handed({"provider default_tags": {"staging:owner": "alice"}, "backend settings": {"b": "x"}},
                 guards)


@pytest.mark.parametrize("endpoint", ["http://169.254.169.254", "https://s3.amazonaws.com",
                                      "http://10.1.2.3:4566"])
def test_a_local_endpoint_off_loopback_needs_allow_remote_emulator(endpoint):
    with pytest.raises(ConfigError) as info:
        settings(target={"endpoint": endpoint})
    assert "not on loopback" in str(info.value) and "allow_remote_emulator" in str(info.value)
    assert settings(target={"endpoint": endpoint, "allow_remote_emulator": True}).target.endpoint == endpoint


@pytest.mark.parametrize(("endpoint", "message"), [
    ("http://user:pw@127.0.0.1:5000", "credentials"),
    ("http://127.0.0.1:5000/some/path", "not an http(s) URL"),
    ("ftp://127.0.0.1", "not an http(s) URL"),
    ("http://127.0.0.1:99999", "bad port"),
])
def test_a_malformed_endpoint_is_refused(endpoint, message):
    with pytest.raises(ConfigError) as info:
        settings(target={"endpoint": endpoint, "allow_remote_emulator": True})
    assert message in str(info.value) and "target.endpoint" in str(info.value)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:5000", "http://localhost:5000/", "http://[::1]:5000",
                                      "http://127.8.9.10:1"])
def test_loopback_endpoints_are_accepted(endpoint):
    assert settings(target={"endpoint": endpoint}).target.endpoint == endpoint.rstrip("/")
