"""GPU facts decoded from a fake NVML that answers as real GPUs do."""

from __future__ import annotations

import sys

import pytest

from segbench.probe import collect
from segbench.probe.nvml import NvmlSession, collect_gpus, decode_reasons, throttling
from tests.fakes.fake_pynvml import (
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_GPU_IS_LOST,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_ERROR_NO_PERMISSION,
    FakeGPU,
    FakeNVML,
    presets,
)


def one(gpu: FakeGPU, **kwargs) -> dict:
    gpus, note = collect_gpus(FakeNVML([gpu], **kwargs))
    assert note is None and len(gpus) == 1
    return gpus[0]


def test_decode_reasons_names_each_bit_and_keeps_unknown_bits():
    assert decode_reasons(0) == []
    assert decode_reasons(0x24) == ["sw_power_cap", "sw_thermal"]
    assert decode_reasons(0x001) == ["gpu_idle"]
    assert decode_reasons(0x048) == ["hw_slowdown", "hw_thermal"]
    assert decode_reasons(0x080 | 0x1000) == ["hw_power_brake", "unknown_0x1000"]
    assert throttling(["gpu_idle", "applications_clocks_setting", "sw_thermal"]) == ["sw_thermal"]


def test_laptop_gpu_at_87c_power_capped_is_decoded_with_units():
    gpu = one(presets.laptop_throttled())
    assert gpu["name"] == "NVIDIA GeForce RTX 3070 Laptop GPU"
    assert gpu["temperature_c"] == 87
    assert gpu["temperature_max_operating_c"] == 87
    assert gpu["temperature_slowdown_c"] == 99 and gpu["temperature_shutdown_c"] == 102
    assert gpu["power_w"] == 80.1 and gpu["power_limit_w"] == 80.0  # milliwatts -> watts
    assert gpu["throttle"] == ["sw_power_cap", "sw_thermal"]
    assert gpu["throttle_mask"] == 0x24 and gpu["throttling"] is True
    assert (gpu["sm_clock_mhz"], gpu["sm_clock_max_mhz"]) == (1245, 1620)
    assert (gpu["pcie_gen_current"], gpu["pcie_width_current"], gpu["pcie_width_max"]) == (4, 8, 8)
    # Sensors a laptop lacks are None, not an error.
    assert gpu["fan_speed_pct"] is None
    assert gpu["power_max_limit_w"] is None
    assert gpu["vram_total_bytes"] == 8 * 1024**3
    assert gpu["vram_used_bytes"] + gpu["vram_free_bytes"] == gpu["vram_total_bytes"]


def test_idle_gpu_reports_gpu_idle_but_is_not_throttling():
    gpu = one(presets.idle_desktop())
    assert gpu["throttle"] == ["gpu_idle"]
    assert gpu["throttling"] is False
    assert gpu["performance_state"] == "P8"


def test_pascal_card_compute_capability_and_architecture():
    gpu = one(presets.pascal_card())
    assert gpu["compute_capability"] == "6.1"
    assert gpu["architecture"] == "pascal"
    assert gpu["bf16_native"] is False
    assert one(presets.datacenter_h100())["bf16_native"] is True


def test_pcie_x4_link_shows_current_against_max():
    gpu = one(presets.pcie_x4_card())
    assert (gpu["pcie_gen_current"], gpu["pcie_gen_max"], gpu["pcie_gen_gpu_max"]) == (3, 3, 4)
    assert (gpu["pcie_width_current"], gpu["pcie_width_max"]) == (4, 16)


def test_driver_and_cuda_versions():
    gpu = one(FakeGPU(), driver_version="535.104.05", cuda_driver_version=12020)
    assert gpu["driver_version"] == "535.104.05"
    assert gpu["cuda_driver_version"] == "12.2"


def test_old_driver_without_clocks_event_reasons_falls_back_to_throttle_reasons():
    nvml = FakeNVML([presets.laptop_throttled()], missing_functions={"nvmlDeviceGetCurrentClocksEventReasons",
                                                                      "nvmlDeviceGetTemperatureV"})
    with NvmlSession(nvml) as session:
        for _ in range(3):
            sample = session.sample(0)
    assert sample["throttle"] == ["sw_power_cap", "sw_thermal"]
    assert sample["temperature_c"] == 87
    # The missing name is tried once, then the one that works is used first.
    assert nvml.calls["nvmlDeviceGetCurrentClocksEventReasons"] == 1
    assert nvml.calls["nvmlDeviceGetCurrentClocksThrottleReasons"] == 3


def test_every_missing_sensor_gives_none_never_an_error():
    every = frozenset(n for n in dir(FakeNVML) if n.startswith("nvmlDevice") and n not in
                      ("nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex"))
    gpu = one(FakeGPU(unsupported=every))
    assert gpu["index"] == 0
    assert all(value is None for key, value in gpu.items() if key not in ("index", "driver_version", "cuda_driver_version"))


def test_sample_returns_the_telemetry_signal_names():
    with NvmlSession(FakeNVML([presets.cool_desktop()])) as session:
        sample = session.sample(0)
    assert set(sample) == {"temperature_c", "sm_clock_mhz", "sm_clock_max_mhz", "mem_clock_mhz", "power_w",
                           "power_limit_w", "util_pct", "mem_used_bytes", "throttle"}
    assert sample["throttle"] == [] and sample["util_pct"] == 99


@pytest.mark.parametrize(
    "code, words",
    [
        (NVML_ERROR_LIBRARY_NOT_FOUND, "no NVIDIA driver found"),
        (NVML_ERROR_DRIVER_NOT_LOADED, "not running"),
        (NVML_ERROR_NO_PERMISSION, "no permission"),
    ],
)
def test_nvml_missing_gives_empty_list_and_plain_note(code, words):
    gpus, note = collect_gpus(FakeNVML([FakeGPU()], init_error=code))
    assert gpus == []
    assert words in note


def test_driver_with_no_gpu_says_so():
    assert collect_gpus(FakeNVML([])) == ([], "the NVIDIA driver is running but reports no GPU")


def test_pynvml_not_installed_gives_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    gpus, note = collect_gpus()
    assert gpus == [] and "nvidia-ml-py is not installed" in note


def test_a_gpu_that_cannot_be_opened_is_a_row_not_a_crash():
    nvml = FakeNVML([FakeGPU(handle_error=NVML_ERROR_GPU_IS_LOST), presets.pascal_card()])
    gpus, note = collect_gpus(nvml)
    assert note is None
    assert gpus[0] == {"index": 0, "error": "this GPU cannot be queried: GPU is lost"}
    assert gpus[1]["name"] == "NVIDIA GeForce GTX 1080 Ti"
    with NvmlSession(nvml) as session:
        assert session.sample(0) == {} and session.sample(1)["temperature_c"] == 52


def test_session_releases_nvml():
    nvml = FakeNVML([FakeGPU(), presets.pascal_card()])
    gpus, _ = collect_gpus(nvml)
    assert [g["index"] for g in gpus] == [0, 1]
    assert nvml.refcount == 0


def test_collect_with_fake_gpus_keeps_the_shape():
    data = collect(nvml=FakeNVML([presets.laptop_throttled(), presets.pascal_card()]))
    assert [g["name"] for g in data["gpus"]] == ["NVIDIA GeForce RTX 3070 Laptop GPU", "NVIDIA GeForce GTX 1080 Ti"]
    assert data["gpu_note"] is None
