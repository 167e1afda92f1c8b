"""The fake NVML must stay faithful to the installed nvidia-ml-py: names, values, signatures, errors."""

from __future__ import annotations

import inspect

import pytest

from segbench.probe.nvml import REASON_BITS
from tests.fakes import fake_pynvml
from tests.fakes.fake_pynvml import FakeClock, FakeGPU, FakeNVML, presets, ramp

pynvml = pytest.importorskip("pynvml")

CONSTANT_PREFIXES = ("NVML_", "nvmlClocks", "nvmlMemory_", "nvmlTemperature_")


def _fake_constants() -> list[str]:
    return [n for n in dir(fake_pynvml) if n.startswith(CONSTANT_PREFIXES) and isinstance(getattr(fake_pynvml, n), int)]


def _fake_functions() -> list[str]:
    return [n for n, v in inspect.getmembers(FakeNVML, inspect.isfunction) if n.startswith("nvml")]


def test_every_fake_constant_exists_in_pynvml_with_the_same_value():
    names = _fake_constants()
    assert len(names) > 80
    mismatched = {n: (getattr(fake_pynvml, n), getattr(pynvml, n, "MISSING")) for n in names
                  if getattr(pynvml, n, None) != getattr(fake_pynvml, n)}
    assert mismatched == {}


def test_every_fake_function_exists_in_pynvml_with_the_same_parameters():
    names = _fake_functions()
    assert "nvmlDeviceGetCurrentClocksEventReasons" in names and len(names) > 30
    for name in names:
        real = inspect.signature(getattr(pynvml, name))
        fake = inspect.signature(getattr(FakeNVML(), name))
        assert list(real.parameters) == list(fake.parameters), name
        defaults = lambda sig: [p.default for p in sig.parameters.values()]
        assert defaults(real) == defaults(fake), name


def test_errors_map_to_the_same_subclasses_as_pynvml():
    for value, real_cls in pynvml.NVMLError._valClassMapping.items():
        if value not in fake_pynvml.NVMLError._valClassMapping:
            continue
        fake_cls = fake_pynvml.NVMLError._valClassMapping[value]
        assert fake_cls.__name__ == real_cls.__name__
        err = fake_pynvml.NVMLError(value)
        assert type(err) is fake_cls and err.value == value
    assert isinstance(fake_pynvml.NVMLError(12), fake_pynvml.NVMLError_LibraryNotFound)
    assert str(fake_pynvml.NVMLError_LibraryNotFound()) == str(pynvml.NVMLError_LibraryNotFound())
    assert str(fake_pynvml.NVMLError_NotSupported()) == "Not Supported"


def test_reason_table_matches_pynvml_bits():
    for name, (bit, suffix) in REASON_BITS.items():
        throttle = getattr(pynvml, "nvmlClocksThrottleReason" + suffix)
        event = getattr(pynvml, "nvmlClocksEventReason" + suffix, throttle)  # BoardLimit, Reliability: throttle only
        assert bit == throttle == event, name


def test_module_attributes_behave_like_a_module():
    nvml = FakeNVML()
    assert nvml.NVML_TEMPERATURE_GPU == pynvml.NVML_TEMPERATURE_GPU
    assert "NVML_DEVICE_ARCH_PASCAL" in dir(nvml)
    with pytest.raises(AttributeError):
        nvml.nvmlDeviceGetSomethingThatDoesNotExist  # noqa: B018


def test_calls_before_init_raise_uninitialized_and_init_error_is_raised():
    nvml = FakeNVML([FakeGPU()])
    with pytest.raises(nvml.NVMLError_Uninitialized):
        nvml.nvmlDeviceGetCount()
    with pytest.raises(nvml.NVMLError_LibraryNotFound):
        FakeNVML(init_error=fake_pynvml.NVML_ERROR_LIBRARY_NOT_FOUND).nvmlInit()


def test_return_types_match_the_real_ones():
    nvml = FakeNVML([presets.laptop_throttled()])
    nvml.nvmlInit()
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    mem = nvml.nvmlDeviceGetMemoryInfo(h)
    assert mem.total == mem.used + mem.free and isinstance(mem.total, int)
    v2 = nvml.nvmlDeviceGetMemoryInfo(h, version=nvml.nvmlMemory_v2)
    assert v2.total == v2.used + v2.reserved + v2.free
    assert isinstance(nvml.nvmlDeviceGetName(h), str)
    assert nvml.nvmlDeviceGetCudaComputeCapability(h) == (8, 6)
    assert nvml.nvmlDeviceGetPowerUsage(h) == 80_100  # milliwatts, as the driver reports
    with pytest.raises(nvml.NVMLError_NotSupported):
        nvml.nvmlDeviceGetFanSpeed(h)
    with pytest.raises(nvml.NVMLError_InvalidArgument):
        nvml.nvmlDeviceGetHandleByIndex(1)


def test_phases_follow_the_clock_and_ramps_interpolate():
    clock = FakeClock()
    gpu = FakeGPU(phases=[(2.0, {"temperature_c": ramp(50, 90, 2.0, 6.0)})])
    nvml = FakeNVML([gpu], clock=clock)
    nvml.nvmlInit()
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    temps = []
    for _ in range(5):
        temps.append(nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU))
        clock.advance(2.0)
    assert temps == [45, 50, 70, 90, 90]


def test_missing_functions_raise_function_not_found_like_an_old_driver():
    nvml = FakeNVML([FakeGPU()], missing_functions={"nvmlDeviceGetCurrentClocksEventReasons"})
    nvml.nvmlInit()
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(nvml.NVMLError_FunctionNotFound):
        nvml.nvmlDeviceGetCurrentClocksEventReasons(h)
    assert nvml.nvmlDeviceGetCurrentClocksThrottleReasons(h) == nvml.nvmlClocksThrottleReasonGpuIdle
