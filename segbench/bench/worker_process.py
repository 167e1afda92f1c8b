"""What a worker does to its own process: die with its parent, and keep stdout for records.

A worker orphaned by a `kill -9` of `segbench run` would measure on for as long as its step takes,
holding the GPU. Linux kills it with its parent when asked (`prctl(PR_SET_PDEATHSIG)`); a thread
that watches the parent's pid does it everywhere else, and for the moment before the signal is set.

`run --json` prints the records on stdout: a model (or a library it calls) that prints to stdout
while it is measured must not mix into them, so fd 1 and `sys.stdout` point at stderr meanwhile.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_S = 1.0  # how often the watchdog looks for its parent


def die_with_parent(parent: int) -> None:
    """End this process when `parent` (the pid that started it) is gone."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still ends it, within WATCH_S
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="segbench-parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while True:
        time.sleep(WATCH_S)
        if os.getppid() != parent:  # re-parented: ours is gone
            os._exit(1)


def _flush_c_stdio() -> None:
    """What C code wrote with printf and has not flushed yet leaves now, through the fd it meant."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def prints_to_stderr() -> Iterator[None]:
    """For the block, anything written to stdout (Python's `print`, or C code's fd 1) goes to stderr."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout.flush()
    _flush_c_stdio()
    saved = os.dup(1)
    os.dup2(2, 1)
    kept, sys.stdout = sys.stdout, sys.stderr
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.flush()
        _flush_c_stdio()
        sys.stdout = kept
        os.dup2(saved, 1)
        os.close(saved)
