"""Names people mistype: the nearest live branches, from the registry's records."""

from provisioner.domain.record import Record
from provisioner.domain.suggest import nearest

RECORDS = [Record(slug="feature-login-1a2b3c4", branch="feature/login", status="ready"),
           Record(slug="feature-logout-5d6e7f8", branch="feature/logout", status="ready"),
           Record(slug="fix-billing-0a0b0c0", branch="fix/billing", status="failed"),
           Record(slug="feature-logon-9f9f9f9", branch="feature/logon", status="destroyed")]


def test_nearest_live_branches_best_first():
    assert [r.branch for r in nearest("feature/logn", RECORDS)] == ["feature/login", "feature/logout"]
    assert [r.branch for r in nearest("fix/biling", RECORDS)] == ["fix/billing"]   # failed is live


def test_destroyed_and_far_names_are_not_suggested():
    assert "feature/logon" not in [r.branch for r in nearest("feature/logon", RECORDS)]
    assert nearest("totally-else", RECORDS) == []


def test_a_stack_id_matches_too():
    assert [r.branch for r in nearest("feature-login-1a2b3c", RECORDS)][:1] == ["feature/login"]
