"""GitHub event payloads (fixtures shaped like GitHub's documented webhook payloads) -> decisions."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from provisioner.config.schema import GitHub
from provisioner.domain.naming import stack_id
from provisioner.errors import BadInput
from provisioner.github.events import CLEANUP_NOTE, decide, parse_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"


def payload(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def event_name(fixture: str) -> str:
    return fixture.split(".")[0]


def decision(fixture: str, policy: GitHub | None = None, edit=None):
    data = payload(fixture)
    if edit:
        data = copy.deepcopy(data)
        edit(data)
    return decide(parse_event(event_name(fixture), data), policy or GitHub())


@pytest.mark.parametrize("fixture, action", [
    ("pull_request.opened", "spinup"),
    ("pull_request.reopened", "spinup"),
    ("pull_request.synchronize", "spinup"),
    ("pull_request.labeled", "keep"),
    ("pull_request.unlabeled", "unkeep"),
    ("pull_request.closed.merged", "teardown"),
    ("pull_request.closed.unmerged", "teardown"),
    ("pull_request.opened.draft", "skip"),
    ("pull_request.opened.fork", "skip"),
    ("pull_request.converted_to_draft", "teardown"),
    ("pull_request.ready_for_review", "spinup"),
    ("pull_request.edited", "skip"),
    ("pull_request.opened.release-base", "spinup"),
    ("pull_request.closed.release-base", "teardown"),
    ("workflow_dispatch", "spinup"),
    ("workflow_dispatch.teardown", "teardown"),
    ("schedule", "cleanup"),
])
def test_default_policy_decision_table(fixture, action):
    assert decision(fixture).action == action


def test_pull_request_fields_are_read_from_the_payload():
    d = decision("pull_request.synchronize")
    assert (d.repo, d.branch, d.pr, d.owner) == ("acme/shop", "feature/checkout-page", 7, "alice-dev")
    assert d.ref == payload("pull_request.synchronize")["after"]  # deployments point at the head commit
    assert d.title == "Add checkout page"


def test_closed_says_whether_it_was_merged():
    assert "(merged)" in decision("pull_request.closed.merged").reason
    assert "not merged" in decision("pull_request.closed.unmerged").reason


def test_fork_branch_is_qualified_with_its_owner():
    """A fork's `main` must never name (and so update or destroy) the base repository's `main` stack."""
    d = decision("pull_request.opened.fork", GitHub(allow_forks=True))
    assert d.action == "spinup"
    assert d.branch.startswith("mallory-x:x/")
    def fork_main(data):
        data["pull_request"]["head"].update(ref="main", label="mallory-x:main")
    forked = decision("pull_request.opened.fork", GitHub(allow_forks=True), fork_main)
    assert forked.branch == "mallory-x:main"
    assert stack_id(forked.branch).slug != stack_id("main").slug


def test_a_deleted_fork_counts_as_a_fork():
    def deleted(data):
        data["pull_request"]["head"]["repo"] = None
    assert decision("pull_request.opened.fork", edit=deleted).action == "skip"


def test_hostile_fork_branch_slugs_safely():
    d = decision("pull_request.opened.fork", GitHub(allow_forks=True))
    slug = stack_id(d.branch).slug
    assert slug.replace("-", "").isalnum() and slug == slug.lower() and len(slug) <= 24


def test_drafts_can_be_allowed():
    assert decision("pull_request.opened.draft", GitHub(skip_drafts=False)).action == "spinup"


def test_ready_for_review_spins_up_a_former_draft():
    def ready(data):
        data["action"] = "ready_for_review"
        data["pull_request"]["draft"] = False
    assert decision("pull_request.opened.draft", edit=ready).action == "spinup"


def test_label_gate():
    gated = GitHub(label="preview")
    assert decision("pull_request.opened", gated).action == "skip"
    def with_label(data):
        data["pull_request"]["labels"].append({"id": 1, "name": "preview"})
    assert decision("pull_request.opened", gated, with_label).action == "spinup"
    def label_added(data):
        with_label(data)
        data["label"] = {"id": 1, "name": "preview"}
    assert decision("pull_request.labeled", gated, label_added).action == "spinup"
    def label_removed(data):
        data["label"] = {"id": 1, "name": "preview"}
    assert decision("pull_request.unlabeled", gated, label_removed).action == "teardown"


def test_closed_tears_down_even_when_gated():
    assert decision("pull_request.closed.unmerged", GitHub(label="preview")).action == "teardown"


def test_other_labels_and_actions_are_skipped():
    def other_label(data):
        data["label"] = {"id": 2, "name": "bug"}
    assert decision("pull_request.labeled", edit=other_label).action == "skip"
    def edited(data):
        data["action"] = "edited"
    assert decision("pull_request.opened", edit=edited).action == "skip"


def test_keep_label_on_a_closed_pr_does_nothing():
    def closed(data):
        data["pull_request"]["state"] = "closed"
    assert decision("pull_request.labeled", edit=closed).action == "skip"


def test_keep_label_is_configurable():
    assert decision("pull_request.labeled", GitHub(keep_label="keep")).action == "skip"


def test_pull_request_target_reads_the_same_payload():
    d = decide(parse_event("pull_request_target", payload("pull_request.opened")), GitHub())
    assert d.action == "spinup"


def test_workflow_dispatch_inputs():
    d = decision("workflow_dispatch")
    assert (d.action, d.branch, d.owner, d.pr, d.ref) == ("spinup", "feature/checkout-page", "bob-maint",
                                                          None, "feature/checkout-page")
    def teardown(data):
        data["inputs"]["action"] = "teardown"
    assert decision("workflow_dispatch", edit=teardown).action == "teardown"



@pytest.mark.parametrize("fixture, message", [
    ("workflow_dispatch.no-action", "the input 'action' is missing"),
    ("workflow_dispatch.no-inputs", "the input 'action' is missing"),
    ("workflow_dispatch.tag", "is a tag"),
])
def test_workflow_dispatch_guesses_nothing(fixture, message):
    with pytest.raises(BadInput, match=message) as raised:
        decision(fixture)
    assert raised.value.exit_code == 2


def test_workflow_dispatch_needs_a_branch_and_never_falls_back_to_the_ref():
    def no_branch(data):
        del data["inputs"]["branch"]
    with pytest.raises(BadInput, match="the input 'branch' is missing"):
        decision("workflow_dispatch", edit=no_branch)
    def other_ref(data):
        data["inputs"]["branch"] = "refs/pull/7/merge"
    with pytest.raises(BadInput, match="not a branch"):
        decision("workflow_dispatch", edit=other_ref)
    def heads(data):
        data["inputs"]["branch"] = "refs/heads/feature/x"
    assert decision("workflow_dispatch", edit=heads).branch == "feature/x"


def test_workflow_dispatch_teardown_by_stack_id_alone():
    def by_stack(data):
        data["inputs"] = {"action": "teardown", "stack": "checkout-page-1a2b3c4"}
    d = decision("workflow_dispatch", edit=by_stack)
    assert (d.action, d.branch, d.slug) == ("teardown", None, "checkout-page-1a2b3c4")
    def spinup_by_stack(data):
        data["inputs"] = {"action": "spinup", "stack": "checkout-page-1a2b3c4"}
    with pytest.raises(BadInput, match="stack='checkout-page-1a2b3c4' is for teardown only") as refused:
        decision("workflow_dispatch", edit=spinup_by_stack)
    assert refused.value.exit_code == 2
    def both(data):   # the form requires a branch: the stack id, when given, names the stack exactly
        data["inputs"] = {"action": "teardown", "branch": "checkout-pag", "stack": "checkout-page-1a2b3c4"}
    d = decision("workflow_dispatch", edit=both)
    assert (d.action, d.branch, d.slug) == ("teardown", None, "checkout-page-1a2b3c4")
    assert "stack checkout-page-1a2b3c4" in d.reason


def test_converted_to_draft_follows_skip_drafts_and_keep():
    d = decision("pull_request.converted_to_draft")
    assert d.action == "teardown" and d.closing and "github.skip_drafts" in d.reason
    assert decision("pull_request.converted_to_draft", GitHub(skip_drafts=False)).action == "skip"
    def kept(data):
        data["pull_request"]["labels"].append({"name": "staging:keep"})
    assert decision("pull_request.converted_to_draft", edit=kept).action == "stale"


def test_prs_sharing_a_head_branch_share_the_stack():
    one, two = decision("pull_request.opened"), decision("pull_request.opened.release-base")
    assert one.branch == two.branch and (one.pr, two.pr) == (7, 8)
    assert decision("pull_request.closed.release-base").closing


def test_workflow_dispatch_refuses_an_unknown_action():
    def bad(data):
        data["inputs"]["action"] = "destroy-everything"
    with pytest.raises(BadInput, match="spinup, teardown"):
        decision("workflow_dispatch", edit=bad)


def test_schedule_does_nothing_and_says_where_cleanup_lives():
    d = decision("schedule")
    assert d.action == "cleanup" and not d.acts
    assert "provisioner cleanup" in CLEANUP_NOTE and d.reason == CLEANUP_NOTE


@pytest.mark.parametrize("name, data, message", [
    ("push", {"ref": "refs/heads/main"}, "not handled"),
    ("pull_request", [], "JSON object"),
    ("pull_request", {"action": "opened"}, "pull_request"),
    ("pull_request", {"action": "opened", "pull_request": {"number": "7"}}, "number"),
])
def test_unreadable_payloads_are_bad_input(name, data, message):
    with pytest.raises(BadInput, match=message):
        parse_event(name, data)


def test_a_hostile_repository_name_is_refused():
    data = copy.deepcopy(payload("pull_request.opened"))
    data["pull_request"]["base"]["repo"]["full_name"] = "acme/../../admin"
    with pytest.raises(BadInput, match="repository"):
        parse_event("pull_request", data)
