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


def _says(fixed, idle_from, now, keep=False, live=True):
    return expiry.describe(expiry.clocks(fixed, idle_from, 0, keep, live, P), now)


def test_which_clock_applies_reads_right():
    assert _says(48 * H, 0, 60) == "in 23h59m (idle; 47h59m at most)"
    assert _says(30 * H, 20 * H, 20 * H) == "in 10h00m (fixed: the end of its ttl)"
    assert _says(48 * H, 0, 25 * H) == "expired (idle)"
    assert _says(10 * H, 0, 11 * H) == "expired (fixed)"
    assert _says(168 * H, 0, 60, keep=True) == "never (kept)"
    assert _says(48 * H, 0, 60, live=False) == "-"          # destroyed: no expiry at all
    assert expiry.span(150 * H) == "6d06h"


def test_a_plain_spinup_after_extend_keeps_the_extended_idle_clock():
    fixed, active = expiry.extended(0, 48 * H, 1 * H, 100 * H, P)   # extend --by 100h at 1h
    assert (fixed, active) == (148 * H, 124 * H)
    # spinup at 2h: the working record keeps max(now, active) as the idle start
    assert expiry.effective(expiry.fixed_expiry(0, 2 * H, None, P, current=fixed), max(2 * H, active),
                            0, False, P) == 148 * H


def test_cap_is_reported():
    assert expiry.at_cap(168 * H, 0, P) and not expiry.at_cap(167 * H, 0, P)
