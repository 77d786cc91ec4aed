"""A signal that lands while a Terraform child is being started is passed on to it, not raised.

Raised at that point, the CLI left while the child it had just started ran on; the child then died
with the CLI (PDEATHSIG) holding the state lock, without the SIGINT that makes Terraform release it.
The signals here are real ones, sent to this process with the CLI's handlers installed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from provisioner.errors import Interrupted
from provisioner.support import interrupts

CHILD = textwrap.dedent("""
    import sys, time
    print("up", flush=True)
    try:
        time.sleep(30)
    except KeyboardInterrupt:
        sys.exit(42)
""")


@pytest.fixture
def handlers():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    interrupts.reset()
    interrupts.install()
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        interrupts._installed["on"] = False
        interrupts.reset()


def test_a_signal_while_a_child_is_being_started_reaches_the_child(handlers):
    with interrupts.spawning():
        os.kill(os.getpid(), signal.SIGTERM)       # lands before the child exists: remembered
        assert interrupts.requested() == signal.SIGTERM
        child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
        with interrupts.running(child):             # registered: the signal goes on as SIGINT
            code = child.wait(timeout=20)
    # SIGINT reached it: Python's KeyboardInterrupt (42), or the default action if it came very early
    assert code in (42, -signal.SIGINT), code
    with pytest.raises(Interrupted):
        interrupts.check(terraform_ran=True)


def test_without_a_child_starting_a_signal_is_raised_at_once(handlers):
    with pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):   # the handler runs between bytecodes of this thread
            pass
