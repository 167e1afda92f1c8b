"""The telemetry sampler against a fake NVML with a fake clock, and for real (CPU only) here."""

from __future__ import annotations

import json
import time

import pytest

from segbench.telemetry.sampler import TelemetrySampler, sidecar_path, summarize
from tests.fakes.fake_pynvml import FakeGPU, FakeNVML, presets
from tests.fakes.telemetry import sample_fake_gpus

INTERVAL = 0.25  # exact in binary, so fake-clock times add up without rounding


def drive(gpus: list[FakeGPU], seconds: float, **fake_kwargs) -> TelemetrySampler:
    return sample_fake_gpus(gpus, seconds, INTERVAL, **fake_kwargs)


def test_heating_gpu_throttles_after_its_phase():
    sampler = drive([presets.heating_gpu(after=2.0)], seconds=5.0)
    samples = sampler.samples
    assert len(samples) == 21 and samples[0]["t"] == 0.0 and samples[-1]["t"] == 5.0
    assert samples[0]["gpu0.throttle"] == [] and samples[0]["gpu0.temperature_c"] == 65
    assert samples[8]["gpu0.throttle"] == ["sw_thermal"] and samples[8]["gpu0.sm_clock_mhz"] == 1800
    summary = sampler.summary()
    assert summary["throttled"] is True
    # 13 samples from t=2.0 to t=5.0, each standing for one interval.
    assert summary["throttle_s"] == {"sw_thermal": pytest.approx(13 * INTERVAL)}
    temp = summary["signals"]["gpu0.temperature_c"]
    assert (temp["min"], temp["max"]) == (65, 90)
    assert summary["signals"]["gpu0.sm_clock_mhz"]["min"] == 1800
    assert summary["duration_s"] == 5.0 and summary["n_samples"] == 21 and summary["interval_s"] == INTERVAL
    assert summary["sidecar"] is None
    assert sampler.latest() == samples[-1]
    assert [s["t"] for s in sampler.samples_between(1.0, 2.0)] == [1.0, 1.25, 1.5, 1.75, 2.0]


def test_power_capped_gpu_counts_power_cap_time():
    summary = drive([presets.power_capped_gpu(after=4.0)], seconds=5.0).summary()
    assert summary["throttle_s"] == {"sw_power_cap": pytest.approx(5 * INTERVAL)}
    assert summary["signals"]["gpu0.power_w"]["max"] == 319.5
    assert summary["throttled"] is True


def test_cool_gpu_and_idle_gpu_do_not_count_as_throttled():
    summary = drive([presets.cool_desktop(), presets.idle_desktop()], seconds=2.0).summary()
    assert summary["throttle_s"] == {}  # gpu_idle on gpu1 is not throttling
    assert summary["throttled"] is False
    assert "gpu1.temperature_c" in summary["signals"] and "gpu0.util_pct" in summary["signals"]


def test_a_one_sample_blip_is_not_throttling():
    gpu = presets.cool_desktop(phases=[(1.0, {"clocks_event_reasons": 0x20}), (1.0 + INTERVAL, {"clocks_event_reasons": 0})])
    summary = drive([gpu], seconds=3.0).summary()
    assert summary["throttle_s"] == {"sw_thermal": INTERVAL}
    assert summary["throttled"] is False


def test_missing_sensors_are_absent_from_samples():
    gpu = presets.laptop_throttled(unsupported=frozenset({"nvmlDeviceGetPowerUsage", "nvmlDeviceGetTemperature",
                                                          "nvmlDeviceGetTemperatureV"}))
    sample = drive([gpu], seconds=0.5).samples[-1]
    assert "gpu0.power_w" not in sample and "gpu0.temperature_c" not in sample
    assert sample["gpu0.power_limit_w"] == 80.0


def test_sample_names_follow_the_contract():
    sample = drive([presets.cool_desktop()], seconds=0.5).samples[-1]
    gpu_keys = {k for k in sample if k.startswith("gpu0.")}
    assert gpu_keys == {f"gpu0.{s}" for s in ("temperature_c", "sm_clock_mhz", "sm_clock_max_mhz", "mem_clock_mhz",
                                              "power_w", "power_limit_w", "util_pct", "mem_used_bytes", "throttle")}
    assert {"cpu.util_pct", "proc.rss_bytes"} <= set(sample)
    assert all(k == "t" or k.startswith(("gpu0.", "cpu.", "proc.")) for k in sample)


def test_no_nvml_gives_cpu_only_samples_and_a_note():
    sampler = drive([], seconds=0.5, init_error=12)
    assert sampler.gpu_note and "no NVIDIA driver" in sampler.gpu_note
    assert not any(k.startswith("gpu") for s in sampler.samples for k in s)


def test_sidecar_lines_carry_the_record_id_and_append(tmp_path):
    sampler = drive([presets.heating_gpu(after=0.5)], seconds=1.0)
    results = tmp_path / "run-x.jsonl"
    written = sampler.write_sidecar(results, "rec1")
    assert written == tmp_path / "run-x.telemetry.jsonl" == sidecar_path(results)
    sampler.write_sidecar(results, "rec2")
    lines = [json.loads(line) for line in written.read_text().splitlines()]
    assert len(lines) == 2 * len(sampler.samples)
    assert {line["record_id"] for line in lines} == {"rec1", "rec2"}
    assert lines[-1]["gpu0.throttle"] == ["sw_thermal"]
    assert sampler.summary()["sidecar"] == str(written)


def test_summarize_of_nothing():
    assert summarize([], 0.1) == {"interval_s": 0.1, "n_samples": 0, "duration_s": 0.0, "signals": {},
                                  "throttle_s": {}, "throttled": False}


def test_background_thread_with_fake_nvml_samples_and_stops():
    nvml = FakeNVML([presets.cool_desktop()])
    with TelemetrySampler(interval_s=0.02, nvml=nvml) as sampler:
        time.sleep(0.3)
    assert sampler._thread is not None and not sampler._thread.is_alive()
    assert len(sampler.samples) >= 3
    assert nvml.refcount == 0 and sampler.errors == []


def test_real_cpu_only_sampler_for_half_a_second():
    with TelemetrySampler(interval_s=0.05, gpus=False) as sampler:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            sum(i * i for i in range(2000))
    summary = sampler.summary()
    assert summary["n_samples"] >= 3  # 10 expected; generous on a shared machine
    assert summary["signals"]["proc.rss_bytes"]["min"] > 0
    assert "cpu.util_pct" in summary["signals"]
    assert summary["throttled"] is False
    times = [s["t"] for s in sampler.samples]
    assert times == sorted(times) and times[0] == 0.0


def test_stops_when_the_body_raises_including_keyboard_interrupt():
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)), TelemetrySampler(interval_s=0.02, gpus=False) as sampler:
            raise error
        assert not sampler._thread.is_alive()


def test_stop_twice_and_bad_interval():
    sampler = TelemetrySampler(interval_s=0.05, gpus=False).start()
    sampler.stop()
    sampler.stop()
    with pytest.raises(ValueError):
        TelemetrySampler(interval_s=0)
    with pytest.raises(RuntimeError):
        sampler.start()
