"""Time limits: a point's (`Plan.point_timeout_s`) and one on any blocking call.

The process launcher enforces a point's limit from outside, by killing the worker. In this process
(the inline launcher, a connect to a cluster) the only way to stop Python code is a signal: SIGALRM
raises `TimedOut` in the main thread at the next bytecode, so code stuck inside one native call is
stopped only when that call returns. Off the main thread no alarm can be set; the limit is then
not enforced, and the caller is told so.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

PHASES = ("load", "warm-up", "timed")


class TimedOut(BaseException):
    """The time limit passed. A BaseException: a model's own `except Exception` must not swallow it."""


def timeout_text(seconds: float, phase: str) -> str:
    """The error a timed-out point records."""
    return f"timed out after {seconds:g} s (in the {phase} phase)"


def can_alarm() -> bool:
    return hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()


class PointAlarm:
    """The inline launcher's limit on one point: armed again at every new point (or model load), it
    raises TimedOut in the point's phase when `seconds` pass. `with PointAlarm(s) as alarm:`."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.phase = ""
        self.enforced = bool(seconds) and can_alarm()
        self._kept: Any = None

    def __enter__(self) -> PointAlarm:
        if self.enforced:
            self._kept = signal.signal(signal.SIGALRM, self._fire)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enforced:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._kept)

    def _fire(self, signum: int, frame: Any) -> None:
        raise TimedOut(timeout_text(self.seconds or 0, self.phase))

    def heard(self, message: tuple) -> None:
        """Follow the worker's messages: a new point or load arms the alarm, a record disarms it."""
        if not self.enforced:
            return
        if message[0] == "phase":
            if message[1] != "timed":  # the timed phase continues the point that warmed up
                signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.phase = message[1]
        elif message[0] in ("measured", "done"):
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimedOut if the block runs longer than `seconds` (main thread; elsewhere unlimited)."""
    if not can_alarm():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise TimedOut(f"timed out after {seconds:g} s")

    kept = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, kept)
