"""Launchers: where a plan's models are measured. Records always come back to one sink.

- `inline`: every model in this process, one after the other (notebooks, tests, debugging).
- `process`: each model's points in a fresh process (the optimum-benchmark habit). A segfault, an
  abort, a leak or a CUDA context left broken by one model ends that process only: the point it was
  measuring becomes an `error` row, the model's remaining points `skipped` rows, and the next model
  starts clean. Ctrl-C (or SIGTERM to this process) reaches the worker, whose interrupted point is
  kept with everything before it.

The worker process is started with multiprocessing's "spawn" method, so it imports segbench
afresh; families added with `register()` are not there, while those named in `$SEGBENCH_FAMILIES`
are (it is inherited).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from dataclasses import astuple
from typing import Any, Protocol

from segbench.bench.observer import Observer
from segbench.bench.plan import Plan, Point
from segbench.bench.point import Context, Measured, failed_record
from segbench.bench.sink import ResultsSink
from segbench.bench.worker import run_model
from segbench.errors import Interrupted, SegbenchError
from segbench.measure.oom import describe_failure
from segbench.records.schema import Record

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
        seen: dict[Point, str] = {}  # measured points and their status
        current: tuple[Point | None, str] = (None, "")
        interrupted = finished = False
        failure: tuple[type[SegbenchError], str] | None = None
        crash: str | None = None  # a Python error that ended the worker
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
                kind = message[0]
                if kind == "started":
                    current = (Point(*message[3]) if message[3] else None, message[1])
                    observer.point_started(message[1], message[2])
                elif kind == "sample":
                    observer.sample(message[1], message[2])
                elif kind == "note":
                    observer.note(message[1])
                elif kind == "measured":
                    record = Record.from_dict(message[1])
                    seen[Point(record.model, record.workload, record.precision, int(record.batch_size),
                               record.execution_label)] = record.status
                    current = (None, "")
                    observer.record(sink.write(Measured(record, message[2])))
                elif kind == "interrupted":
                    interrupted = True
                elif kind == "input_error":
                    failure = (_error_class(message[1]), message[2])
                elif kind == "crash":
                    crash = message[1]
                elif kind == "done":
                    finished = True
            except KeyboardInterrupt:
                # Ctrl-C reaches the whole process group; SIGTERM only this process: tell the worker
                # either way (it takes only the first) and wait for its interrupted point; a second
                # Ctrl-C stops waiting.
                if interrupted and child.is_alive():
                    child.kill()
                elif child.is_alive() and child.pid is not None:
                    os.kill(child.pid, signal.SIGINT)
                interrupted = True
                deadline = time.monotonic() + GRACE_S
            if finished:
                break
        messages.close()
        child.join(GRACE_S)
        if child.is_alive():
            child.kill()
            child.join()
        if failure is not None:
            raise failure[0](failure[1])
        if interrupted:
            raise Interrupted("interrupted")
        if crash is not None or not finished:
            how = f"failed ({crash})" if crash is not None else _how(child.exitcode)
            for measured in _died(plan, model, seen, current, how, run_id):
                observer.record(sink.write(measured))
            observer.note(f"{model}: the worker process {how}; its unmeasured points are rows")


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"died of {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"died of signal {-exitcode}"
    return f"exited with code {exitcode}"


def _died(plan: Plan, model: str, seen: dict[Point, str], current: tuple[Point | None, str], how: str,
          run_id: str) -> list[Measured]:
    """Rows for what a dead worker did not hand back: the point it was in `error`, the rest `skipped`
    (except batch sizes past one that ran out of memory, which the sweep would not have tried)."""
    from segbench.measure.device import resolve_device
    from segbench.records.environment import fingerprint

    device = resolve_device(plan.device)
    ctx = Context(plan, device, fingerprint(device), run_id, observer=None)  # type: ignore[arg-type]
    stopped = {(p.workload, p.precision, p.execution) for p, status in seen.items() if status == "oom"}
    point, label = current
    rows: list[Measured] = []
    for p in plan.points(device):
        if p.model != model or p in seen or (p.workload, p.precision, p.execution) in stopped:
            continue
        if p == point:
            status, error = "error", f"the worker process {how} while measuring {label}"
        else:
            status, error = "skipped", f"not measured: the worker process {how}" + (f" at {label}" if label else "")
        rows.append(Measured(failed_record(ctx, model, p.workload, p.precision, p.batch_size, status, error,
                                           p.execution)))
    return rows


def _error_class(name: str) -> type[SegbenchError]:
    import segbench.errors as errors

    found = getattr(errors, name, SegbenchError)
    return found if isinstance(found, type) and issubclass(found, SegbenchError) else SegbenchError


class _Sender:
    """The worker's end of the pipe; one message at a time, whichever thread sends it."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.lock = threading.Lock()

    def put(self, message: tuple) -> None:
        with self.lock:
            self.connection.send(message)


class _PipeObserver:
    """The worker's side: every event goes to the launcher through the pipe."""

    def __init__(self, messages: _Sender) -> None:
        self.messages = messages

    def point_started(self, label: str, min_iters: int, point: Point | None = None) -> None:
        self.messages.put(("started", label, min_iters, astuple(point) if point else None))

    def sample(self, index: int, seconds: float) -> None:
        self.messages.put(("sample", index, seconds))

    def record(self, record: Record) -> None:
        pass  # records travel as "measured" messages

    def note(self, text: str) -> None:
        self.messages.put(("note", text))


def _child(plan_data: dict[str, Any], model: str, run_id: str, connection: Any) -> None:
    """The worker process: measure one model, send every event and record back, then say "done"."""
    from segbench.families.registry import quiet_warnings

    _take_first_interrupt_only()
    quiet_warnings()
    plan = Plan.from_dict(plan_data)
    messages = _Sender(connection)
    observer = _PipeObserver(messages)
    try:
        for measured in run_model(plan, model, observer, run_id):
            messages.put(("measured", measured.record.to_dict(), measured.telemetry))
    except Interrupted:
        messages.put(("interrupted",))
    except KeyboardInterrupt:
        messages.put(("interrupted",))
    except SegbenchError as exc:
        messages.put(("input_error", type(exc).__name__, str(exc)))
    except Exception as exc:  # noqa: BLE001 - a bug in one model's worker is a row, not the end of the run
        messages.put(("crash", describe_failure(exc)))
    messages.put(("done",))


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
