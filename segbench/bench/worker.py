"""The worker: measure one model's points of a plan in this process, and yield a record for each.

Every point is measured by the one harness; the records carry the environment of the process
that measured them. Failures are rows: an OOM stops the batch from growing, an OOM while loading
or preparing is a row, any other error is recorded and the sweep goes on (a point that raises
SystemExit or another BaseException too: a plugin's `sys.exit()` must not end the sweep silently).
Ctrl-C yields the interrupted point's record, then raises `Interrupted`. Writing is the sink's job,
running the worker in this or another process the launcher's.

The worker says which phase it is in through `on_phase(phase, point, label)`: "load" (a model, or
a workload's inputs, for the point named), "warm-up" (the point started), "timed" (its first timed
iteration is in). The launchers time a point's limit by it and name the phase a point timed out in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from segbench.bench.observer import Observer
from segbench.bench.plan import Plan, Point
from segbench.bench.point import Context, Measured, failed_record, load_for, measure_point, precisions
from segbench.bench.soak import soak
from segbench.bench.sweeps import split
from segbench.bench.timeouts import TimedOut
from segbench.errors import Interrupted, SegbenchError
from segbench.families.registry import build_workload, get_spec, purpose_of
from segbench.measure.device import resolve_device
from segbench.measure.oom import describe_failure, is_oom, release_memory
from segbench.bench.environment import run_environment
from segbench.records.schema import Record
from segbench.workloads.base import Workload

OnPhase = Callable[[str, "Point | None", str], None]


def no_phase(phase: str, point: Point | None, label: str) -> None:
    pass


class PhaseWatch:
    """The observer a worker measures through: everything goes on to `inner`, and `on_phase` hears
    when a point starts (warm-up) and when its first timed iteration is in (timed)."""

    def __init__(self, inner: Observer, on_phase: OnPhase) -> None:
        self.inner, self.on_phase = inner, on_phase
        self.current: tuple[Point | None, str] = (None, "")

    def point_started(self, label: str, min_iters: int, point: Point | None = None) -> None:
        self.current = (point, label)
        self.on_phase("warm-up", point, label)
        self.inner.point_started(label, min_iters, point)

    def sample(self, index: int, seconds: float) -> None:
        if index == 1:
            self.on_phase("timed", *self.current)
        self.inner.sample(index, seconds)

    def record(self, record: Record) -> None:
        self.inner.record(record)

    def note(self, text: str) -> None:
        self.inner.note(text)


def run_model(plan: Plan, model_name: str, observer: Observer, run_id: str,
              done: frozenset[Point] = frozenset(), on_phase: OnPhase = no_phase) -> Iterator[Measured]:
    """Every point of `plan` for one model, measured here, in order; those in `done` (measured by an
    earlier attempt that died or timed out) are left out."""
    device = resolve_device(plan.device)
    ctx = Context(plan, device, run_environment(device), run_id, PhaseWatch(observer, on_phase), done=done)
    if plan.kind == "soak":
        yield from soak(ctx, model_name, on_phase)
        return
    spec = get_spec(model_name)
    workloads = [w for w in plan.workloads if w in spec.workloads]
    skipped = [w for w in plan.workloads if w not in spec.workloads]
    if skipped:
        observer.note(f"{spec.name}: skipping workload(s) it does not support: {', '.join(skipped)}")
    if done:  # a retry loads only what it still has to measure
        todo = {p.workload for p in plan.points(device) if p.model == spec.name and p not in done}
        workloads = [w for w in workloads if w in todo]
    for purpose, group in _by_purpose(workloads, spec):
        on_phase("load", _first_point(ctx, spec.name, group), f"loading {spec.name}")
        loaded, failure = _setup(lambda: load_for(ctx, spec.name, purpose))
        if failure:  # the model itself does not fit: a result, and on to the next
            yield from _failed_setup(ctx, spec.name, group, failure, "loading the model")
            continue
        for workload_name in group:
            on_phase("load", _first_point(ctx, spec.name, [workload_name]), f"preparing {spec.name} {workload_name}")
            workload, failure = _setup(lambda: build_workload(workload_name, loaded, device, plan.options))
            if failure:  # e.g. a volume too large to hold
                yield from _failed_setup(ctx, spec.name, [workload_name], failure, "preparing the workload")
                continue
            for note in workload.notes:
                observer.note(note)
            for precision in precisions(plan, device):
                for execution in plan.variants():
                    yield from _sweep_batches(ctx, workload, precision, execution)
            workload = None  # its inputs and predictor state go before the next workload is built
        # Nothing may still point at the model, or the next one loads beside it on the device.
        loaded = workload = None
        release_memory()


def _first_point(ctx: Context, model_name: str, workloads: list[str]) -> Point | None:
    """The point that loading for `workloads` is for: the first still to measure (its row, should
    loading kill or hang the worker)."""
    return next((p for p in ctx.plan.points(ctx.device)
                 if p.model == model_name and p.workload in workloads and p not in ctx.done), None)


def _setup(make: Callable[[], Any]) -> tuple[Any, str | None]:
    """(what `make` built, None), or (None, the out-of-memory message). Anything else propagates.
    Memory is released by the caller, after the exception and its frames are gone."""
    try:
        return make(), None
    except SegbenchError:
        raise
    except Exception as exc:
        if not is_oom(exc):
            raise
        return None, describe_failure(exc)


def _failed_setup(ctx: Context, model_name: str, workloads: list[str], failure: str, during: str) -> Iterator[Measured]:
    """A model or workload that cannot even be set up (out of memory) is recorded as a row at the
    smallest batch size for each workload and precision, and the sweep moves on."""
    release_memory()
    for workload in workloads:
        for precision in precisions(ctx.plan, ctx.device):
            for execution in ctx.plan.variants():
                yield Measured(failed_record(ctx, model_name, workload, precision, min(ctx.plan.batch_sizes), "oom",
                                             f"while {during}: {failure}", execution))
    ctx.observer.note(f"{model_name}: out of memory while {during}; skipped {', '.join(workloads)}")


def _by_purpose(workloads: list[str], spec) -> list[tuple[str, list[str]]]:
    """A family may build a different predictor per workload (SAM 2.1's for video); group by what they need."""
    groups: dict[str, list[str]] = {}
    for workload in workloads:
        groups.setdefault(purpose_of(workload, spec), []).append(workload)
    return list(groups.items())


def _sweep_batches(ctx: Context, workload: Workload, precision: str, execution: str = "eager") -> Iterator[Measured]:
    largest_ok = None
    name = f"{workload.model.spec.name}/{workload.name}" + ("" if execution == "eager" else f"/{execution}")
    for batch_size in ctx.plan.batch_sizes:
        if Point(workload.model.spec.name, workload.name, precision, batch_size, *split(execution)) in ctx.done:
            continue
        if not workload.supports_batch_size(batch_size):
            ctx.observer.note(f"{name}: batch size {batch_size} does not apply; skipped")
            continue
        try:
            measured = measure_point(ctx, workload, precision, batch_size, execution)
        except (KeyboardInterrupt, SegbenchError):
            raise
        except BaseException as exc:  # noqa: BLE001 - sys.exit() in a model, or the inline time limit
            workload.release()
            release_memory()
            error = str(exc) if isinstance(exc, TimedOut) else describe_failure(exc)
            measured = Measured(failed_record(ctx, workload.model.spec.name, workload.name, precision, batch_size,
                                              "error", error, execution))
            ctx.observer.note(f"{name}/{precision}: batch {batch_size}: {error}")
            yield measured
            if isinstance(exc, TimedOut):  # a larger batch would take longer still
                break
            continue
        yield measured
        record = measured.record
        if record.status == "interrupted":
            raise Interrupted("interrupted")
        if record.status == "ok":
            largest_ok = batch_size
        if record.status == "oom":
            fit = f"the largest that fit was {largest_ok}" if largest_ok else "no batch size fit"
            ctx.observer.note(f"{name}/{precision}: out of memory at batch {batch_size}; {fit}")
            break


