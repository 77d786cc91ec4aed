import re

import pytest

from provisioner.domain.naming import DEFAULT_NAME_LIMIT, HASH_LEN, short_hash, stack_id, tag_value
from provisioner.errors import NamingError

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

# (branch, expected readable prefix or None when only the shape is checked)
BRANCHES = [
    ("main", "main"),
    ("demo", "demo"),
    ("feature/login-page", "login-page"),
    ("feat/JIRA-123_add-thing", "jira-123-add-thi"),
    ("bugfix/crash-on-save", "crash-on-save"),
    ("fix/typo", "typo"),
    ("users/alice/experiment", "alice-experiment"),
    ("refs/heads/release/2026.11", "release-2026-11"),
    ("release/v1.2.3", "release-v1-2-3"),
    ("dependabot/npm_and_yarn/lodash-4.17.21", "dependabot-npm-a"),
    ("renovate/major-aws-sdk", "renovate-major-a"),
    ("UPPER/Case/Branch", "upper-case-branc"),
    ("a", "a"),
    ("1234", "b-1234"),
    ("2026-hotfix", "b-2026-hotfix"),
    ("-leading-dash", "leading-dash"),
    ("trailing-dash-", "trailing-dash"),
    ("double--dash", "double-dash"),
    ("under_score", "under-score"),
    ("dots.in.name", "dots-in-name"),
    ("with space", "with-space"),
    ("tab\there", "tab-here"),
    ("new\nline", "new-line"),
    ("../../etc/passwd", "etc-passwd"),
    ("..", "b"),
    ("/", "b"),
    ("---", "b"),
    ("!!!@@@###", "b"),
    ("$(rm -rf /)", "rm-rf"),
    ("`whoami`", "whoami"),
    ("a;b&&c|d", "a-b-c-d"),
    ("'; DROP TABLE envs; --", "drop-table-envs"),
    ("<script>alert(1)</script>", "script-alert-1-s"),
    ("{{ 7*7 }}", "b-7-7"),
    ("${jndi:ldap://x}", "jndi-ldap-x"),
    ("café/naïve", "cafe-naive"),
    ("日本語ブランチ", "b"),
    ("emoji-🚀-launch", "emoji-launch"),
    ("Ω≈ç√", "c"),
    ("x" * 300, "x" * (DEFAULT_NAME_LIMIT - HASH_LEN - 1)),
    ("feature/" + "long-" * 60, None),
    ("a/" * 100, None),
    ("%2e%2e%2f", "b-2e-2e-2f"),
    ("\\windows\\path", "windows-path"),
    ("null\x01byte-ish", "null-byte-ish"),
]


@pytest.mark.parametrize(("branch", "readable"), BRANCHES)
def test_slug_shape_and_prefix(branch, readable):
    sid = stack_id(branch)
    assert SLUG.match(sid.slug), sid.slug
    assert len(sid.slug) <= DEFAULT_NAME_LIMIT
    assert sid.slug.endswith("-" + short_hash(branch))
    assert sid.branch == branch
    if readable is not None:
        assert sid.slug == f"{readable}-{short_hash(branch)}"
    # the longest role still fits AWS's 32-character load balancer names
    assert len(sid.resource_name("abcdefg")) <= 32


def test_table_is_large_enough():
    assert len(BRANCHES) >= 40


def test_deterministic():
    assert stack_id("feature/x") == stack_id("feature/x")


def test_all_slugs_distinct():
    slugs = {stack_id(b).slug for b, _ in BRANCHES}
    assert len(slugs) == len(BRANCHES)


@pytest.mark.parametrize(("a", "b"), [
    ("feature/a_b", "feature/a-b"), ("Main", "main"), ("x" * 300, "x" * 301), ("a/b", "a.b"),
    ("..", "/"), ("日本", "中国"),
])
def test_branches_that_slug_alike_get_different_ids(a, b):
    assert stack_id(a).slug != stack_id(b).slug


@pytest.mark.parametrize("bad", ["", "   ", None, "\n\t", "a\x00b", "x" * 2000])
def test_refused(bad):
    with pytest.raises(NamingError):
        stack_id(bad)


@pytest.mark.parametrize("limit", [10, 16, 24, 40, 63])
def test_limit_respected(limit):
    for branch, _ in BRANCHES:
        sid = stack_id(branch, limit=limit)
        assert len(sid.slug) <= limit and SLUG.match(sid.slug)


def test_limit_too_small_refused():
    with pytest.raises(NamingError, match="too small"):
        stack_id("main", limit=5)


def test_source_recorded_and_validated():
    assert stack_id("main", source="pr").source == "pr"
    with pytest.raises(NamingError, match="unknown branch source"):
        stack_id("main", source="carrier-pigeon")


def test_bad_role_refused():
    with pytest.raises(NamingError):
        stack_id("main").resource_name("Way-Too-Long")


@pytest.mark.parametrize(("raw", "clean"), [
    ("feature/x", "feature/x"), ("a b", "a b"), ("$(x)", "__x_"), ("日本", "__"), ("<>&", "___"),
])
def test_tag_value(raw, clean):
    assert tag_value(raw) == clean
    assert len(tag_value("y" * 500)) == 256
