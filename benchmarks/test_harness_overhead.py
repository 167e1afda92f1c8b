"""What segbench's harness adds around a step: the harness (`measure`, with and without the
telemetry sampler beside it as in every run) against a bare loop over the same fixed CPU-bound
step, interleaved A B B A so that machine load hits both alike; the overhead is the median of the
per-pair ratios. Beside it, the harness's own cost per iteration, from a step that does nothing
(the part that does not depend on the step at all).

    python -m pytest benchmarks/test_harness_overhead.py -s     # prints the figures; target <= 1 %
"""

from __future__ import annotations

import statistics
import time

import torch

from segbench.measure.harness import MeasureSettings, Timer, measure
from segbench.telemetry.sampler import TelemetrySampler

ITERATIONS = 40  # timed steps per side and pair
PAIRS = 41
TARGET = 0.01  # the harness may cost at most 1 % of a step


def cpu_step(n: int = 60_000) -> int:
    """A fixed amount of pure-Python work (about 3-5 ms here): no threads, no allocator, no caches to warm."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def nothing() -> None:
    pass


def bare(step=cpu_step, iterations: int = ITERATIONS) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    return time.perf_counter() - start


def harnessed(sampler: bool, step=cpu_step, iterations: int = ITERATIONS) -> float:
    settings = MeasureSettings(warmup=0, min_iters=iterations, min_time_s=0.0, max_iters=iterations)
    timer = Timer(torch.device("cpu"))
    start = time.perf_counter()
    if sampler:
        with TelemetrySampler(0.1, gpus=False):
            result = measure(step, timer, settings, on_sample=lambda i, s: None)
    else:
        result = measure(step, timer, settings, on_sample=lambda i, s: None)
    elapsed = time.perf_counter() - start
    assert len(result.samples_s) == iterations
    return elapsed


def overhead(sampler: bool) -> tuple[float, float, float]:
    """(median, 25th and 75th percentile) of the per-pair relative overhead, pairs run A B B A."""
    bare(), harnessed(sampler)  # warm both paths once
    ratios = []
    for i in range(PAIRS):
        if i % 2:
            b, a = bare(), harnessed(sampler)
        else:
            a, b = harnessed(sampler), bare()
        ratios.append(a / b - 1)
    q1, median, q3 = statistics.quantiles(ratios, n=4)
    return median, q1, q3


def test_harness_overhead_is_within_one_percent():
    step_s = min(bare() for _ in range(5)) / ITERATIONS
    alone = overhead(sampler=False)
    with_telemetry = overhead(sampler=True)
    n = 20_000
    per_iteration_s = min(harnessed(False, nothing, n) for _ in range(3)) / n - min(bare(nothing, n) for _ in range(3)) / n
    pct = "{:+.2f} % (IQR {:+.2f}..{:+.2f} %)".format
    print(f"\nstep {step_s * 1e3:.2f} ms; harness overhead {pct(*(v * 100 for v in alone))}; with the 10 Hz "
          f"telemetry sampler {pct(*(v * 100 for v in with_telemetry))}; the harness's own cost "
          f"{per_iteration_s * 1e6:.2f} us per iteration = {per_iteration_s / step_s * 100:.3f} % of this step")
    assert per_iteration_s / step_s <= TARGET
    assert alone[0] <= TARGET and with_telemetry[0] <= TARGET
