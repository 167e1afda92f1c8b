"""A worker in another process, as messages: what the process launcher and the Ray fleet share.

The worker side (`stream_model`) measures one model and sends each event as a plain tuple through
whatever carries it (a pipe to a child process, a queue actor to a Ray driver):

    ("phase", load | warm-up | timed, point-tuple | None, label)
    ("started", label, min_iters, point-tuple | None)   ("sample", index, seconds)   ("note", text)
    ("measured", record-dict, telemetry)   then one of ("interrupted",) ("input_error", class, text)
    ("crash", description) ("timed_out", text), and always ("done",) last.

The launcher side (`Received`) turns them back into records written to the sink and calls to the
observer, and remembers which points came back and which point is in which phase since when, so
that a point past its time limit is stopped (`overdue`), and what a dead or stopped worker did not
hand back becomes rows (`unfinished_rows`) or is measured again (`left_to_measure`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import astuple
from typing import Any

from segbench.bench.observer import Observer
from segbench.bench.plan import Plan, Point
from segbench.bench.point import Context, Measured, failed_record
from segbench.bench.sink import ResultsSink
from segbench.bench.timeouts import TimedOut, timeout_text
from segbench.bench.worker import run_model
from segbench.errors import Interrupted, SegbenchError
from segbench.measure.oom import describe_failure
from segbench.records.schema import Record

Put = Callable[[tuple], None]
# The status `Received.seen` keeps for a point that timed out: like an OOM, it ends its batch sweep.
TIMED_OUT = "timed out"


class MessageObserver:
    """The worker's observer: every event becomes a message (records travel as "measured" ones)."""

    def __init__(self, put: Put, samples: bool = True) -> None:
        self.put = put
        self.samples = samples  # per-iteration samples are many; a remote driver does without them

    def point_started(self, label: str, min_iters: int, point: Point | None = None) -> None:
        self.put(("started", label, min_iters, astuple(point) if point else None))

    def sample(self, index: int, seconds: float) -> None:
        if self.samples:
            self.put(("sample", index, seconds))

    def record(self, record: Record) -> None:
        pass

    def note(self, text: str) -> None:
        self.put(("note", text))


