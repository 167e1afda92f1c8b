"""GPU health findings (busy, thermals, power, clocks, throttling, laptop, PCIe) on fake NVML GPUs."""

from __future__ import annotations

from segbench.doctor import DoctorRequest, TargetGPU
from tests.doctor_helpers import (
    by_id,
    clocks_locked_card,
    context,
    findings,
    hot_idle_card,
    power_lowered_card,
    slowdown_at_idle_card,
)
from tests.fakes.fake_pynvml import presets


def health(gpu, **kw):
    return findings(context([gpu], **kw))


def test_a_cool_idle_desktop_card_is_all_ok():
    items = health(presets.idle_desktop())
    for name in ("busy", "temperature", "power_limit", "clocks", "throttle", "form_factor", "pcie"):
        assert by_id(items, f"gpu0.{name}").severity == "ok", name
    assert "idle GPUs lower the generation" not in by_id(items, "gpu0.pcie").cause


def test_hot_idle_card_warns_about_cooling():
    f = by_id(health(hot_idle_card()), "gpu0.temperature")
    assert f.severity == "warn"
    assert "78 C at idle" in f.cause and "slows itself at 93 C" in f.cause  # max operating, below slowdown 95
    assert "fans" in f.fix
    assert f.details["temperature_c"] == 78


def test_card_near_its_slowdown_temperature_under_load_warns():
    gpu = presets.heating_gpu(after=0)  # 90 C with a 90 C slowdown, 99 % busy
    f = by_id(health(gpu), "gpu0.temperature")
    assert f.severity == "warn" and "within 5 C of the 90 C" in f.cause and "99 % busy" in f.cause


def test_power_limit_below_default_warns_with_the_nvidia_smi_command():
    f = by_id(health(power_lowered_card()), "gpu0.power_limit")
    assert f.severity == "warn"
    assert "220 W" in f.cause and "320 W" in f.cause
    assert "sudo nvidia-smi -i 0 -pl 320" in f.fix


def test_power_capped_under_load_is_a_throttle_warning_not_a_lowered_limit():
    items = health(presets.power_capped_gpu(after=0))  # limit == default, reaching it under load
    assert by_id(items, "gpu0.power_limit").severity == "ok"
    f = by_id(items, "gpu0.throttle")
    assert f.severity == "warn" and "sw_power_cap" in f.cause and "power limit" in f.cause
    assert by_id(items, "gpu0.busy").severity == "warn"  # someone else is loading it


def test_clocks_locked_low_warn_and_name_the_reset():
    f = by_id(health(clocks_locked_card()), "gpu0.clocks")
    assert f.severity == "warn"
    assert "900 of 2100 MHz" in f.cause
    assert "nvidia-smi -i 0 -rgc" in f.fix and "-rac" in f.fix


def test_low_clock_under_load_without_a_reason_warns():
    gpu = presets.cool_desktop(sm_clock_mhz=1000)
    assert by_id(health(gpu), "gpu0.clocks").severity == "warn"


def test_idle_clocks_are_fine():
    f = by_id(health(presets.idle_desktop(sm_clock_mhz=210)), "gpu0.clocks")
    assert f.severity == "ok" and "at idle" in f.cause


def test_throttle_reason_active_at_idle_warns():
    f = by_id(health(slowdown_at_idle_card()), "gpu0.throttle")
    assert f.severity == "warn"
    assert "hw_slowdown at idle" in f.cause
    assert "power cables" in f.fix


def test_laptop_gpu_warns_and_thermal_plus_power_reasons_are_both_named():
    items = health(presets.laptop_throttled())
    laptop = by_id(items, "gpu0.form_factor")
    assert laptop.severity == "warn" and "laptop" in laptop.cause.lower()
    throttle = by_id(items, "gpu0.throttle")
    assert "sw_power_cap, sw_thermal" in throttle.cause
    assert "too hot" in throttle.cause and "power limit" in throttle.cause
    # Laptops do not expose the power constraints: power limit still reads from the default.
    assert by_id(items, "gpu0.power_limit").severity == "ok"


def test_pcie_x4_link_warns_with_bandwidth():
    f = by_id(health(presets.pcie_x4_card()), "gpu0.pcie")
    assert f.severity == "warn"
    assert "Gen3 x4" in f.cause and "x4 of x16 lanes" in f.cause and "supports Gen4" in f.cause
    assert "3.9 of 31.5 GB/s" in f.cause
    assert "x16 slot" in f.fix


def test_idle_gpu_at_a_lower_pcie_generation_is_not_a_problem():
    f = by_id(health(presets.idle_desktop(pcie_gen_current=1)), "gpu0.pcie")
    assert f.severity == "ok" and "idle GPUs lower the generation" in f.cause


def test_loaded_gpu_at_a_lower_pcie_generation_warns():
    f = by_id(health(presets.cool_desktop(pcie_gen_current=2)), "gpu0.pcie")
    assert f.severity == "warn" and "Gen2 of Gen4 under load" in f.cause


def test_sensors_a_board_lacks_make_checks_skipped_not_failed():
    gpu = presets.idle_desktop(unsupported=frozenset({
        "nvmlDeviceGetTemperature", "nvmlDeviceGetTemperatureV", "nvmlDeviceGetPowerManagementDefaultLimit",
        "nvmlDeviceGetCurrPcieLinkGeneration", "nvmlDeviceGetCurrentClocksEventReasons",
        "nvmlDeviceGetCurrentClocksThrottleReasons", "nvmlDeviceGetUtilizationRates",
    }))
    items = health(gpu)
    for name in ("busy", "temperature", "power_limit", "throttle", "pcie"):
        assert by_id(items, f"gpu0.{name}").severity == "skipped", name


def test_two_gpus_get_one_row_each():
    items = findings(context([presets.idle_desktop(), presets.pcie_x4_card()]))
    assert by_id(items, "gpu0.pcie").severity == "ok"
    assert by_id(items, "gpu1.pcie").severity == "warn"
    assert "GPU 1 (RTX 3060)" in by_id(items, "gpu1.pcie").title


def test_device_cpu_checks_no_gpu():
    items = findings(context([hot_idle_card()], request=DoctorRequest(device="cpu")))
    assert not [f for f in items if f.id.startswith("gpu")]
    assert by_id(items, "torch.cuda").severity == "skipped"


def test_target_laptop_gpu_warns_about_form_factor_and_skips_live_state():
    target = TargetGPU("RTX 4060 Laptop", (8, 9), 8 * 2**30, "laptop")
    items = findings(context([hot_idle_card()], target=target, request=DoctorRequest(gpu="4060 laptop")))
    assert by_id(items, "target.form_factor").severity == "warn"
    assert not [f for f in items if f.id.startswith("gpu0.")]  # the installed card is not the question
