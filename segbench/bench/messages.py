"""A worker in another process, as messages: what the process launcher and the Ray fleet share.

The worker side (`stream_model`) measures one model and sends each event as a plain tuple through
whatever carries it (a pipe to a child process, a queue actor to a Ray driver):

    ("started", label, min_iters, point-tuple | None)   ("sample", index, seconds)   ("note", text)
    ("measured", record-dict, telemetry)   then one of ("interrupted",) ("input_error", class, text)
    ("crash", description), and always ("done",) last.

The launcher side (`Received`) turns them back into records written to the sink and calls to the
observer, and remembers which points came back, so that what a dead worker did not hand back
becomes rows (`unfinished_rows`) or is measured again elsewhere (`left_to_measure`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import astuple
from typing import Any

from segbench.bench.observer import Observer
from segbench.bench.plan import Plan, Point
from segbench.bench.point import Context, Measured, failed_record
from segbench.bench.sink import ResultsSink
from segbench.bench.worker import run_model
from segbench.errors import Interrupted, SegbenchError
from segbench.measure.oom import describe_failure
from segbench.records.schema import Record

Put = Callable[[tuple], None]


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


def stream_model(plan_data: dict[str, Any], model: str, run_id: str, put: Put, *, samples: bool = True,
                 done: Iterable[tuple] = (), environment: dict[str, Any] | None = None) -> None:
    """Measure one model in this process, every event and record through `put`, ending with "done".

    `done`: points (as tuples) measured already by an earlier attempt, left out. `environment`:
    entries added to every record's environment (a fleet node's identity)."""
    plan = Plan.from_dict(plan_data)
    observer = MessageObserver(put, samples)
    try:
        for measured in run_model(plan, model, observer, run_id, done=frozenset(Point(*p) for p in done)):
            if environment:
                measured.record.environment.update(environment)
            put(("measured", measured.record.to_dict(), measured.telemetry))
    except (Interrupted, KeyboardInterrupt):
        put(("interrupted",))
    except SegbenchError as exc:
        put(("input_error", type(exc).__name__, str(exc)))
    except Exception as exc:  # noqa: BLE001 - a bug in one model's worker is a row, not the end of the run
        put(("crash", describe_failure(exc)))
    put(("done",))


class Received:
    """What a launcher has heard from one worker: the points that came back (and their status), the
    point in progress, and how the worker ended."""

    def __init__(self) -> None:
        self.seen: dict[Point, str] = {}
        self.current: tuple[Point | None, str] = (None, "")
        self.interrupted = False
        self.finished = False
        self.failure: tuple[type[SegbenchError], str] | None = None
        self.crash: str | None = None  # a Python error that ended the worker
        self.last: Record | None = None  # the latest record: its environment is the worker's

    def take(self, message: tuple, sink: ResultsSink, observer: Observer) -> None:
        kind = message[0]
        if kind == "started":
            self.current = (Point(*message[3]) if message[3] else None, message[1])
            observer.point_started(message[1], message[2])
        elif kind == "sample":
            observer.sample(message[1], message[2])
        elif kind == "note":
            observer.note(message[1])
        elif kind == "measured":
            record = Record.from_dict(message[1])
            self.seen[point_of(record)] = record.status
            self.current = (None, "")
            self.last = record
            observer.record(sink.write(Measured(record, message[2])))
        elif kind == "interrupted":
            self.interrupted = True
        elif kind == "input_error":
            self.failure = (error_class(message[1]), message[2])
        elif kind == "crash":
            self.crash = message[1]
        elif kind == "done":
            self.finished = True

    def raise_failure(self) -> None:
        """The worker's own verdict: the user's input was wrong, or Ctrl-C reached it."""
        if self.failure is not None:
            raise self.failure[0](self.failure[1])
        if self.interrupted:
            raise Interrupted("interrupted")


def point_of(record: Record) -> Point:
    return Point(record.model, record.workload, record.precision, int(record.batch_size), record.execution_label)


def _stopped(seen: dict[Point, str]) -> set[tuple[str, str, str]]:
    """Sweeps an OOM ended: their larger batch sizes would not have been tried."""
    return {(p.workload, p.precision, p.execution) for p, status in seen.items() if status == "oom"}


def left_to_measure(plan: Plan, model: str, seen: dict[Point, str], device: Any) -> list[Point]:
    """The model's points on `device` that neither came back nor were ruled out by an OOM."""
    stopped = _stopped(seen)
    return [p for p in plan.points(device) if p.model == model and p not in seen
            and (p.workload, p.precision, p.execution) not in stopped]


def unfinished_rows(plan: Plan, model: str, received: Received, how: str, run_id: str, *, device: Any = None,
                    environment: dict[str, Any] | None = None) -> list[Measured]:
    """Rows for what a dead worker did not hand back: the point it was in `error`, the rest `skipped`
    (except batch sizes past one that ran out of memory, which the sweep would not have tried).
    `device` and `environment` are the worker's where known (a fleet node), else this process's."""
    from segbench.measure.device import resolve_device
    from segbench.records.environment import fingerprint

    device = device if device is not None else resolve_device(plan.device)
    environment = environment if environment is not None else fingerprint(device)
    ctx = Context(plan, device, environment, run_id, observer=None)  # type: ignore[arg-type]
    point, label = received.current
    rows: list[Measured] = []
    for p in left_to_measure(plan, model, received.seen, device):
        if p == point:
            status, error = "error", f"the worker process {how} while measuring {label}"
        else:
            status, error = "skipped", f"not measured: the worker process {how}" + (f" at {label}" if label else "")
        rows.append(Measured(failed_record(ctx, model, p.workload, p.precision, p.batch_size, status, error,
                                           p.execution)))
    return rows


def error_class(name: str) -> type[SegbenchError]:
    import segbench.errors as errors

    found = getattr(errors, name, SegbenchError)
    return found if isinstance(found, type) and issubclass(found, SegbenchError) else SegbenchError
