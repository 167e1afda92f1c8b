"""Launchers: where a plan's models are measured. Records always come back to one sink.

- `inline`: every model in this process, one after the other (notebooks, tests, debugging).
- `process`: each model's points in a fresh process (the optimum-benchmark habit). A segfault, an
  abort, a leak or a CUDA context left broken by one model ends that process only: the point it was
  measuring becomes an `error` row, the model's remaining points `skipped` rows, and the next model
  starts clean. Ctrl-C (or SIGTERM to this process) reaches the worker, whose interrupted point is
  kept with everything before it.

The worker process is started with multiprocessing's "spawn" method, so it imports segbench
afresh; families added with `register()` are not there, while those named in `$SEGBENCH_FAMILIES`
are (it is inherited). The messages between the two are `segbench.bench.messages`'s, which the
Ray fleet (`segbench.fleet`) speaks too.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Any, Protocol

from segbench.bench.messages import Received, stream_model, unfinished_rows
from segbench.bench.observer import Observer
from segbench.bench.plan import Plan
from segbench.bench.sink import ResultsSink
from segbench.bench.worker import run_model

# After Ctrl-C, how long the worker gets to hand back its interrupted point before it is killed.
GRACE_S = 30.0


class Launcher(Protocol):
    name: str

    def launch(self, plan: Plan, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        """Measure every model of `plan`, each record written to `sink` (and told to `observer`) as it comes."""


class InlineLauncher:
    name = "inline"

    def launch(self, plan: Plan, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        for model in plan.models:
            for measured in run_model(plan, model, observer, run_id):
                observer.record(sink.write(measured))


class ProcessLauncher:
    name = "process"

    def launch(self, plan: Plan, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        for model in plan.models:
            self._one(plan, model, sink, observer, run_id)

    def _one(self, plan: Plan, model: str, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        context = multiprocessing.get_context("spawn")
        # A pipe, not a Queue: a Queue hands messages to a feeder thread, and a worker that aborts right
        # after measuring a point would take that point's record down with it. A pipe's send is written
        # when it returns.
        messages, worker_end = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(plan.to_dict(), model, run_id, worker_end),
                                name=f"segbench-worker-{model}")
        child.start()
        worker_end.close()  # the worker holds the only writing end: end of file once it is gone
        received = Received()
        deadline: float | None = None
        while True:
            try:
                try:
                    message = messages.recv() if messages.poll(0.2) else None
                except EOFError:  # the worker is gone and everything it sent has been read
                    break
                if message is None:
                    if deadline is not None and time.monotonic() > deadline:
                        child.kill()
                    continue
                received.take(message, sink, observer)
            except KeyboardInterrupt:
                # Ctrl-C reaches the whole process group; SIGTERM only this process: tell the worker
                # either way (it takes only the first) and wait for its interrupted point; a second
                # Ctrl-C stops waiting.
                if received.interrupted and child.is_alive():
                    child.kill()
                elif child.is_alive() and child.pid is not None:
                    os.kill(child.pid, signal.SIGINT)
                received.interrupted = True
                deadline = time.monotonic() + GRACE_S
            if received.finished:
                break
        messages.close()
        child.join(GRACE_S)
        if child.is_alive():
            child.kill()
            child.join()
        received.raise_failure()
        if received.crash is not None or not received.finished:
            how = f"failed ({received.crash})" if received.crash is not None else _how(child.exitcode)
            for measured in unfinished_rows(plan, model, received, how, run_id):
                observer.record(sink.write(measured))
            observer.note(f"{model}: the worker process {how}; its unmeasured points are rows")


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"died of {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"died of signal {-exitcode}"
    return f"exited with code {exitcode}"


class _Sender:
    """The worker's end of the pipe; one message at a time, whichever thread sends it."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.lock = threading.Lock()

    def put(self, message: tuple) -> None:
        with self.lock:
            self.connection.send(message)


def _child(plan_data: dict[str, Any], model: str, run_id: str, connection: Any) -> None:
    """The worker process: measure one model, send every event and record back, then say "done"."""
    from segbench.families.registry import quiet_warnings

    _take_first_interrupt_only()
    quiet_warnings()
    stream_model(plan_data, model, run_id, _Sender(connection).put)


def _take_first_interrupt_only() -> None:
    """Ctrl-C reaches the worker from the terminal and again from the launcher: the second one must
    not interrupt the worker while it records the first."""
    state = {"seen": False}

    def handler(signum: int, frame: Any) -> None:
        if not state["seen"]:
            state["seen"] = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)


LAUNCHERS: dict[str, Launcher] = {"inline": InlineLauncher(), "process": ProcessLauncher()}
