"""support.parallel: calls run at once, every one runs to its end, and no failure is lost."""

from __future__ import annotations

import threading
import time

import pytest

from provisioner.errors import AwsError
from provisioner.support.parallel import MAX_THREADS, gather, pair, settle


def test_values_come_back_in_the_order_given_and_the_calls_overlap():
    barrier = threading.Barrier(3, timeout=5)  # passes only when all three wait at once

    def call(n: int):
        return lambda: (barrier.wait(), n)[1]

    assert gather([call(1), call(2), call(3)]) == [1, 2, 3]


def test_the_first_failure_is_raised_with_the_others_as_notes_after_every_call_ended():
    finished = []

    def slow_ok():
        time.sleep(0.2)
        finished.append("slow")
        return "ok"

    def iam():
        raise AwsError("cannot list IAM roles and their tags: ServiceUnavailable")

    def rds():
        raise AwsError("cannot list DB subnet groups: Throttling")

    with pytest.raises(AwsError, match="list IAM roles") as caught:
        gather([slow_ok, iam, rds])
    assert finished == ["slow"], "a failure does not leave another call running behind the caller's back"
    assert any("DB subnet groups" in note for note in caught.value.__notes__)


def test_settle_hands_back_each_outcome_without_raising():
    def boom():
        raise RuntimeError("state not deleted")

    state, record = settle([boom, lambda: "written"])
    assert isinstance(state.error, RuntimeError) and state.value is None
    assert record.error is None and record.value == "written"


def test_pair_and_a_bounded_pool():
    assert pair(lambda: 1, lambda: "b") == (1, "b")
    running, peak, lock = [0], [0], threading.Lock()

    def call():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    settle([call] * (MAX_THREADS * 3))
    assert peak[0] <= MAX_THREADS
