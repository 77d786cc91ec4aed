"""The cleanup's GitHub side, pure parts: the matrix it plans, the PR reason of a shared stack, and what
an apply's events say it did (the plan summary of the PR comment)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.domain.record import Record
from provisioner.terraform.events import parse_stream
from provisioner.usecases.cleanup import REPORT, TEARDOWN, Item, Plan, _pr_reason
from provisioner.usecases.notify import MATRIX_LIMIT, check_reason, matrix, plain_reason
from provisioner.usecases.spinup import applied_resources

TF = Path(__file__).resolve().parent / "fixtures" / "terraform"


def plan_of(n: int) -> Plan:
    items = [Item(f"s-{i:04d}", f"b/{i}", TEARDOWN, "expired") for i in range(n)]
    return Plan(tuple(items + [Item("drift-1234567", "b/d", REPORT, "config drift")]))


def test_matrix_lists_teardowns_only_with_their_reasons():
    entries, warnings = matrix(plan_of(3))
    assert entries == {"include": [{"slug": f"s-000{i}", "reason": "expired"} for i in range(3)]}
    assert warnings == []
    assert json.dumps(matrix(Plan(()))[0]) == '{"include": []}'


def test_matrix_is_capped_at_githubs_256_jobs_and_warns_about_the_rest():
    entries, [warning] = matrix(plan_of(300))
    assert MATRIX_LIMIT == 256 and len(entries["include"]) == 256
    assert entries["include"][-1] == {"slug": "s-0255", "reason": "expired"}
    assert warning.startswith("44 of 300 stacks to tear down are left for the next run")
    assert "s-0256" in warning


def test_a_shared_stack_outlives_each_closed_pr_until_the_last():
    states = {7: "merged", 8: "open", 9: "gone"}
    shared = Record(slug="x-1234567", branch="b", pr=7, open_prs=[7, 8])
    assert _pr_reason(shared, states.__getitem__) is None
    done = Record(slug="x-1234567", branch="b", pr=7, open_prs=[7, 9])
    assert _pr_reason(done, states.__getitem__) == "PR #7 merged, PR #9 gone"
    legacy = Record(slug="x-1234567", branch="b", pr=7)        # a record from before open_prs
    assert legacy.using_prs() == [7] and _pr_reason(legacy, states.__getitem__) == "PR #7 merged"


def test_applied_resources_reads_what_the_apply_did_by_address():
    lines = (TF / "apply_update.jsonl").read_text().splitlines()
    events, _, _, _ = parse_stream(lines)
    done = dict(applied_resources(events))
    assert done["terraform_data.one"] == "update"
    assert done["terraform_data.two"] == "replace"     # destroyed, then created again
    assert all(a not in ("noop", "read") for a in done.values())


def test_a_matrix_reason_is_one_printable_line_of_bounded_length():
    # a failed stack's reason quotes its error, which can hold Terraform's multi-line, coloured text
    error = "failed 30h ago: Error: creating S3 bucket\n\x1b[31m  on main.tf line 3\x1b[0m\t(x)"
    (entry,) = matrix(Plan((Item("s-1", "b", TEARDOWN, error),)))[0]["include"]
    assert entry["reason"] == "failed 30h ago: Error: creating S3 bucket [31m on main.tf line 3 [0m (x)"
    assert len(plain_reason("x" * 500)) == 200 and plain_reason("x" * 500).endswith("…")


@pytest.mark.parametrize("given,problem", [
    ("", "is empty"), ("   ", "is empty"), ("PR closed\nrm -rf /", "control character"),
    ("\x1b[2Jcleared", "control character"), ("x" * 201, "at most 200"),
])
def test_a_reason_given_by_hand_is_refused_saying_why(given, problem):
    with pytest.raises(ValueError, match=problem):
        check_reason(given)


def test_a_reason_given_by_hand_is_kept_as_written():
    assert check_reason("  moved to the shared QA stack, see #12 ") == "moved to the shared QA stack, see #12"
