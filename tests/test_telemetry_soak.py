"""Soak verdicts from throughput windows and telemetry of fake GPUs on a fake clock."""

from __future__ import annotations

import pytest

from segbench.telemetry.soak import VERDICTS, SoakThresholds, analyze
from tests.fakes.fake_pynvml import presets
from tests.fakes.telemetry import sample_fake_gpus

SOAK_S = 60.0


def windows(rates: list[float], width: float = 10.0) -> list[dict]:
    """Throughput windows of `width` seconds; the first is warm-up."""
    return [{"t_start": i * width, "t_end": (i + 1) * width, "items": rate * width, "items_per_s": rate}
            for i, rate in enumerate(rates)]


def soak(gpus, rates, **kwargs):
    sampler = sample_fake_gpus(gpus, SOAK_S, interval_s=0.5)
    return analyze(windows(rates), sampler.samples, interval_s=0.5, **kwargs)


def test_cool_gpu_with_steady_throughput_is_stable():
    v = soak([presets.cool_desktop()], [70, 100, 101, 99, 100, 100])
    assert v.verdict == "stable"
    assert v.throughput_drift_pct == 0.0
    assert v.clock_drift_pct == 0.0 and v.clock_signal == "gpu0.sm_clock_mhz"
    assert v.peak_temperature_c == 62 and v.throttled_s == 0.0
    assert v.to_dict()["verdict"] in VERDICTS


def test_heating_gpu_is_thermal_throttling_with_drift_and_clock_drop():
    v = soak([presets.heating_gpu(after=25)], [80, 100, 100, 88, 80, 78])
    assert v.verdict == "throttling (thermal)"
    assert v.throughput_drift_pct == -22.0
    assert v.clock_drift_pct == pytest.approx((1800 - 2520) / 2520 * 100, abs=0.01)
    assert v.peak_temperature_c == 90 and v.peak_temperature_signal == "gpu0.temperature_c"
    assert v.throttle_s == {"sw_thermal": pytest.approx(35.5)}  # t = 25.0 .. 60.0, 71 samples of 0.5 s
    assert v.throttle_category_s == {"thermal": pytest.approx(35.5)}
    assert "sw_thermal" in v.reason


def test_power_cap_that_costs_throughput_is_power_throttling():
    v = soak([presets.power_capped_gpu(after=25)], [80, 100, 100, 94, 92, 91])
    assert v.verdict == "throttling (power)"
    assert v.throughput_drift_pct == -9.0
    assert v.throttle_category_s == {"power": pytest.approx(35.5)}


def test_power_cap_without_a_loss_is_stable_with_a_note():
    v = soak([presets.power_capped_gpu(after=0)], [80, 100, 99, 100, 100, 99])
    assert v.verdict == "stable"
    assert any("power limit" in note for note in v.notes)


def test_noisy_windows_on_a_cool_gpu_are_unstable_timings():
    v = soak([presets.cool_desktop()], [50, 100, 80, 115, 85, 101])
    assert v.verdict == "unstable timings"
    assert v.spread_pct > 5


def test_slower_without_any_hardware_sign_is_unstable_timings():
    v = soak([presets.cool_desktop()], [80, 100, 98, 95, 93, 90])
    assert v.verdict == "unstable timings"
    assert "no throttling" in v.reason


def test_clock_drop_without_a_reason_is_other_throttling():
    gpu = presets.cool_desktop(phases=[(30, {"sm_clock_mhz": 1500})])
    v = soak([gpu], [80, 100, 99, 97, 96, 96])
    assert v.verdict == "throttling (other)"
    assert v.clock_drift_pct < -5


def test_hw_slowdown_with_a_loss_is_other_throttling():
    gpu = presets.cool_desktop(phases=[(25, {"clocks_event_reasons": 0x08, "sm_clock_mhz": 975})])
    v = soak([gpu], [80, 100, 100, 60, 55, 55])
    assert v.verdict == "throttling (other)"
    assert v.throttle_s == {"hw_slowdown": pytest.approx(35.5)}


def test_thresholds_are_parameters():
    rates = [80, 100, 99, 98, 97, 97]  # -3 %: stable by default
    assert soak([presets.cool_desktop()], rates).verdict == "stable"
    strict = SoakThresholds(drift_pct=2.0)
    assert soak([presets.cool_desktop()], rates, thresholds=strict).verdict == "unstable timings"


def test_cpu_only_soak_uses_cpu_frequency_for_clock_drift():
    samples = [{"t": t * 0.5, "cpu.freq_mhz": 3000.0 if t < 60 else 2200.0, "cpu.temp_c": 70 + t / 10}
               for t in range(121)]
    v = analyze(windows([80, 100, 99, 90, 85, 84]), samples, interval_s=0.5)
    assert v.clock_signal == "cpu.freq_mhz"
    assert v.clock_drift_pct == pytest.approx(-26.67, abs=0.01)
    assert v.verdict == "throttling (other)"
    assert v.peak_temperature_c == 82 and v.peak_temperature_signal == "cpu.temp_c"


def test_too_few_windows():
    v = soak([presets.cool_desktop()], [80])
    assert v.verdict == "too short" and v.throughput_drift_pct is None
    v = soak([presets.cool_desktop()], [80, 100])
    assert v.verdict == "stable" and v.throughput_drift_pct is None
    # Thermal throttling is judged from telemetry alone.
    assert soak([presets.heating_gpu(after=0)], [80]).verdict == "throttling (thermal)"


def test_from_a_summary_only():
    sampler = sample_fake_gpus([presets.heating_gpu(after=25)], SOAK_S, interval_s=0.5)
    v = analyze(windows([80, 100, 100, 88, 80, 78]), sampler.summary())
    assert v.verdict == "throttling (thermal)"
    assert v.clock_drift_pct is None and v.peak_temperature_c == 90
    assert any("summary" in note for note in v.notes)
