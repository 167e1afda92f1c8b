"""Measuring one point: the record with everything known before, the harness around the step, and
the statistics, FLOPs and telemetry after. The worker sweeps points with it; soak runs one for minutes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from segbench.backends.base import BackendUnavailable
from segbench.backends.execution import Execution, installed, parse_execution
from segbench.bench.observer import Observer
from segbench.bench.plan import Plan, Point
from segbench.bench.sweeps import Values, execution_record, label, split
from segbench.errors import SegbenchError
from segbench.families.base import LoadOptions
from segbench.families.registry import get_spec, load_model
from segbench.measure import stats as S
from segbench.measure.device import autocast, default_precision
from segbench.measure.fidelity import Capture, check, failure
from segbench.measure.flops import achieved
from segbench.measure.harness import Measurement, Timer, measure
from segbench.measure.memory import PeakMemory, ram_ceiling
from segbench.measure.oom import describe_failure, is_oom, release_memory
from segbench.records.schema import Record
from segbench.telemetry.sampler import TelemetrySampler, summarize
from segbench.workloads.base import Workload


@dataclass
class Measured:
    """One record, and the telemetry samples that go to its sidecar file."""

    record: Record
    telemetry: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Context:
    plan: Plan
    device: torch.device
    environment: dict[str, Any]
    run_id: str
    observer: Observer
    # (model, workload, precision, batch) -> eager seconds per item measured in this sweep: the base a
    # faster configuration's one-off cost is paid back against.
    eager_per_item: dict[tuple, float] = field(default_factory=dict)
    done: frozenset[Point] = frozenset()  # points an earlier attempt measured: not measured again


def precisions(plan: Plan, device: torch.device) -> list[str]:
    return list(dict.fromkeys(default_precision(device) if p == "auto" else p for p in plan.precisions))


def failed_record(ctx: Context, model: str, workload: str, precision: str, batch_size: int, status: str,
                  error: str, execution: str = "eager") -> Record:
    """A row for a point that could not be measured (what the launcher also writes for a dead worker)."""
    plan = ctx.plan
    return Record(model=model, workload=workload, precision=precision, batch_size=batch_size, device=str(ctx.device),
                  status=status, error=error, kind=plan.kind, weights=plan.weights,
                  model_family=get_spec(model).family, settings=plan.settings.to_dict(),
                  execution=execution_record(execution, plan.sweeps), environment=ctx.environment, run_id=ctx.run_id)


def new_record(ctx: Context, workload: Workload, precision: str, batch_size: int,
               execution: Execution = Execution(), values: Values = ()) -> Record:
    """A record for one point, with everything known before measuring."""
    model = workload.model
    return Record(
        model=model.spec.name,
        workload=workload.name,
        precision=precision,
        batch_size=batch_size,
        device=str(ctx.device),
        kind=ctx.plan.kind,
        weights=model.weights,
        checkpoint=model.checkpoint,
        model_family=model.spec.family,
        input=workload.input_info(),
        params=workload.params(),
        settings=workload.settings_for(ctx.plan.settings).to_dict(),
        execution=execution_record(label(execution.label, values), ctx.plan.sweeps),
        environment=ctx.environment,
        run_id=ctx.run_id,
    )


def load_for(ctx: Context, model_name: str, purpose: str):
    """Load a model for the plan and say which weights it got."""
    plan = ctx.plan
    resolution = plan.resolution or (get_spec(model_name).quick_resolution if plan.quick else None)
    loaded = load_model(model_name, LoadOptions(ctx.device, plan.weights, plan.checkpoint, resolution,
                                                purpose=purpose, classes=plan.classes,
                                                family_options=plan.family_options))
    weights_note = "pretrained weights" if loaded.weights == "pretrained" else "random weights (timing only)"
    ctx.observer.note(f"{model_name}: {weights_note}" + (f" from {loaded.checkpoint}" if loaded.checkpoint else ""))
    for note in loaded.notes:
        ctx.observer.note(f"{model_name}: {note}")
    return loaded


def measure_point(ctx: Context, workload: Workload, precision: str, batch_size: int,
                  shown: str = "eager") -> Measured:
    """One point; `shown`: its label as records show it, the execution and the swept values ("eager+offload:video")."""
    execution_label, values = split(shown)
    execution = parse_execution(execution_label)
    with _swept(workload, values):
        return _measure_point(ctx, workload, precision, batch_size, execution, values)


@contextlib.contextmanager
def _swept(workload: Workload, values: Values) -> Any:
    """The options the point's swept values set (`Workload.sweeps`) in the workload's options while it
    is measured; the workload serves the other points with its own. A value of an axis the workload
    does not declare is refused in `_step`, as an error row."""
    sets = {k: v for axis, value in values for k, v in workload.sweeps.get(axis, {}).get(value, {}).items()}
    if not sets:
        yield
        return
    kept = workload.options
    workload.options = dataclasses.replace(kept, **sets)
    try:
        yield
    finally:
        workload.options = kept


def _measure_point(ctx: Context, workload: Workload, precision: str, batch_size: int,
                   execution: Execution, values: Values = ()) -> Measured:
    plan, device = ctx.plan, ctx.device
    record = new_record(ctx, workload, precision, batch_size, execution, values)
    if execution.is_official and workload.official_loop:
        record.params.update(workload.official_params())
    settings = workload.settings_for(plan.settings)
    shown = "" if execution.is_reference and not values else f" {record.execution_label}"
    ctx.observer.point_started(f"{record.model} {workload.name} {precision}{shown} b{batch_size}", settings.min_iters,
                               Point(record.model, workload.name, precision, batch_size, execution.label, values))
    measurement = Measurement()
    peak = PeakMemory(device)
    telemetry = sampler_for(device, plan.telemetry_interval_s) if plan.telemetry_interval_s else None
    try:
        with ram_ceiling(plan.max_ram_bytes), peak, _grad_mode(workload), autocast(device, precision):
            # Fidelity where the numbers may differ from fp32 eager: another precision or network.
            checked = execution.replaces_network or (precision != "fp32" and not execution.is_official)
            slot = workload.network() if checked else None
            with installed(execution, slot, record.model, workload.name, precision, device) as inst:
                probe = Capture(slot) if slot is not None else None
                try:
                    step = _step(workload, batch_size, execution, values)
                    if probe is not None:
                        step = probe.first_step_only(step)
                    with telemetry or contextlib.nullcontext():
                        measurement = measure(step, Timer(device), settings, on_sample=ctx.observer.sample)
                finally:
                    if probe is not None:
                        probe.remove()
                one_off = inst.one_off()
        if one_off:
            record.execution["one_off"] = one_off
        record.memory = peak.result()
        record.metrics = workload.metrics(measurement)
        record.status = "interrupted" if measurement.interrupted else "ok"
        if probe is not None and probe.calls and not measurement.interrupted:
            record.fidelity = _fidelity(probe, device, workload)  # after the peak: the reference is not this point
            wrong = failure(record.fidelity, precision)
            if wrong:  # outputs that are wrong are never an ok row, however fast
                record.status, record.error = "error", wrong
    except KeyboardInterrupt:
        record.status = "interrupted"
    except BackendUnavailable as exc:  # not installed, wrong device or precision: a failed trial, on to the next
        record.status, record.error = "error", str(exc)
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
    fill_stats(record, workload, measurement)
    record.flops = {"per_item": None, "per_step": None, **achieved(None, None, None)}
    if plan.count_flops:
        fill_flops(ctx, record, workload)
    break_even(ctx, record, execution)
    return Measured(record, telemetry_of(record, telemetry, ctx.observer))


def _step(workload: Workload, batch_size: int, execution: Execution, values: Values = ()) -> Any:
    for axis, _ in values:
        if axis not in workload.sweeps:
            raise BackendUnavailable(f"{workload.model.spec.name} {workload.name}: --{axis} applies to the workloads "
                                     f"that sweep it (video trackers: video, and volume propagated as slices)")
    if not execution.is_official:
        return workload.prepare(batch_size)
    step = workload.official(batch_size)
    if step is None:
        raise BackendUnavailable(f"{workload.model.spec.name} {workload.name}: no official loop to time "
                                 "(offered for SAM 2.1 image and video and the sliding-window volumes)")
    return step


FIDELITY_NOTE = {"random": "random weights: a numerics check of the backend, not an accuracy claim",
                 "pretrained": "pretrained weights: the mask IoU is the figure that matters"}


def _fidelity(probe: Capture, device: torch.device, workload: Workload) -> dict[str, Any]:
    """The network's first calls of the point again, through its own fp32 eager network. A reference
    that fails (out of memory at fp32 where bf16 fit) is said in the record; the timing stands."""
    try:
        with torch.inference_mode():
            result = check(probe, device)
    except Exception as exc:  # noqa: BLE001
        result = {"error": f"the fp32 eager reference failed: {describe_failure(exc)}"}
    finally:
        probe.calls.clear()
    return {**result, "reference": "fp32 eager on the same inputs", "outputs": probe.slot.outputs,
            "note": FIDELITY_NOTE.get(workload.model.weights, "")}


def break_even(ctx: Context, record: Record, execution: Execution) -> None:
    """Remember eager's time per item; for another configuration, how many items until its one-off
    cost (compile, export) is paid back by what it saves per item against eager at this precision."""
    per_item = record.stats.get("per_item_latency_s", {}).get("median") if record.status == "ok" else None
    key = (record.model, record.workload, record.precision, record.batch_size)
    if per_item is None:
        return
    if execution.is_reference and record.execution_label == "eager":  # an offloaded eager point is not the base
        ctx.eager_per_item[key] = per_item
        return
    pay_back(record, per_item, ctx.eager_per_item.get(key))


def pay_back(record: Record, per_item: float, eager_per_item: float | None) -> None:
    """Items until the record's one-off cost is paid back by what it saves per item against eager
    (None: never, it is not faster); nothing without a one-off cost or an eager time to compare."""
    one_off = record.execution.get("one_off") or {}
    if eager_per_item is None or not one_off:
        return
    record.execution["eager_per_item_s"] = eager_per_item
    saved = eager_per_item - per_item
    record.execution["break_even_items"] = one_off["seconds"] / saved if saved > 0 else None


def _grad_mode(workload: Workload) -> Any:
    """Inference mode for every step but a training one, which needs autograd."""
    return torch.enable_grad() if workload.grad else torch.inference_mode()


def sampler_for(device: torch.device, interval_s: float) -> TelemetrySampler:
    """Telemetry of what does the work: the GPU in use (not every card), and the host."""
    on_gpu = device.type == "cuda"
    return TelemetrySampler(interval_s, gpus=on_gpu, cuda_index=(device.index or 0) if on_gpu else None)


def telemetry_of(record: Record, telemetry: TelemetrySampler | None, observer: Observer) -> list[dict[str, Any]]:
    """Summary into the record, a warning when the device throttled; the samples, for the sidecar."""
    if telemetry is None or not telemetry.samples:
        return []
    telemetry.stop()  # already stopped unless prepare() failed; stop() is idempotent
    samples = telemetry.samples
    record.telemetry = summarize(samples, telemetry.interval_s)
    if record.telemetry.get("throttled"):
        reasons = ", ".join(sorted(record.telemetry.get("throttle_s", {}))) or "unknown"
        record.notes.append(f"the device throttled during this measurement ({reasons}): these numbers understate it")
        observer.note(f"warning: {record.model} {record.workload} b{record.batch_size} throttled ({reasons})")
    return samples


def fill_stats(record: Record, workload: Workload, measurement: Measurement) -> None:
    items = workload.items_per_step(record.batch_size)
    latency = S.summarize(measurement.samples_s)
    record.stats = {"latency_s": latency, "item_unit": workload.item_unit, "items_per_step": items}
    if latency["n"]:
        record.stats["per_item_latency_s"] = S.scaled(latency, items)
        record.stats["items_per_s"] = items / latency["median"] if latency["median"] > 0 else None
        record.stats["warmup_s"] = measurement.warmup_s
        if S.is_noisy(latency):
            record.notes.append(f"noisy timings: IQR is {latency['iqr_rel']:.0%} of the median")


def fill_flops(ctx: Context, record: Record, workload: Workload) -> None:
    """FLOPs of the point from the same counted footprint the advisor predicts with, and what share
    of this machine's measured matmul peak at the point's precision the measured median reached
    (the spec sheet's peak beside it on a catalogued GPU). Counting is a bonus: a failure is a note."""
    try:
        query = workload.cost_query(record.batch_size)
        if query is None:
            return
        from segbench.families.costs import footprint

        fp = footprint(query)
    except SegbenchError:
        raise
    except Exception as exc:  # noqa: BLE001
        ctx.observer.note(f"{record.model}/{record.workload}: FLOPs not counted ({type(exc).__name__}: {exc})")
        return
    per_step = fp.device.flops
    median = record.stats.get("latency_s", {}).get("median")
    roof = measured_peak(ctx, record.precision)
    record.flops = {"per_item": fp.flops_per_item, "per_step": per_step,
                    **achieved(per_step, median, roof.get("tflops")),
                    "peak_source": roof.get("source")}


def measured_peak(ctx: Context, precision: str) -> dict[str, Any]:
    """{"tflops", "source"}: this machine's measured dense matmul rate at `precision` (cached per machine)."""
    import warnings

    from segbench.measure.roofline import roofline_for

    try:
        with warnings.catch_warnings(record=True) as caught:  # a cache it could not write: said once, as a note
            warnings.simplefilter("always", RuntimeWarning)
            roof = roofline_for(ctx.device, precision)
        for warning in caught:
            ctx.observer.note(f"warning: {warning.message}")
        entry = roof["matmul"][precision]
        # The whole measured roofline travels with the records: `check --from` scales with it.
        ctx.environment["roofline"] = roof
    except Exception as exc:  # noqa: BLE001 - a run without a peak still has its timings
        ctx.observer.note(f"the {precision} matmul peak could not be measured ({type(exc).__name__}: {exc})")
        return {}
    return {"tflops": entry["tflops"],
            "source": f"measured here: {precision} matmul {entry['side']}x{entry['side']}, median of "
                      f"{entry['samples']}, {entry['measured_at']}"}
