"""A run plan (models x workloads x precisions x batch sizes) and its execution into records.

Each point is measured by the one harness and appended to the results file as soon as it is done,
so Ctrl-C, a crash in a later point or an OOM never loses what was measured. Failures are rows:
an OOM stops the batch from growing, any other error is recorded and the sweep goes on.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import torch

from segbench.errors import InputError, Interrupted, SegbenchError
from segbench.measure import stats as S
from segbench.measure.device import autocast, check_precision
from segbench.measure.flops import achieved
from segbench.measure.harness import Measurement, MeasureSettings, Timer, measure
from segbench.measure.memory import PeakMemory, ram_ceiling
from segbench.measure.oom import describe_failure, is_oom, release_memory
from segbench.models.base import LoadOptions
from segbench.models.registry import get_spec, load_model
from segbench.records.schema import Record
from segbench.records.store import append_records
from segbench.telemetry.sampler import TelemetrySampler
from segbench.workloads.base import Workload, WorkloadOptions
from segbench.workloads.registry import WORKLOADS, build_workload, check_inputs, purpose_of


@dataclass
class RunPlan:
    models: list[str]
    workloads: list[str]
    precisions: list[str]
    batch_sizes: list[int]
    device: torch.device
    output: Path
    weights: str = "auto"  # auto | pretrained | random
    checkpoint: str | None = None
    resolution: tuple[int, ...] | None = None  # model input size; None: each model's published size
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    options: WorkloadOptions = field(default_factory=WorkloadOptions)
    max_ram_bytes: int | None = None  # host RAM ceiling: allocations beyond it become an OOM result
    telemetry_interval_s: float | None = 0.1  # None: no telemetry
    count_flops: bool = True
    kind: str = "run"

    def points(self) -> int:
        return len(self.models) * len(self.workloads) * len(self.precisions) * len(self.batch_sizes)


class Observer(Protocol):
    """What the CLI hears while a sweep runs (progress bars, notes)."""

    def point_started(self, label: str, min_iters: int) -> None: ...
    def sample(self, index: int, seconds: float) -> None: ...
    def record(self, record: Record) -> None: ...
    def note(self, text: str) -> None: ...


class _Silent:
    def point_started(self, label: str, min_iters: int) -> None: ...
    def sample(self, index: int, seconds: float) -> None: ...
    def record(self, record: Record) -> None: ...
    def note(self, text: str) -> None: ...


def validate(plan: RunPlan) -> None:
    """Every name and number checked before any model loads."""
    if not plan.models:
        raise InputError("no model given")
    for workload in plan.workloads:
        if workload not in WORKLOADS:
            raise InputError(f"unknown workload '{workload}' (known: {', '.join(WORKLOADS)})")
    for name in plan.models:
        spec = get_spec(name)
        if not any(w in spec.workloads for w in plan.workloads):
            raise InputError(
                f"{name} does not support the workload(s) {', '.join(plan.workloads)} (it supports: {', '.join(spec.workloads)})"
            )
    for precision in plan.precisions:
        check_precision(plan.device, precision)
    if not plan.batch_sizes or any(b < 1 for b in plan.batch_sizes):
        raise InputError("batch sizes must be positive integers")
    if plan.checkpoint and len(plan.models) > 1:
        raise InputError("--checkpoint names one model's weights; give exactly one --model with it")
    checked = set()
    for name in plan.models:
        spec = get_spec(name)
        for workload in plan.workloads:
            if workload in spec.workloads and (workload, spec.family) not in checked:
                checked.add((workload, spec.family))
                check_inputs(workload, spec.family, plan.options)


def execute(plan: RunPlan, environment: dict[str, Any], observer: Observer | None = None) -> list[Record]:
    """Run every point of a plan that passed `validate`, appending each record to `plan.output` as it completes."""
    observer = observer or _Silent()
    run_id = uuid.uuid4().hex[:12]
    done: list[Record] = []
    for model_name in plan.models:
        spec = get_spec(model_name)
        workloads = [w for w in plan.workloads if w in spec.workloads]
        skipped = [w for w in plan.workloads if w not in spec.workloads]
        if skipped:
            observer.note(f"{model_name}: skipping workload(s) it does not support: {', '.join(skipped)}")
        for purpose, group in _by_purpose(workloads, spec.family):
            loaded, failure = _setup(lambda: load_for(plan, model_name, purpose, observer))
            if failure:  # the model itself does not fit: a result, and on to the next
                _failed_setup(plan, model_name, group, failure, "loading the model", environment, run_id, observer, done)
                continue
            for workload_name in group:
                workload, failure = _setup(lambda: build_workload(workload_name, loaded, plan.device, plan.options))
                if failure:  # e.g. a volume too large to hold
                    _failed_setup(plan, model_name, [workload_name], failure, "preparing the workload", environment,
                                  run_id, observer, done)
                    continue
                for note in workload.notes:
                    observer.note(note)
                flops = _flops(workload, plan, observer)
                for precision in plan.precisions:
                    _sweep_batches(plan, workload, precision, flops, environment, run_id, observer, done)
                workload = None  # its inputs and predictor state go before the next workload is built
            # Nothing may still point at the model, or the next one loads beside it on the device.
            loaded = workload = None
            release_memory()
    return done


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


def _failed_setup(plan: RunPlan, model_name: str, workloads: list[str], failure: str, during: str,
                  environment: dict[str, Any], run_id: str, observer: Observer, done: list[Record]) -> None:
    """A model or workload that cannot even be set up (out of memory) is recorded as a row at the
    smallest batch size for each workload and precision, and the sweep moves on."""
    spec = get_spec(model_name)
    status, error = "oom", f"while {during}: {failure}"
    records = [
        Record(model=model_name, workload=w, precision=p, batch_size=min(plan.batch_sizes), device=str(plan.device),
               status=status, error=error, kind=plan.kind, weights=plan.weights, model_family=spec.family,
               settings=plan.settings.to_dict(), environment=environment, run_id=run_id)
        for w in workloads
        for p in plan.precisions
    ]
    release_memory()
    append_records(plan.output, records)
    done.extend(records)
    for record in records:
        observer.record(record)
    observer.note(f"{model_name}: out of memory while {during}; skipped {', '.join(workloads)}")


def _by_purpose(workloads: list[str], family: str) -> list[tuple[str, list[str]]]:
    """SAM 2.1 builds a different predictor for video; group workloads by what they need built."""
    groups: dict[str, list[str]] = {}
    for workload in workloads:
        groups.setdefault(purpose_of(workload, family), []).append(workload)
    return list(groups.items())


def _flops(workload: Workload, plan: RunPlan, observer: Observer) -> int | None:
    if not plan.count_flops:
        return None
    try:
        with torch.inference_mode():
            return workload.count_flops_per_item()
    except Exception as exc:  # counting is a bonus; never fail a run over it
        observer.note(f"{workload.model.spec.name}/{workload.name}: FLOPs not counted ({type(exc).__name__}: {exc})")
        return None


def _sweep_batches(plan, workload, precision, flops, environment, run_id, observer, done) -> None:
    largest_ok = None
    for batch_size in plan.batch_sizes:
        if not workload.supports_batch_size(batch_size):
            observer.note(
                f"{workload.model.spec.name}/{workload.name}: batch size {batch_size} does not apply; skipped"
            )
            continue
        record = _measure_point(plan, workload, precision, batch_size, flops, environment, run_id, observer)
        append_records(plan.output, [record])
        done.append(record)
        observer.record(record)
        if record.status == "interrupted":
            raise Interrupted(
                f"interrupted: {len(done) - 1} finished record(s) and the interrupted one kept in {plan.output}"
            )
        if record.status == "ok":
            largest_ok = batch_size
        if record.status == "oom":
            fit = f"the largest that fit was {largest_ok}" if largest_ok else "no batch size fit"
            observer.note(
                f"{workload.model.spec.name}/{workload.name}/{precision}: out of memory at batch {batch_size}; {fit}"
            )
            break


def new_record(
    plan: RunPlan, workload: Workload, precision: str, batch_size: int, environment: dict[str, Any], run_id: str
) -> Record:
    """A record for one point, with everything known before measuring."""
    model = workload.model
    return Record(
        model=model.spec.name,
        workload=workload.name,
        precision=precision,
        batch_size=batch_size,
        device=str(plan.device),
        kind=plan.kind,
        weights=model.weights,
        checkpoint=model.checkpoint,
        model_family=model.spec.family,
        input=workload.input_info(),
        params=workload.params(),
        settings=workload.settings_for(plan.settings).to_dict(),
        environment=environment,
        run_id=run_id,
    )


def load_for(plan: RunPlan, model_name: str, purpose: str, observer: Observer):
    """Load a model for the plan and say which weights it got."""
    loaded = load_model(
        model_name, LoadOptions(plan.device, plan.weights, plan.checkpoint, plan.resolution, purpose=purpose)
    )
    weights_note = "pretrained weights" if loaded.weights == "pretrained" else "random weights (timing only)"
    observer.note(f"{model_name}: {weights_note}" + (f" from {loaded.checkpoint}" if loaded.checkpoint else ""))
    for note in loaded.notes:
        observer.note(f"{model_name}: {note}")
    return loaded


def _measure_point(plan, workload, precision, batch_size, flops, environment, run_id, observer) -> Record:
    record = new_record(plan, workload, precision, batch_size, environment, run_id)
    settings = workload.settings_for(plan.settings)
    observer.point_started(f"{record.model} {workload.name} {precision} b{batch_size}", settings.min_iters)
    measurement = Measurement()
    peak = PeakMemory(plan.device)
    telemetry = sampler_for(plan.device, plan.telemetry_interval_s) if plan.telemetry_interval_s else None
    try:
        with ram_ceiling(plan.max_ram_bytes), peak, torch.inference_mode(), autocast(plan.device, precision):
            step = workload.prepare(batch_size)
            with telemetry or contextlib.nullcontext():
                measurement = measure(step, Timer(plan.device), settings, on_sample=observer.sample)
        record.memory = peak.result()
        record.metrics = workload.metrics(measurement)
        record.status = "interrupted" if measurement.interrupted else "ok"
    except KeyboardInterrupt:
        record.status = "interrupted"
    except SegbenchError:
        raise  # the user's input is wrong (a prompt off the image...): say so, do not record it as a run
    except Exception as exc:
        record.status = "oom" if is_oom(exc) else "error"
        record.error = describe_failure(exc)
        record.memory = peak.result()
    if record.status in ("oom", "error"):
        release_memory()  # after the except block: its traceback no longer holds the failed step's tensors
    workload.release()
    record.notes = list(workload.notes)
    record.samples_s = measurement.samples_s
    fill_stats(record, workload, measurement, flops)
    if telemetry is not None:
        attach_telemetry(record, telemetry, plan.output, observer)
    return record


def sampler_for(device: torch.device, interval_s: float) -> TelemetrySampler:
    """Telemetry of what does the work: the GPU in use (not every card), and the host."""
    on_gpu = device.type == "cuda"
    return TelemetrySampler(interval_s, gpus=on_gpu, cuda_index=(device.index or 0) if on_gpu else None)


def attach_telemetry(record: Record, telemetry: TelemetrySampler, output: Path, observer: Observer) -> None:
    """Summary into the record, samples into the sidecar, and a warning when the device throttled."""
    if not telemetry.samples:
        return
    telemetry.stop()  # already stopped unless prepare() failed; stop() is idempotent
    telemetry.write_sidecar(output, record.id)
    record.telemetry = telemetry.summary()
    if record.telemetry.get("throttled"):
        reasons = ", ".join(sorted(record.telemetry.get("throttle_s", {}))) or "unknown"
        record.notes.append(f"the device throttled during this measurement ({reasons}): these numbers understate it")
        observer.note(f"warning: {record.model} {record.workload} b{record.batch_size} throttled ({reasons})")


def fill_stats(record: Record, workload: Workload, measurement: Measurement, flops: int | None) -> None:
    items = workload.items_per_step(record.batch_size)
    latency = S.summarize(measurement.samples_s)
    record.stats = {"latency_s": latency, "item_unit": workload.item_unit, "items_per_step": items}
    if latency["n"]:
        record.stats["per_item_latency_s"] = S.scaled(latency, items)
        record.stats["items_per_s"] = items / latency["median"] if latency["median"] > 0 else None
        record.stats["warmup_s"] = measurement.warmup_s
        if S.is_noisy(latency):
            record.notes.append(f"noisy timings: IQR is {latency['iqr_rel']:.0%} of the median")
    flops_per_step = workload.flops_per_step(record.batch_size, flops)
    record.flops = {"per_item": flops, **achieved(flops_per_step, latency.get("median"), _peak_tflops(record))}


def _peak_tflops(record: Record) -> float | None:
    """The device's peak for this precision from the GPU catalog, where the device is in it."""
    if not record.device.startswith("cuda"):
        return None
    try:
        from segbench.advisor.catalog import load_catalog

        match = load_catalog().match(str(record.environment.get("hardware", "")))
        return match.spec.peak_tflops(record.precision)
    except Exception:
        return None
