"""`segbench soak`: one workload under sustained load, throughput in windows, telemetry beside it.

A card that does 20 fps for a minute and 12 fps after half an hour is the classic bad purchase;
short benchmarks cannot see it. The verdict itself comes from telemetry/soak.py (pure analysis).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import torch

from segbench.errors import Interrupted
from segbench.measure.device import autocast
from segbench.measure.harness import Measurement, Timer
from segbench.measure.memory import PeakMemory
from segbench.records.schema import Record
from segbench.records.store import append_records
from segbench.sweep import (
    Observer,
    RunPlan,
    attach_telemetry,
    fill_stats,
    load_for,
    new_record,
    sampler_for,
)
from segbench.telemetry.soak import analyze
from segbench.workloads.registry import build_workload, purpose_of


@dataclass
class SoakSettings:
    minutes: float = 10.0  # how long to keep the load on
    window_s: float = 30.0  # throughput is measured per window; the first is warm-up
    max_temp_c: float | None = None  # stop early when any sensor reaches this


def hottest(sample: dict[str, Any]) -> float | None:
    temps = [v for k, v in sample.items() if k.endswith("temperature_c") or k == "cpu.temp_c"]
    return max(temps) if temps else None


def run_soak(plan: RunPlan, soak: SoakSettings, environment: dict[str, Any], observer: Observer) -> Record:
    """Run a validated plan's single (model, workload, precision, batch size) for soak.minutes; append one record."""
    plan.kind = "soak"
    model_name, workload_name = plan.models[0], plan.workloads[0]
    precision, batch_size = plan.precisions[0], plan.batch_sizes[0]
    loaded = load_for(plan, model_name, purpose_of(workload_name, _family(model_name)), observer)
    workload = build_workload(workload_name, loaded, plan.device, plan.options)
    record = new_record(plan, workload, precision, batch_size, environment, uuid.uuid4().hex[:12])
    record.params = {**record.params, "minutes": soak.minutes, "window_s": soak.window_s, "max_temp_c": soak.max_temp_c}
    # What a soak actually does: untimed warm-up steps, then windows; the first window is warm-up too.
    record.settings = {"warmup": plan.settings.warmup, "minutes": soak.minutes, "window_s": soak.window_s,
                       "stats_from": "steady windows (after the first)"}
    sampler = sampler_for(plan.device, plan.telemetry_interval_s or 0.5)
    timer = Timer(plan.device)
    items_per_step = workload.items_per_step(batch_size)
    windows: list[dict[str, Any]] = []
    samples: list[float] = []
    first_window_steps: int | None = None  # samples before this index belong to the warm-up window
    stop_reason = "time"
    peak = PeakMemory(plan.device)
    with peak, torch.inference_mode(), autocast(plan.device, precision):
        step = workload.prepare(batch_size)
        for _ in range(plan.settings.warmup):  # as in every measurement (sam2's transforms compile twice)
            timer(step)
        with sampler:
            end_at = sampler.now() + soak.minutes * 60.0
            start, items = sampler.now(), 0
            try:
                while True:
                    samples.append(timer(step))
                    items += items_per_step
                    now = sampler.now()
                    if now - start >= soak.window_s:
                        windows.append(_window(start, now, items))
                        if first_window_steps is None:
                            first_window_steps = len(samples)
                        observer.note(f"window {len(windows)}: {windows[-1]['items_per_s']:.3f} {workload.item_unit}/s")
                        start, items = now, 0
                    latest = sampler.latest()
                    temp = hottest(latest) if latest else None
                    if soak.max_temp_c is not None and temp is not None and temp >= soak.max_temp_c:
                        stop_reason = f"max-temp: reached {temp:.0f} C (limit {soak.max_temp_c:.0f} C)"
                        break
                    if now >= end_at:
                        break
            except KeyboardInterrupt:
                stop_reason = "interrupted"
            now = sampler.now()
            if items and now - start >= soak.window_s / 2:  # a last window at least half full still counts
                windows.append(_window(start, now, items))
    record.memory = peak.result()
    verdict = analyze(windows, sampler.samples, interval_s=sampler.interval_s)
    record.status = "interrupted" if stop_reason == "interrupted" else "ok"
    # Latency statistics of the steady windows (the warm-up window's steps go to stats.warmup_s);
    # with no steady window, of everything measured.
    steady_from = first_window_steps if first_window_steps is not None and first_window_steps < len(samples) else 0
    measurement = Measurement(samples_s=samples[steady_from:], warmup_s=samples[:steady_from])
    record.samples_s = measurement.samples_s
    fill_stats(record, workload, measurement, None)
    record.metrics = {
        **workload.metrics(measurement),
        "windows": windows,
        "verdict": verdict.to_dict(),
        "stop_reason": stop_reason,
    }
    record.notes = list(workload.notes)
    attach_telemetry(record, sampler, plan.output, observer)
    append_records(plan.output, [record])
    if stop_reason == "interrupted":
        raise Interrupted(
            f"interrupted: the soak's {len(windows)} window(s) measured so far are saved in {plan.output}"
        )
    return record


def _window(start: float, end: float, items: int) -> dict[str, Any]:
    return {"t_start": round(start, 3), "t_end": round(end, 3), "items": items, "items_per_s": items / (end - start)}


def _family(model_name: str) -> str:
    from segbench.models.registry import get_spec

    return get_spec(model_name).family
