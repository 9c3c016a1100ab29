"""A stop signal never lands in the middle of a database write: it is held until the batch is
stored, then raised (what the SIGTERM test in test_lifecycle.py exercises end to end)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from needle.pipeline.scan import ScanInterrupted, _Stopper

# signal handlers can only be set from the main thread; elsewhere a SIGTERM would end the run
pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers need the main thread",
)


def test_a_signal_during_a_write_is_raised_after_it() -> None:
    stopper = _Stopper()
    written = []
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with stopper.installed():
        with pytest.raises(ScanInterrupted) as stopped, stopper.writing():
            os.kill(os.getpid(), signal.SIGTERM)  # delivered here, held
            written.append("batch")  # the write goes on to its end
        assert written == ["batch"] and stopped.value.signum == signal.SIGTERM
        with pytest.raises(ScanInterrupted) as again:  # outside a write: at once
            os.kill(os.getpid(), signal.SIGINT)
        assert again.value.signum == signal.SIGINT
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_failed_write_keeps_the_stop_for_the_next_one() -> None:
    stopper = _Stopper()
    with stopper.installed():
        with pytest.raises(OSError), stopper.writing():
            os.kill(os.getpid(), signal.SIGTERM)
            raise OSError("disk full")
        with pytest.raises(ScanInterrupted), stopper.writing():
            pass