def stream_model(plan_data: dict[str, Any] | Plan, model: str, run_id: str, put: Put, *, samples: bool = True,
                 done: Iterable[tuple] = (), environment: dict[str, Any] | None = None) -> None:
    """Measure one model in this process, every event and record through `put`, ending with "done".

    `done`: points (as tuples) measured already by an earlier attempt, left out. `environment`:
    entries added to every record's environment (a fleet node's identity)."""
    plan = plan_data if isinstance(plan_data, Plan) else Plan.from_dict(plan_data)
    observer = MessageObserver(put, samples)

    def on_phase(phase: str, point: Point | None, label: str) -> None:
        put(("phase", phase, astuple(point) if point else None, label))

    try:
        for measured in run_model(plan, model, observer, run_id, done=frozenset(Point(*p) for p in done),
                                  on_phase=on_phase):
            if environment:
                measured.record.environment.update(environment)
            put(("measured", measured.record.to_dict(), measured.telemetry))
    except (Interrupted, KeyboardInterrupt):
        put(("interrupted",))
    except SegbenchError as exc:
        put(("input_error", type(exc).__name__, str(exc)))
    except TimedOut as exc:  # the inline launcher's alarm, outside a point (a model that loads for ever)
        put(("timed_out", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - a bug (or sys.exit) in one model's worker is rows, not the end
        put(("crash", describe_failure(exc)))
    put(("done",))


def limit_of(plan: Plan) -> float | None:
    """A point's time limit in seconds (None: none). A soak's point runs for its minutes on top."""
    if not plan.point_timeout_s:
        return None
    soak = plan.soak.minutes * 60.0 + plan.soak.window_s if plan.kind == "soak" and plan.soak else 0.0
    return plan.point_timeout_s + soak


class Received:
    """What a launcher has heard from one worker: the points that came back (and their status), the
    point in progress, and how the worker ended."""

    def __init__(self) -> None:
        self.seen: dict[Point, str] = {}
        self.interrupted = False
        self.last: Record | None = None  # the latest record: its environment is the worker's
        self.restart()

    def restart(self) -> None:
        """A fresh worker goes on with what is left: forget how the last one ended, keep what it measured."""
        self.current: tuple[Point | None, str] = (None, "")
        self.phase = ""
        # When the current point (or load) began: its time limit counts from here. None until the worker
        # says it has begun (starting a process and importing torch is no point's time).
        self.since: float | None = None
        self.finished = False
        self.failure: tuple[type[SegbenchError], str] | None = None
        self.crash: str | None = None  # a Python error that ended the worker
        self.timed_out: str | None = None  # why the worker was stopped: its point passed the time limit
        # Why it died of a signal under the host RAM ceiling: native code that did not check an allocation.
        self.out_of_ram: str | None = None

    def overdue(self, limit_s: float | None) -> bool:
        """The current point (or load) has run past `limit_s`: say so in `timed_out` (the caller stops the worker)."""
        if (limit_s is None or self.since is None or self.finished or self.timed_out
                or time.monotonic() - self.since <= limit_s):
            return False
        self.timed_out = timeout_text(limit_s, self.phase or "load")
        return True

    def take(self, message: tuple, sink: ResultsSink, observer: Observer) -> None:
        kind = message[0]
        if kind == "phase":
            self.current = (Point(*message[2]) if message[2] else None, message[3])
            if message[1] != "timed":  # the timed phase goes on with the point that warmed up
                self.since = time.monotonic()
            self.phase = message[1]
        elif kind == "started":
            self.current = (Point(*message[3]) if message[3] else None, message[1])
            observer.point_started(message[1], message[2], self.current[0])
        elif kind == "sample":
            observer.sample(message[1], message[2])
        elif kind == "note":
            observer.note(message[1])
        elif kind == "measured":
            record = Record.from_dict(message[1])
            self.seen[point_of(record)] = record.status
            self.current, self.phase, self.since = (None, ""), "", time.monotonic()
            self.last = record
            observer.record(sink.write(Measured(record, message[2])))
        elif kind == "interrupted":
            self.interrupted = True
        elif kind == "input_error":
            self.failure = (error_class(message[1]), message[2])
        elif kind == "crash":
            self.crash = message[1]
        elif kind == "timed_out":
            self.timed_out = message[1]
        elif kind == "done":
            self.finished = True

    def raise_failure(self) -> None:
        """The worker's own verdict: the user's input was wrong, or Ctrl-C reached it."""
        if self.failure is not None:
            raise self.failure[0](self.failure[1])
        if self.interrupted:
            raise Interrupted("interrupted")


def point_of(record: Record) -> Point:
    from segbench.bench.sweeps import split

    return Point(record.model, record.workload, record.precision, int(record.batch_size),
                 *split(record.execution_label))


def _stopped(seen: dict[Point, str]) -> set[tuple[str, str, str]]:
    """Sweeps an OOM (or a time limit) ended: their larger batch sizes would not have been tried."""
    return {(p.workload, p.precision, p.label) for p, status in seen.items() if status in ("oom", TIMED_OUT)}


def left_to_measure(plan: Plan, model: str, seen: dict[Point, str], device: Any) -> list[Point]:
    """The model's points on `device` that neither came back nor were ruled out by an OOM."""
    stopped = _stopped(seen)
    return [p for p in plan.points(device) if p.model == model and p not in seen
            and (p.workload, p.precision, p.label) not in stopped]


def measured_already(plan: Plan, model: str, seen: dict[Point, str], device: Any) -> list[Point]:
    """The model's points a fresh worker leaves out: those that came back or were ruled out."""
    todo = set(left_to_measure(plan, model, seen, device))
    return [p for p in plan.points(device) if p.model == model and p not in todo]


def _row_context(plan: Plan, run_id: str, device: Any, environment: dict[str, Any] | None) -> Context:
    from segbench.measure.device import resolve_device
    from segbench.bench.environment import run_environment

    device = device if device is not None else resolve_device(plan.device)
    environment = environment if environment is not None else run_environment(device)
    return Context(plan, device, environment, run_id, observer=None)  # type: ignore[arg-type]


def stopped_row(plan: Plan, model: str, received: Received, run_id: str) -> Measured | None:
    """The row of the point a worker was measuring when it was stopped by the time limit (`error`) or
    died under the host RAM ceiling (`oom`); None: it was between points, or its record came back
    after all. The point's batch sweep is over, as after an OOM."""
    point = received.current[0]
    why = received.out_of_ram or received.timed_out
    if point is None or why is None or point in received.seen:
        return None
    status = "oom" if received.out_of_ram else "error"
    received.seen[point] = status if status == "oom" else TIMED_OUT
    ctx = _row_context(plan, run_id, None, None)
    return Measured(failed_record(ctx, model, point.workload, point.precision, point.batch_size, status, why,
                                  point.label))


def unfinished_rows(plan: Plan, model: str, received: Received, how: str, run_id: str, *, device: Any = None,
                    environment: dict[str, Any] | None = None) -> list[Measured]:
    """Rows for what a dead (or stopped) worker did not hand back: the point it was in (or loading
    for) `error`, the rest `skipped` (except batch sizes past one that ran out of memory, which the
    sweep would not have tried). `device` and `environment` are the worker's where known (a fleet
    node), else this process's."""
    ctx = _row_context(plan, run_id, device, environment)
    point, label = received.current
    rows: list[Measured] = []
    for p in left_to_measure(plan, model, received.seen, ctx.device):
        if p == point:
            status = "error"
            during = label if received.phase == "load" else f"measuring {label}"  # "loading X" / "measuring X b1"
            error = received.timed_out or f"the worker process {how} while {during}"
            if received.timed_out and label:
                error = f"{error}: {label}"
        else:
            status, error = "skipped", f"not measured: the worker process {how}" + (f" at {label}" if label else "")
        rows.append(Measured(failed_record(ctx, model, p.workload, p.precision, p.batch_size, status, error,
                                           p.label)))
    return rows


def error_class(name: str) -> type[SegbenchError]:
    import segbench.errors as errors

    found = getattr(errors, name, SegbenchError)
    return found if isinstance(found, type) and issubclass(found, SegbenchError) else SegbenchError
