"""The timing harness and its statistics, against a fake clock and a real sleep."""

from __future__ import annotations

import time

import pytest
import torch

from segbench.measure.harness import MeasureSettings, Timer, measure
from segbench.measure.stats import is_noisy, scaled, summarize


class FakeClock:
    """A clock that only moves when a step says how long it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def stepping(clock: FakeClock, durations):
    it = iter(durations)
    calls = []

    def step():
        d = next(it)
        calls.append(d)
        clock.now += d

    return step, calls


def test_warmup_is_excluded_and_min_iters_met():
    clock = FakeClock()
    step, calls = stepping(clock, [9.0, 9.0] + [0.5] * 100)
    m = measure(step, Timer(torch.device("cpu"), clock), MeasureSettings(warmup=2, min_iters=5, min_time_s=0.0))
    assert m.warmup_s == [9.0, 9.0]
    assert m.samples_s == [0.5] * 5
    assert len(calls) == 7


def test_keeps_going_until_min_time():
    clock = FakeClock()
    step, _ = stepping(clock, [0.25] * 100)
    m = measure(step, Timer(torch.device("cpu"), clock), MeasureSettings(warmup=0, min_iters=3, min_time_s=2.0))
    assert len(m.samples_s) == 8  # 8 x 0.25 s reaches 2 s; 3 iterations alone would not
    assert sum(m.samples_s) == pytest.approx(2.0)


def test_max_iters_stops_very_fast_steps():
    clock = FakeClock()
    step, _ = stepping(clock, [1e-6] * 1000)
    m = measure(step, Timer(torch.device("cpu"), clock), MeasureSettings(warmup=0, min_iters=3, min_time_s=10.0, max_iters=50))
    assert len(m.samples_s) == 50


def test_ctrl_c_keeps_what_was_timed():
    clock = FakeClock()
    n = {"i": 0}

    def step():
        n["i"] += 1
        if n["i"] == 4:
            raise KeyboardInterrupt
        clock.now += 1.0

    m = measure(step, Timer(torch.device("cpu"), clock), MeasureSettings(warmup=1, min_iters=10, min_time_s=0))
    assert m.interrupted
    assert m.samples_s == [1.0, 1.0]


def test_other_errors_propagate():
    def step():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        measure(step, Timer(torch.device("cpu")), MeasureSettings(warmup=0, min_iters=1, min_time_s=0))


def test_real_sleep_is_measured_accurately():
    # The optimum-benchmark check: a known sleep must come out as itself.
    m = measure(lambda: time.sleep(0.05), Timer(torch.device("cpu")), MeasureSettings(warmup=1, min_iters=5, min_time_s=0))
    median = summarize(m.samples_s)["median"]
    assert 0.045 <= median <= 0.09


def test_summarize_order_statistics():
    s = summarize([float(i) for i in range(1, 101)])
    assert s["n"] == 100
    assert s["median"] == pytest.approx(50.5)
    assert s["min"] == 1.0 and s["max"] == 100.0
    assert s["p90"] == pytest.approx(90.1)
    assert s["p99"] == pytest.approx(99.01)
    assert s["iqr"] == pytest.approx(49.5)
    assert s["p10"] < s["p25"] < s["median"] < s["p75"] < s["p90"] < s["p99"]


def test_summarize_empty_and_single():
    assert summarize([]) == {"n": 0}
    one = summarize([2.0])
    assert one["median"] == 2.0 and one["std"] == 0.0 and one["iqr"] == 0.0


def test_scaled_divides_times_not_counts():
    s = scaled(summarize([2.0, 4.0, 6.0]), 2)
    assert s["median"] == 2.0 and s["n"] == 3
    assert s["iqr_rel"] == summarize([2.0, 4.0, 6.0])["iqr_rel"]


def test_noise_flag():
    assert not is_noisy(summarize([1.0, 1.01, 0.99, 1.0]))
    assert is_noisy(summarize([1.0, 2.0, 0.5, 1.5, 3.0]))
