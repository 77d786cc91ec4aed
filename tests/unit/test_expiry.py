import pytest

from provisioner.domain import expiry

H = 3600
P = expiry.Policy(default_ttl=48 * H, max_ttl=168 * H, idle_ttl=24 * H)


def test_fixed_expiry_defaults_and_caps():
    assert expiry.fixed_expiry(0, 0, None, P) == 48 * H
    assert expiry.fixed_expiry(0, 0, 10 * H, P) == 10 * H
    assert expiry.fixed_expiry(0, 0, 500 * H, P) == 168 * H           # capped by max_ttl
    assert expiry.fixed_expiry(0, 100 * H, 100 * H, P) == 168 * H     # measured from creation


def test_a_later_spinup_keeps_the_fixed_expiry_unless_asked():
    assert expiry.fixed_expiry(0, 30 * H, None, P, current=48 * H) == 48 * H
    assert expiry.fixed_expiry(0, 30 * H, 4 * H, P, current=48 * H) == 34 * H


def test_idle_clock_resets_with_activity():
    assert expiry.effective(48 * H, None, 0, False, P) == 24 * H        # idle first
    assert expiry.effective(48 * H, 20 * H, 0, False, P) == 44 * H      # a spinup at 20h resets it
    assert expiry.effective(48 * H, 40 * H, 0, False, P) == 48 * H      # then the fixed one binds
    assert expiry.effective(48 * H, 40 * H, 0, True, P) is None         # kept: exempt


@pytest.mark.parametrize(("now", "active", "reason"), [
    (23 * H, None, None), (24 * H, None, "idle"), (30 * H, 20 * H, None), (45 * H, 20 * H, "idle"),
    (48 * H, 40 * H, "expired"), (47 * H, 40 * H, None),
])
def test_reason(now, active, reason):
    assert expiry.reason(48 * H, active, 0, False, now, P) == reason
    assert expiry.reason(48 * H, active, 0, True, now, P) is None


def test_extend_moves_both_clocks_and_is_capped():
    fixed, active = expiry.extended(0, 48 * H, 10 * H, 72 * H, P)
    assert fixed == 120 * H and active == 96 * H
    assert expiry.effective(fixed, active, 0, False, P) == 120 * H      # idling does not undercut it
    fixed, _ = expiry.extended(0, 48 * H, 10 * H, 500 * H, P)
    assert fixed == 168 * H
    fixed, active = expiry.extended(0, 5 * H, 10 * H, 2 * H, P)         # already past: from now
    assert fixed == 12 * H and active == 10 * H
