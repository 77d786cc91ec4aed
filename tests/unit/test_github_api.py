"""The GitHub client against a fake GitHub API served over HTTP on loopback (tests/github_fake.py)."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from github_fake import FakeGitHub

from provisioner.github.api import GitHubClient, GitHubError, RetryPolicy, api_url
from provisioner.github.comment import marker

REPO = "acme/shop"
MARK = marker("checkout-1a2b3c4")


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(gh, waits):
    policy = RetryPolicy(attempts=4, backoff=0.5, max_wait=10.0, sleep=waits.append)
    with GitHubClient("test-token", gh.url, policy=policy) as c:
        yield c


def test_one_comment_per_pr_created_then_updated_in_place(gh, client):
    assert client.upsert_comment(REPO, 7, MARK, MARK + "\nfirst")[0] == "created"
    how, comment = client.upsert_comment(REPO, 7, MARK, MARK + "\nsecond")
    assert how == "updated" and comment["body"].endswith("second")
    assert [c["body"] for c in gh.comments_on(REPO, 7)] == [MARK + "\nsecond"]
    assert len(gh.calls("POST", "/comments")) == 1 and len(gh.calls("PATCH")) == 1
    sent = gh.requests[0].headers
    assert sent["authorization"] == "Bearer test-token" and sent["x-github-api-version"] == "2022-11-28"
    assert sent["accept"] == "application/vnd.github+json"


def test_other_stacks_and_other_peoples_comments_are_left_alone(gh, client):
    gh.add_comment(REPO, 7, "LGTM")
    gh.add_comment(REPO, 7, marker("other-7654321") + "\nanother stack")
    gh.add_comment(REPO, 7, "quoting you:\n" + MARK)  # the marker, but not at the start
    forged = gh.add_comment(REPO, 7, MARK + "\nforged by a fork author",
                            user={"login": "mallory-x", "type": "User"}, association="CONTRIBUTOR")
    assert client.upsert_comment(REPO, 7, MARK, MARK + "\nours")[0] == "created"
    assert gh.comments[forged["id"]]["body"].endswith("forged by a fork author")
    assert len(gh.comments_on(REPO, 7)) == 5


def test_a_maintainers_token_comment_counts_as_ours(gh, client):
    mine = gh.add_comment(REPO, 7, MARK + "\nold", user={"login": "bob-maint", "type": "User"},
                          association="MEMBER")
    assert client.upsert_comment(REPO, 7, MARK, MARK + "\nnew")[0] == "updated"
    assert gh.comments[mine["id"]]["body"].endswith("new")


def test_update_only_does_not_create(gh, client):
    assert client.upsert_comment(REPO, 7, MARK, MARK + "\nx", create=False) == ("absent", None)
    assert gh.comments_on(REPO, 7) == []


def test_comments_are_found_across_pages(waits):
    with FakeGitHub(page_size=2) as gh:
        for i in range(5):
            gh.add_comment(REPO, 7, f"chatter {i}")
        ours = gh.add_comment(REPO, 7, MARK + "\nold")
        with GitHubClient("test-token", gh.url, policy=RetryPolicy(sleep=waits.append)) as c:
            assert c.upsert_comment(REPO, 7, MARK, MARK + "\nnew")[0] == "updated"
        assert gh.comments[ours["id"]]["body"].endswith("new")
        assert [r.query.get("page", "1") for r in gh.calls("GET")] == ["1", "2", "3"]


def test_pagination_never_follows_a_link_to_another_host(gh, client):
    gh.fail(200, body=[], headers={"Link": '<http://evil.example/steal?page=2>; rel="next"'}, method="GET")
    with pytest.raises(GitHubError, match="left the API host"):
        client.find_comment(REPO, 7, MARK)


def test_enterprise_base_path(waits):
    with FakeGitHub(prefix="/api/v3") as gh:
        with GitHubClient("test-token", gh.url + "/", policy=RetryPolicy(sleep=waits.append)) as c:
            c.upsert_comment(REPO, 7, MARK, MARK + "\nx")
        assert gh.requests[0].path == "/repos/acme/shop/issues/7/comments"


def test_retries_after_502_with_backoff(gh, client, waits):
    gh.fail(502, times=2)
    assert client.upsert_comment(REPO, 7, MARK, MARK + "\nx")[0] == "created"
    assert waits == [0.5, 1.0]
    assert len(gh.calls("GET")) == 3 and len(gh.comments_on(REPO, 7)) == 1


def test_secondary_rate_limit_honours_retry_after(gh, client, waits):
    gh.fail(403, headers={"Retry-After": "3"}, body={"message": "You have exceeded a secondary rate limit."},
            method="POST")
    client.upsert_comment(REPO, 7, MARK, MARK + "\nx")
    assert waits == [3.0]
    assert len(gh.calls("POST")) == 2 and len(gh.comments_on(REPO, 7)) == 1


def test_retry_after_is_capped(gh, client, waits):
    gh.fail(429, headers={"Retry-After": "3600"})
    gh.fail(429, headers={"Retry-After": formatdate(time.time() + 7200, usegmt=True)})
    client.pr_state(REPO, 7)
    assert waits == [10.0, 10.0]


def test_primary_rate_limit_exhausted_waits_for_the_reset(gh, client, waits):
    reset = int(time.time()) + 5
    gh.fail(403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
            body={"message": "API rate limit exceeded"})
    gh.add_pull(REPO, 7)
    assert client.pr_state(REPO, 7) == "open"
    assert len(waits) == 1 and 3.0 <= waits[0] <= 5.0


def test_a_plain_403_is_an_answer_not_retried(gh, client, waits):
    gh.fail(403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(GitHubError, match="403.*Resource not accessible") as err:
        client.upsert_comment(REPO, 7, MARK, MARK + "\nx")
    assert waits == [] and len(gh.requests) == 1
    assert "test-token" not in str(err.value)


def test_gives_up_after_the_configured_attempts(gh, client, waits):
    gh.fail(503, times=10)
    with pytest.raises(GitHubError, match=r"503.*gave up after 4 attempts"):
        client.pr_state(REPO, 7)
    assert len(gh.requests) == 4 and waits == [0.5, 1.0, 2.0]


def test_transport_errors_are_retried_then_reported(waits):
    with FakeGitHub() as gh:
        dead = gh.url
    with GitHubClient("t", dead, policy=RetryPolicy(attempts=2, backoff=0.01, sleep=waits.append)) as c:
        with pytest.raises(GitHubError, match="gave up after 2 attempts"):
            c.pr_state(REPO, 7)
    assert waits == [0.01]


def test_bad_token_is_reported(gh, waits):
    with GitHubClient("wrong", gh.url, policy=RetryPolicy(sleep=waits.append)) as c:
        with pytest.raises(GitHubError, match="401.*Bad credentials"):
            c.pr_state(REPO, 7)


def test_deployment_with_statuses(gh, client):
    dep = client.create_deployment(REPO, ref="6dcb09b5", environment="staging/checkout-1a2b3c4",
                                   description="staging stack " + "x" * 300)
    client.create_deployment_status(REPO, dep, "in_progress", log_url="https://github.com/acme/shop/actions/runs/1")
    client.create_deployment_status(REPO, dep, "success", environment_url="https://c.staging.acme.test")
    assert gh.statuses(dep) == ["in_progress", "success"]
    body = gh.calls("POST", "/deployments")[0].body
    assert body["environment"] == "staging/checkout-1a2b3c4" and body["transient_environment"] is True
    assert body["production_environment"] is False and body["required_contexts"] == []
    assert len(body["description"]) == 140
    final = gh.deployments[dep]["_statuses"][-1]
    assert final["environment_url"] == "https://c.staging.acme.test"
    other = client.create_deployment(REPO, ref="abc", environment="staging/other-7654321")
    listed = client.list_deployments(REPO, "staging/checkout-1a2b3c4")
    assert [d["id"] for d in listed] == [dep] and other != dep


@pytest.mark.parametrize("setup, expected", [
    ({"state": "open"}, "open"),
    ({"state": "closed"}, "closed"),
    ({"state": "closed", "merged": True}, "merged"),
    (None, "gone"),
])
def test_pr_state(gh, client, setup, expected):
    if setup is not None:
        gh.add_pull(REPO, 7, **setup)
    assert client.pr_state(REPO, 7) == expected


def test_repository_names_are_checked_before_any_request(gh, client):
    with pytest.raises(Exception, match="repository"):
        client.pr_state("acme/../../user", 7)
    assert gh.requests == []


def test_api_url_precedence():
    assert api_url("https://ghe.example/api/v3/", "https://x") == "https://ghe.example/api/v3"
    assert api_url(None, "https://ghe.example/api/v3") == "https://ghe.example/api/v3"
    assert api_url(None, None) == "https://api.github.com"


def test_a_split_comment_keeps_its_continuations_in_order_and_drops_old_ones(gh, client):
    from provisioner.github.comment import part_marker, parts_prefix
    from provisioner.github.publisher import GitHubPublisher

    slug = "checkout-1a2b3c4"
    pub = GitHubPublisher(client)
    gh.add_comment(REPO, 7, part_marker(slug, 2) + "\nforged", user={"login": "mallory", "type": "User"})
    bodies = [MARK + "\none", part_marker(slug, 2) + "\ntwo", part_marker(slug, 3) + "\nthree"]
    how = pub.comment(REPO, 7, slug, bodies, create=True)
    assert how.startswith("created") and how.endswith("(+2 continuation comments)")
    ours = [c["body"] for c in gh.comments_on(REPO, 7) if c["user"]["type"] == "Bot"]
    assert ours == bodies
    pub.comment(REPO, 7, slug, [MARK + "\nshort again"], create=True)   # the long parts go
    left = [c["body"] for c in gh.comments_on(REPO, 7)]
    assert left == [part_marker(slug, 2) + "\nforged", MARK + "\nshort again"]  # a stranger's stays
    assert len(gh.calls("DELETE", "/issues/comments/")) == 2
    assert parts_prefix(slug) not in MARK


def test_environments_are_read_and_deleted_by_their_encoded_name(gh, client):
    from provisioner.github.publisher import GitHubPublisher

    assert client.environment_exists(REPO, "staging/checkout-1a2b3c4") is False
    dep = client.create_deployment(REPO, ref="abc", environment="staging/checkout-1a2b3c4")
    assert dep and client.environment_exists(REPO, "staging/checkout-1a2b3c4") is True
    assert gh.calls("GET", "/environments/staging%2Fcheckout-1a2b3c4")
    gh.environment_admin = False
    said = GitHubPublisher(client).remove_environment(REPO, "staging/checkout-1a2b3c4")
    assert "may not delete environments (403)" in said
    gh.environment_admin = True
    assert client.delete_environment(REPO, "staging/checkout-1a2b3c4") is True
    assert client.delete_environment(REPO, "staging/checkout-1a2b3c4") is False
    assert (REPO, "staging/checkout-1a2b3c4") not in gh.environments


def test_a_body_past_githubs_limit_is_posted_as_continuations_the_fake_accepts(gh, client):
    from provisioner.domain.difference import Difference
    from provisioner.github.comment import CommentInput, render_comments
    from provisioner.github.publisher import GitHubPublisher

    slug = "checkout-1a2b3c4"
    many = [Difference(f"var_{i}", i * 10, i, "scale", "x" * 250) for i in range(3000)]
    bodies = render_comments(CommentInput(slug=slug, branch="b", status="ready", pr=7, differences=many))
    assert len(bodies) > 1
    how = GitHubPublisher(client).comment(REPO, 7, slug, bodies, create=True)
    assert f"(+{len(bodies) - 1} continuation comments)" in how
    posted = [c["body"] for c in gh.comments_on(REPO, 7)]
    assert posted == bodies                            # the fake refuses a body over 65,536 characters
    assert sum(b.count("| scale |") for b in posted) == 3000


def test_a_pull_request_github_cannot_read_does_not_stop_a_preview(gh, client):
    from provisioner.github.publisher import GitHubPublisher

    pub = GitHubPublisher(client)
    gh.add_pull(REPO, 7, state="closed")
    assert pub.pr_open(REPO, 7) is False
    gh.fail(403, method="GET", path="/pulls/7")
    assert pub.pr_open(REPO, 7) is None            # cannot tell: the caller goes on
    gh.fail(403, method="GET", path="/environments/")
    assert pub.environment_exists(REPO, "staging/x-1234567") is None
