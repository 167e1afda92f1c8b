"""Soak: one workload under sustained load, throughput in windows, telemetry beside it.

A card that does 20 fps for a minute and 12 fps after half an hour is the classic bad purchase;
short benchmarks cannot see it. It runs on the worker's pieces (load, workload, record, stats,
telemetry) and yields one record; the verdict itself comes from telemetry/soak.py (pure analysis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from segbench.bench.plan import Point
from segbench.bench.point import (
    Context,
    Measured,
    fill_stats,
    load_for,
    new_record,
    precisions,
    sampler_for,
    telemetry_of,
)
from segbench.errors import Interrupted
from segbench.families.registry import build_workload, get_spec, purpose_of
from segbench.measure.device import autocast
from segbench.measure.harness import Measurement, Timer
from segbench.measure.memory import PeakMemory
from segbench.telemetry.soak import analyze


def hottest(sample: dict[str, Any]) -> float | None:
    temps = [v for k, v in sample.items() if k.endswith("temperature_c") or k == "cpu.temp_c"]
    return max(temps) if temps else None


def soak(ctx: Context, model_name: str, on_phase: Callable[[str, Point | None, str], None] | None = None
         ) -> Iterator[Measured]:
    """The plan's single (model, workload, precision, batch size) for soak.minutes; one record.
    `on_phase` hears when loading, warm-up and the windows begin (the worker's phases)."""
    plan = ctx.plan
    assert plan.soak is not None
    settings = plan.soak
    workload_name, batch_size = plan.workloads[0], plan.batch_sizes[0]
    precision = precisions(plan, ctx.device)[0]
    point = Point(get_spec(model_name).name, workload_name, precision, batch_size)
    label = f"soak {point.model} {workload_name} {precision} b{batch_size}"
    phase = on_phase or (lambda *told: None)
    phase("load", point, label)
    loaded = load_for(ctx, model_name, purpose_of(workload_name, model_name))
    workload = build_workload(workload_name, loaded, ctx.device, plan.options)
    phase("warm-up", point, label)
    record = new_record(ctx, workload, precision, batch_size)
    record.params = {**record.params, "minutes": settings.minutes, "window_s": settings.window_s,
                     "max_temp_c": settings.max_temp_c}
    # What a soak actually does: untimed warm-up steps, then windows; the first window is warm-up too.
    record.settings = {"warmup": plan.settings.warmup, "minutes": settings.minutes, "window_s": settings.window_s,
                       "stats_from": "steady windows (after the first)"}
    sampler = sampler_for(ctx.device, plan.telemetry_interval_s or 0.5)
    timer = Timer(ctx.device)
    items_per_step = workload.items_per_step(batch_size)
    windows: list[dict[str, Any]] = []
    samples: list[float] = []
    first_window_steps: int | None = None  # samples before this index belong to the warm-up window
    stop_reason = "time"
    peak = PeakMemory(ctx.device)
    with peak, torch.inference_mode(), autocast(ctx.device, precision):
        step = workload.prepare(batch_size)
        for _ in range(plan.settings.warmup):  # as in every measurement
            timer(step)
        with sampler:
            phase("timed", point, label)
            end_at = sampler.now() + settings.minutes * 60.0
            start, items = sampler.now(), 0
            try:
                while True:
                    samples.append(timer(step))
                    items += items_per_step
                    now = sampler.now()
                    if now - start >= settings.window_s:
                        windows.append(_window(start, now, items))
                        if first_window_steps is None:
                            first_window_steps = len(samples)
                        ctx.observer.note(f"window {len(windows)}: {windows[-1]['items_per_s']:.3f} "
                                          f"{workload.item_unit}/s")
                        start, items = now, 0
                    latest = sampler.latest()
                    temp = hottest(latest) if latest else None
                    if settings.max_temp_c is not None and temp is not None and temp >= settings.max_temp_c:
                        stop_reason = f"max-temp: reached {temp:.0f} C (limit {settings.max_temp_c:.0f} C)"
                        break
                    if now >= end_at:
                        break
            except KeyboardInterrupt:
                stop_reason = "interrupted"
            now = sampler.now()
            if items and now - start >= settings.window_s / 2:  # a last window at least half full still counts
                windows.append(_window(start, now, items))
    record.memory = peak.result()
    verdict = analyze(windows, sampler.samples, interval_s=sampler.interval_s)
    record.status = "interrupted" if stop_reason == "interrupted" else "ok"
    # Latency statistics of the steady windows (the warm-up window's steps go to stats.warmup_s);
    # with no steady window, of everything measured.
    steady_from = first_window_steps if first_window_steps is not None and first_window_steps < len(samples) else 0
    measurement = Measurement(samples_s=samples[steady_from:], warmup_s=samples[:steady_from])
    record.samples_s = measurement.samples_s
    fill_stats(record, workload, measurement)
    record.metrics = {
        **workload.metrics(measurement),
        "windows": windows,
        "verdict": verdict.to_dict(),
        "stop_reason": stop_reason,
    }
    record.notes = list(workload.notes)
    yield Measured(record, telemetry_of(record, sampler, ctx.observer))
    if stop_reason == "interrupted":
        raise Interrupted(f"interrupted: the soak's {len(windows)} window(s) measured so far are kept")


def _window(start: float, end: float, items: int) -> dict[str, Any]:
    return {"t_start": round(start, 3), "t_end": round(end, 3), "items": items, "items_per_s": items / (end - start)}
