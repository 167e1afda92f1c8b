"""Launchers: where a plan's models are measured. Records always come back to one sink.

- `inline`: every model in this process, one after the other (notebooks, tests, debugging).
- `process`: each model's points in a fresh process (the optimum-benchmark habit). A segfault, an
  abort, a leak or a CUDA context left broken by one model ends that process only: the point it was
  measuring (or loading the model for) becomes an `error` row, the model's remaining points
  `skipped` rows, and the next model starts clean. Ctrl-C (or SIGTERM to this process) reaches the
  worker, whose interrupted point is kept with everything before it.

A point's time limit (`Plan.point_timeout_s`): the process launcher kills a worker whose point (or
model load) runs past it; the point becomes an `error` row "timed out after N s (in the load |
warm-up | timed phase)", and a fresh worker goes on with the model's other points (a load that
timed out leaves them `skipped`: loading again would time out again). Inline, a SIGALRM raises in
the point instead (see `segbench.bench.timeouts`: Python code is stopped, a native call only when it
returns); off the main thread the limit cannot be enforced inline, and a note says so.

A worker dies with its parent: a parent-death signal (Linux), and a thread that watches the parent
everywhere, so a `kill -9` of `segbench run` leaves no worker measuring on. The worker's fd 1 points
at stderr while it measures, so a model that prints cannot corrupt `run --json`'s stdout.

The worker process is started with multiprocessing's "spawn" method, so it imports segbench
afresh; families added with `register()` are not there, while those named in `$SEGBENCH_FAMILIES`
are (it is inherited). The messages between the two are `segbench.bench.messages`'s, which the
Ray fleet (`segbench.fleet`) speaks too; the inline launcher reads the same messages in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import astuple
from functools import partial
from typing import Any, Protocol

from segbench.bench.messages import (
    Received,
    left_to_measure,
    limit_of,
    measured_already,
    stream_model,
    stopped_row,
    unfinished_rows,
)
from segbench.bench.observer import Observer
from segbench.bench.plan import Plan
from segbench.bench.sink import ResultsSink
from segbench.bench.timeouts import PointAlarm
from segbench.bench.worker_process import die_with_parent, prints_to_stderr

# After Ctrl-C, how long the worker gets to hand back its interrupted point before it is killed.
GRACE_S = 30.0

# One worker run until it ends: (what it told so far, the points it leaves out) -> how it ended, for rows.
Attempt = Callable[[Received, list[tuple]], str]


class Launcher(Protocol):
    name: str

    def launch(self, plan: Plan, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        """Measure every model of `plan`, each record written to `sink` (and told to `observer`) as it comes."""


def measure_model(plan: Plan, model: str, sink: ResultsSink, observer: Observer, run_id: str,
                  attempt: Attempt) -> None:
    """One model's points, one worker (`attempt`) after another until each is measured or a row: a
    point stopped by the time limit in its warm-up or timed phase is an `error` row (one whose worker
    died of a signal under the host RAM ceiling an `oom` row) and a fresh worker goes on with the rest;
    a worker that dies, fails, or is stopped while loading leaves rows for what it did not hand back."""
    received = Received()
    while True:
        done = [astuple(p) for p in measured_already(plan, model, received.seen, None)] if received.seen else []
        how = attempt(received, done)
        received.raise_failure()
        if (received.timed_out or received.out_of_ram) and received.phase in ("warm-up", "timed"):
            row = stopped_row(plan, model, received, run_id)
            if row is not None:
                observer.record(sink.write(row))
                observer.note(f"{model}: {received.current[1]}: {row.record.error}")
                if left_to_measure(plan, model, received.seen, None):
                    received.restart()
                    continue  # a fresh worker for the model's remaining points
                return
        if received.timed_out is not None or received.crash is not None or not received.finished:
            for measured in unfinished_rows(plan, model, received, how, run_id):
                observer.record(sink.write(measured))
            observer.note(f"{model}: the worker process {how}; its unmeasured points are rows")
        return


class InlineLauncher:
    name = "inline"

    def launch(self, plan: Plan, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        with PointAlarm(plan.point_timeout_s) as alarm:
            if plan.point_timeout_s and not alarm.enforced:
                observer.note("--point-timeout is not enforced: the inline launcher can stop a point only "
                              "from the main thread (use --launcher process)")
            for model in plan.models:
                measure_model(plan, model, sink, observer, run_id,
                              partial(self._attempt, plan, model, sink, observer, run_id, alarm))

    @staticmethod
    def _attempt(plan: Plan, model: str, sink: ResultsSink, observer: Observer, run_id: str, alarm: PointAlarm,
                 received: Received, done: list[tuple]) -> str:
        def put(message: tuple) -> None:
            alarm.heard(message)
            received.take(message, sink, observer)

        with prints_to_stderr():  # a model's prints must not reach the records on stdout (run --json)
            stream_model(plan, model, run_id, put, done=done)
        if received.timed_out is not None:
            return "was stopped (time limit)"
        return f"failed ({received.crash})" if received.crash is not None else "ended early"


class ProcessLauncher:
    name = "process"

    def launch(self, plan: Plan, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        for model in plan.models:
            measure_model(plan, model, sink, observer, run_id, partial(self._attempt, plan, model, sink, observer, run_id))

    @staticmethod
    def _attempt(plan: Plan, model: str, sink: ResultsSink, observer: Observer, run_id: str,
                 received: Received, done: list[tuple]) -> str:
        context = multiprocessing.get_context("spawn")
        # A pipe, not a Queue: a Queue hands messages to a feeder thread, and a worker that aborts right
        # after measuring a point would take that point's record down with it. A pipe's send is written
        # when it returns.
        messages, worker_end = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(plan.to_dict(), model, run_id, worker_end, done, os.getpid()),
                                name=f"segbench-worker-{model}")
        child.start()
        worker_end.close()  # the worker holds the only writing end: end of file once it is gone
        limit = limit_of(plan)
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
                    elif received.overdue(limit):
                        child.kill()  # the rest of what it sent is still read, up to end of file
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
        if received.timed_out is not None:
            return "was killed (time limit)"
        if received.crash is not None:
            return f"failed ({received.crash})"
        how = _how(child.exitcode)
        if plan.max_ram_bytes and child.exitcode is not None and child.exitcode < 0 and not received.finished:
            ceiling = f"{plan.max_ram_bytes / 2**20:.0f} MiB"
            received.out_of_ram = (f"out of host memory under the --max-ram ceiling of {ceiling} (the worker "
                                   f"process {how}: native code that did not check an allocation)")
        return how


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


def _child(plan_data: dict[str, Any], model: str, run_id: str, connection: Any, done: list[tuple],
           parent: int) -> None:
    """The worker process: measure one model, send every event and record back, then say "done"."""
    from segbench.families.registry import quiet_warnings

    die_with_parent(parent)
    _take_first_interrupt_only()
    quiet_warnings()
    with prints_to_stderr():  # stdout is the parent's records channel (run --json)
        stream_model(plan_data, model, run_id, _Sender(connection).put, done=done)


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
