"""Ctrl-C and SIGTERM stop a run cleanly: the engine cancels what runs and cleans up, then we exit."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted:
    """Which signal stopped the run, if one did; `event` is what the engines watch."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.signal = 0

    @property
    def exit_status(self) -> int:
        """128 + the signal number (130 for Ctrl-C, 143 for SIGTERM), as shells report it."""
        return 128 + self.signal


@contextmanager
def stop_on_signals(event: threading.Event) -> Iterator[Interrupted]:
    """While inside, SIGINT and SIGTERM set `event` instead of killing the process; a second one does."""
    interrupted = Interrupted(event)
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def handler(number: int, frame: FrameType | None) -> None:
        if event.is_set():  # asked twice: stop waiting for the clean-up
            signal.signal(number, signal.SIG_DFL)
            signal.raise_signal(number)
        interrupted.signal = number
        event.set()

    for number in STOP_SIGNALS:
        signal.signal(number, handler)
    try:
        yield interrupted
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
