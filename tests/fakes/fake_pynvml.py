"""A fake of the `pynvml` module (nvidia-ml-py 13) for tests: scripted GPUs, real names and errors.

segbench takes the NVML module as a parameter (`collect(nvml=...)`, `TelemetrySampler(nvml=...)`),
so a test passes a `FakeNVML` where the real code would import `pynvml`. The fake keeps the real
boundary: the same function names and parameter names, the same constants and bit values, the same
return types (ints in the driver's units: milliwatts, MHz, bytes; `str` for names; an object with
`.total/.free/.used` for memory, `.gpu/.memory` for utilisation), and the same `NVMLError` subclass
per error value, raised where the real library raises (a sensor a board lacks -> NotSupported, a
symbol an older driver lacks -> FunctionNotFound, a call before `nvmlInit` -> Uninitialized).
`tests/test_probe_fake_nvml.py` checks names, values and signatures against the installed pynvml.

Configuring it::

    from tests.fakes.fake_pynvml import FakeGPU, FakeNVML, presets

    nvml = FakeNVML([presets.cool_desktop(), presets.laptop_throttled()])
    nvml = FakeNVML(init_error=NVML_ERROR_LIBRARY_NOT_FOUND)      # no driver at all
    nvml = FakeNVML([presets.pascal_card()], missing_functions={"nvmlDeviceGetCurrentClocksEventReasons"})

A GPU's state changes over time through `phases`: `(at, {field: value})` pairs applied in order
once the fake's "now" reaches `at`. "Now" is seconds on `clock` since the fake was made, when it is
given a clock (share a `FakeClock` with the code under test, e.g. a sampler), and otherwise a step
counter moved by `tick()`.
A value may also be a callable `f(now) -> value`, e.g. a temperature ramp. The presets
`heating_gpu(after=...)` and `power_capped_gpu(after=...)` are built this way.

`FakeNVML.calls` counts calls by function name, for tests that care how often NVML is asked.
"""

from __future__ import annotations

import collections
import dataclasses
import string
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------------------------
# Constants: values copied from nvidia-ml-py 13.615 (pynvml.py), which copies nvml.h.

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_ALREADY_INITIALIZED = 5
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_INSUFFICIENT_SIZE = 7
NVML_ERROR_INSUFFICIENT_POWER = 8
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_IRQ_ISSUE = 11
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_CORRUPTED_INFOROM = 14
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_OPERATING_SYSTEM = 17
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_IN_USE = 19
NVML_ERROR_MEMORY = 20
NVML_ERROR_NO_DATA = 21
NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22
NVML_ERROR_INSUFFICIENT_RESOURCES = 23
NVML_ERROR_FREQ_NOT_SUPPORTED = 24
NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25
NVML_ERROR_DEPRECATED = 26
NVML_ERROR_NOT_READY = 27
NVML_ERROR_GPU_NOT_FOUND = 28
NVML_ERROR_INVALID_STATE = 29
NVML_ERROR_RESET_TYPE_NOT_SUPPORTED = 30
NVML_ERROR_UNKNOWN = 999

NVML_TEMPERATURE_THRESHOLD_SHUTDOWN = 0
NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1
NVML_TEMPERATURE_THRESHOLD_MEM_MAX = 2
NVML_TEMPERATURE_THRESHOLD_GPU_MAX = 3
NVML_TEMPERATURE_THRESHOLD_ACOUSTIC_MIN = 4
NVML_TEMPERATURE_THRESHOLD_ACOUSTIC_CURR = 5
NVML_TEMPERATURE_THRESHOLD_ACOUSTIC_MAX = 6
NVML_TEMPERATURE_THRESHOLD_GPS_CURR = 7
NVML_TEMPERATURE_THRESHOLD_COUNT = 8

NVML_TEMPERATURE_GPU = 0
NVML_TEMPERATURE_GPU_MAX = 1
NVML_TEMPERATURE_COUNT = 2

NVML_CLOCK_GRAPHICS = 0
NVML_CLOCK_SM = 1
NVML_CLOCK_MEM = 2
NVML_CLOCK_VIDEO = 3
NVML_CLOCK_COUNT = 4

NVML_PSTATE_0 = 0
NVML_PSTATE_2 = 2
NVML_PSTATE_8 = 8
NVML_PSTATE_UNKNOWN = 32

NVML_DEVICE_ARCH_KEPLER = 2
NVML_DEVICE_ARCH_MAXWELL = 3
NVML_DEVICE_ARCH_PASCAL = 4
NVML_DEVICE_ARCH_VOLTA = 5
NVML_DEVICE_ARCH_TURING = 6
NVML_DEVICE_ARCH_AMPERE = 7
NVML_DEVICE_ARCH_ADA = 8
NVML_DEVICE_ARCH_HOPPER = 9
NVML_DEVICE_ARCH_BLACKWELL = 10
NVML_DEVICE_ARCH_UNKNOWN = 0xFFFFFFFF

nvmlMemory_v2 = 0x02000028
nvmlTemperature_v1 = 0x100000C

# Clocks-event reasons (the current names) and their deprecated "throttle" twins: same bits.
nvmlClocksEventReasonGpuIdle = 0x0000000000000001
nvmlClocksEventReasonApplicationsClocksSetting = 0x0000000000000002
nvmlClocksEventReasonUserDefinedClocks = nvmlClocksEventReasonApplicationsClocksSetting
nvmlClocksEventReasonSwPowerCap = 0x0000000000000004
nvmlClocksEventReasonHwSlowdown = 0x0000000000000008
nvmlClocksEventReasonSyncBoost = 0x0000000000000010
nvmlClocksEventReasonSwThermalSlowdown = 0x0000000000000020
nvmlClocksEventReasonHwThermalSlowdown = 0x0000000000000040
nvmlClocksEventReasonHwPowerBrakeSlowdown = 0x0000000000000080
nvmlClocksEventReasonDisplayClockSetting = 0x0000000000000100
nvmlClocksEventReasonNone = 0x0000000000000000

nvmlClocksThrottleReasonGpuIdle = 0x0000000000000001
nvmlClocksThrottleReasonApplicationsClocksSetting = 0x0000000000000002
nvmlClocksThrottleReasonUserDefinedClocks = nvmlClocksThrottleReasonApplicationsClocksSetting
nvmlClocksThrottleReasonSwPowerCap = 0x0000000000000004
nvmlClocksThrottleReasonHwSlowdown = 0x0000000000000008
nvmlClocksThrottleReasonSyncBoost = 0x0000000000000010
nvmlClocksThrottleReasonSwThermalSlowdown = 0x0000000000000020
nvmlClocksThrottleReasonHwThermalSlowdown = 0x0000000000000040
nvmlClocksThrottleReasonHwPowerBrakeSlowdown = 0x0000000000000080
nvmlClocksThrottleReasonDisplayClockSetting = 0x0000000000000100
nvmlClocksThrottleReasonBoardLimit = 0x0000000000000200
nvmlClocksThrottleReasonReliability = 0x0000000000000400
nvmlClocksThrottleReasonNone = 0x0000000000000000


# ---------------------------------------------------------------------------------------------
# Errors: the same construction as pynvml, so `NVMLError(12)` *is* an `NVMLError_LibraryNotFound`.


class NVMLError(Exception):
    _valClassMapping: dict[int, type] = dict()
    _errcode_to_string = {
        NVML_ERROR_UNINITIALIZED: "Uninitialized",
        NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
        NVML_ERROR_NOT_SUPPORTED: "Not Supported",
        NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
        NVML_ERROR_ALREADY_INITIALIZED: "Already Initialized",
        NVML_ERROR_NOT_FOUND: "Not Found",
        NVML_ERROR_INSUFFICIENT_SIZE: "Insufficient Size",
        NVML_ERROR_INSUFFICIENT_POWER: "Insufficient External Power",
        NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
        NVML_ERROR_TIMEOUT: "Timeout",
        NVML_ERROR_IRQ_ISSUE: "Interrupt Request Issue",
        NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
        NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
        NVML_ERROR_CORRUPTED_INFOROM: "Corrupted infoROM",
        NVML_ERROR_GPU_IS_LOST: "GPU is lost",
        NVML_ERROR_RESET_REQUIRED: "GPU requires restart",
        NVML_ERROR_OPERATING_SYSTEM: "The operating system has blocked the request.",
        NVML_ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch.",
        NVML_ERROR_MEMORY: "Insufficient Memory",
        NVML_ERROR_UNKNOWN: "Unknown Error",
    }

    def __new__(typ, value):
        if typ == NVMLError:
            typ = NVMLError._valClassMapping.get(value, typ)
        obj = Exception.__new__(typ)
        obj.value = value
        return obj

    def __str__(self):
        return NVMLError._errcode_to_string.get(self.value, "NVML Error with code %d" % self.value)

    def __eq__(self, other):
        return self.value == other.value

    __hash__ = Exception.__hash__


def _extract_errors_as_classes() -> None:
    # NVML_ERROR_ALREADY_INITIALIZED -> NVMLError_AlreadyInitialized, as pynvml names them.
    module = sys.modules[__name__]
    for err_name in [n for n in dir(module) if n.startswith("NVML_ERROR_")]:
        class_name = "NVMLError_" + string.capwords(err_name.replace("NVML_ERROR_", ""), "_").replace("_", "")
        err_val = getattr(module, err_name)

        def gen_new(val):
            def new(typ, *args):
                return NVMLError.__new__(typ, val)

            return new

        cls = type(class_name, (NVMLError,), {"__new__": gen_new(err_val)})
        cls.__module__ = __name__
        setattr(module, class_name, cls)
        NVMLError._valClassMapping[err_val] = cls


_extract_errors_as_classes()


# ---------------------------------------------------------------------------------------------
# Return types: attribute-compatible with pynvml's ctypes structures.


@dataclass
class c_nvmlMemory_t:
    total: int
    free: int
    used: int


@dataclass
class c_nvmlMemory_v2_t:
    version: int
    total: int
    reserved: int
    free: int
    used: int


@dataclass
class c_nvmlUtilization_t:
    gpu: int
    memory: int


@dataclass(frozen=True)
class FakeHandle:
    """Stands for pynvml's opaque `c_nvmlDevice_t` handle."""

    index: int


# ---------------------------------------------------------------------------------------------
# A scripted GPU.

MiB = 1024**2
GiB = 1024**3


@dataclass
class FakeGPU:
    """One GPU's state in the driver's units. Any field can be changed over time by `phases`.

    `fan_speed_pct=None` means the board has no fan NVML can read (laptops, passive data-centre
    cards): the call raises NotSupported, as it does there. `unsupported` names further functions
    that raise NotSupported for this GPU; `handle_error` makes nvmlDeviceGetHandleByIndex fail.
    """

    name: str = "NVIDIA GeForce RTX 3090"
    uuid: str = "GPU-5a1f0b7c-3d2e-4f60-8a91-0c2b3d4e5f60"
    memory_total_bytes: int = 24576 * MiB
    memory_used_bytes: int = 1024 * MiB
    memory_reserved_bytes: int = 330 * MiB
    compute_capability: tuple[int, int] = (8, 6)
    architecture: int = NVML_DEVICE_ARCH_AMPERE
    temperature_c: int = 45
    temperature_slowdown_c: int = 95
    temperature_shutdown_c: int = 98
    temperature_gpu_max_c: int = 93
    temperature_mem_max_c: int | None = None
    graphics_clock_mhz: int = 1695
    sm_clock_mhz: int = 1695
    mem_clock_mhz: int = 9751
    video_clock_mhz: int = 1560
    graphics_clock_max_mhz: int = 2100
    sm_clock_max_mhz: int = 2100
    mem_clock_max_mhz: int = 9751
    video_clock_max_mhz: int = 1950
    power_mw: int = 120_000
    power_limit_mw: int = 350_000  # enforced limit (what the board obeys)
    power_management_limit_mw: int = 350_000  # the limit as set (nvidia-smi -pl)
    power_default_limit_mw: int = 350_000
    power_limit_constraints_mw: tuple[int, int] = (100_000, 400_000)
    util_gpu_pct: int = 0
    util_memory_pct: int = 0
    clocks_event_reasons: int = nvmlClocksEventReasonGpuIdle
    supported_clocks_event_reasons: int = 0x1FF
    pstate: int = NVML_PSTATE_8
    pcie_gen_current: int = 4
    pcie_gen_max: int = 4  # max for this device in this slot
    pcie_gen_gpu_max: int = 4  # max the GPU itself supports
    pcie_width_current: int = 16
    pcie_width_max: int = 16
    fan_speed_pct: int | None = 30
    num_fans: int = 2
    unsupported: frozenset[str] = frozenset()
    handle_error: int | None = None  # e.g. NVML_ERROR_GPU_IS_LOST: the GPU cannot even be opened
    phases: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def at(self, now: float) -> FakeGPU:
        """This GPU's state at `now`: the phases with `at <= now` applied in order."""
        if not self.phases:
            return self
        changes: dict[str, Any] = {}
        for start, overrides in sorted(self.phases, key=lambda p: p[0]):
            if now >= start:
                for key, value in overrides.items():
                    changes[key] = value(now) if callable(value) else value
        return dataclasses.replace(self, phases=[], **changes) if changes else self


# ---------------------------------------------------------------------------------------------
# The fake module.


class FakeNVML:
    """Stands in for the `pynvml` module. Constants and error classes are attributes, as there."""

    def __init__(
        self,
        gpus: Iterable[FakeGPU] = (),
        *,
        driver_version: str = "550.54.14",
        cuda_driver_version: int = 12040,
        nvml_version: str = "12.550.54.14",
        init_error: int | None = None,
        missing_functions: Iterable[str] = (),
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.gpus = list(gpus)
        self.driver_version = driver_version
        self.cuda_driver_version = cuda_driver_version
        self.nvml_version = nvml_version
        self.init_error = init_error
        self.missing_functions = set(missing_functions)
        self.clock = clock
        self._t0 = clock() if clock is not None else 0.0
        self.step = 0
        self.refcount = 0
        self.calls: collections.Counter[str] = collections.Counter()

    # Constants, error classes and structure types read as module attributes, and dir() lists them.
    _MODULE_PREFIXES = ("NVML_", "NVMLError", "nvmlClocks", "nvmlMemory_", "nvmlTemperature_", "c_nvml")

    def __getattr__(self, name: str) -> Any:
        if name.startswith(FakeNVML._MODULE_PREFIXES):
            try:
                return getattr(sys.modules[__name__], name)
            except AttributeError:
                pass
        raise AttributeError(f"module 'pynvml' has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        module_names = [n for n in dir(sys.modules[__name__]) if n.startswith(FakeNVML._MODULE_PREFIXES)]
        return sorted(set(super().__dir__()) | set(module_names))

    # -- scripting ----------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock() - self._t0 if self.clock is not None else float(self.step)

    def tick(self, n: int = 1) -> None:
        """Advance the step counter (used when the fake has no clock)."""
        self.step += n

    def _enter(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.missing_functions:
            raise NVMLError(NVML_ERROR_FUNCTION_NOT_FOUND)
        if self.refcount <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _gpu(self, name: str, handle: Any) -> FakeGPU:
        self._enter(name)
        if not isinstance(handle, FakeHandle) or not 0 <= handle.index < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        gpu = self.gpus[handle.index].at(self.now())
        if name in gpu.unsupported:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return gpu

    # -- init / system ------------------------------------------------------------------------
    def nvmlInitWithFlags(self, flags):
        self.calls["nvmlInitWithFlags"] += 1
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.refcount += 1

    def nvmlInit(self):
        self.nvmlInitWithFlags(0)

    def nvmlShutdown(self):
        self._enter("nvmlShutdown")
        self.refcount -= 1

    def nvmlErrorString(self, result):
        return NVMLError._errcode_to_string.get(result, "Unknown Error")

    def nvmlSystemGetDriverVersion(self):
        self._enter("nvmlSystemGetDriverVersion")
        return self.driver_version

    def nvmlSystemGetNVMLVersion(self):
        self._enter("nvmlSystemGetNVMLVersion")
        return self.nvml_version

    def nvmlSystemGetCudaDriverVersion(self):
        self._enter("nvmlSystemGetCudaDriverVersion")
        return self.cuda_driver_version

    def nvmlSystemGetCudaDriverVersion_v2(self):
        self._enter("nvmlSystemGetCudaDriverVersion_v2")
        return self.cuda_driver_version

    def nvmlDeviceGetCount(self):
        self._enter("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        self._enter("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        if self.gpus[index].handle_error is not None:
            raise NVMLError(self.gpus[index].handle_error)
        return FakeHandle(index)

    # -- identity -----------------------------------------------------------------------------
    def nvmlDeviceGetIndex(self, handle):
        self._gpu("nvmlDeviceGetIndex", handle)
        return handle.index

    def nvmlDeviceGetName(self, handle):
        return self._gpu("nvmlDeviceGetName", handle).name

    def nvmlDeviceGetUUID(self, handle):
        return self._gpu("nvmlDeviceGetUUID", handle).uuid

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        return tuple(self._gpu("nvmlDeviceGetCudaComputeCapability", handle).compute_capability)

    def nvmlDeviceGetArchitecture(self, device):
        return self._gpu("nvmlDeviceGetArchitecture", device).architecture

    # -- memory and utilisation ---------------------------------------------------------------
    def nvmlDeviceGetMemoryInfo(self, handle, version=None):
        gpu = self._gpu("nvmlDeviceGetMemoryInfo", handle)
        used = gpu.memory_used_bytes
        if not version:
            # v1 counts the driver's reserved memory as used.
            total = gpu.memory_total_bytes
            return c_nvmlMemory_t(total=total, free=total - used - gpu.memory_reserved_bytes, used=used + gpu.memory_reserved_bytes)
        if version != nvmlMemory_v2:
            raise NVMLError(NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
        total = gpu.memory_total_bytes
        free = total - used - gpu.memory_reserved_bytes
        return c_nvmlMemory_v2_t(version=version, total=total, reserved=gpu.memory_reserved_bytes, free=free, used=used)

    def nvmlDeviceGetUtilizationRates(self, handle):
        gpu = self._gpu("nvmlDeviceGetUtilizationRates", handle)
        return c_nvmlUtilization_t(gpu=gpu.util_gpu_pct, memory=gpu.util_memory_pct)

    # -- temperature --------------------------------------------------------------------------
    def nvmlDeviceGetTemperature(self, handle, sensor):
        gpu = self._gpu("nvmlDeviceGetTemperature", handle)
        if sensor != NVML_TEMPERATURE_GPU:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return gpu.temperature_c

    def nvmlDeviceGetTemperatureV(self, handle, sensor, version=nvmlTemperature_v1):
        gpu = self._gpu("nvmlDeviceGetTemperatureV", handle)
        if version != nvmlTemperature_v1:
            raise NVMLError(NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
        if sensor != NVML_TEMPERATURE_GPU:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return gpu.temperature_c

    def nvmlDeviceGetTemperatureThreshold(self, handle, threshold):
        gpu = self._gpu("nvmlDeviceGetTemperatureThreshold", handle)
        value = {
            NVML_TEMPERATURE_THRESHOLD_SHUTDOWN: gpu.temperature_shutdown_c,
            NVML_TEMPERATURE_THRESHOLD_SLOWDOWN: gpu.temperature_slowdown_c,
            NVML_TEMPERATURE_THRESHOLD_GPU_MAX: gpu.temperature_gpu_max_c,
            NVML_TEMPERATURE_THRESHOLD_MEM_MAX: gpu.temperature_mem_max_c,
        }.get(threshold)
        if value is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return value

    # -- clocks -------------------------------------------------------------------------------
    def nvmlDeviceGetClockInfo(self, handle, type):
        gpu = self._gpu("nvmlDeviceGetClockInfo", handle)
        return self._clock(gpu, type, "")

    def nvmlDeviceGetMaxClockInfo(self, handle, type):
        gpu = self._gpu("nvmlDeviceGetMaxClockInfo", handle)
        return self._clock(gpu, type, "_max")

    @staticmethod
    def _clock(gpu: FakeGPU, clock_type: int, suffix: str) -> int:
        names = {NVML_CLOCK_GRAPHICS: "graphics", NVML_CLOCK_SM: "sm", NVML_CLOCK_MEM: "mem", NVML_CLOCK_VIDEO: "video"}
        if clock_type not in names:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return getattr(gpu, f"{names[clock_type]}_clock{suffix}_mhz")

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle):
        return self._gpu("nvmlDeviceGetCurrentClocksEventReasons", handle).clocks_event_reasons

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle):
        return self._gpu("nvmlDeviceGetCurrentClocksThrottleReasons", handle).clocks_event_reasons

    def nvmlDeviceGetSupportedClocksEventReasons(self, handle):
        return self._gpu("nvmlDeviceGetSupportedClocksEventReasons", handle).supported_clocks_event_reasons

    def nvmlDeviceGetSupportedClocksThrottleReasons(self, handle):
        return self._gpu("nvmlDeviceGetSupportedClocksThrottleReasons", handle).supported_clocks_event_reasons

    def nvmlDeviceGetPerformanceState(self, handle):
        return self._gpu("nvmlDeviceGetPerformanceState", handle).pstate

    # -- power --------------------------------------------------------------------------------
    def nvmlDeviceGetPowerUsage(self, handle):
        return self._gpu("nvmlDeviceGetPowerUsage", handle).power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):
        return self._gpu("nvmlDeviceGetEnforcedPowerLimit", handle).power_limit_mw

    def nvmlDeviceGetPowerManagementLimit(self, handle):
        return self._gpu("nvmlDeviceGetPowerManagementLimit", handle).power_management_limit_mw

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle):
        return self._gpu("nvmlDeviceGetPowerManagementDefaultLimit", handle).power_default_limit_mw

    def nvmlDeviceGetPowerManagementLimitConstraints(self, handle):
        return list(self._gpu("nvmlDeviceGetPowerManagementLimitConstraints", handle).power_limit_constraints_mw)

    # -- PCIe ---------------------------------------------------------------------------------
    def nvmlDeviceGetCurrPcieLinkGeneration(self, handle):
        return self._gpu("nvmlDeviceGetCurrPcieLinkGeneration", handle).pcie_gen_current

    def nvmlDeviceGetMaxPcieLinkGeneration(self, handle):
        return self._gpu("nvmlDeviceGetMaxPcieLinkGeneration", handle).pcie_gen_max

    def nvmlDeviceGetGpuMaxPcieLinkGeneration(self, handle):
        return self._gpu("nvmlDeviceGetGpuMaxPcieLinkGeneration", handle).pcie_gen_gpu_max

    def nvmlDeviceGetCurrPcieLinkWidth(self, handle):
        return self._gpu("nvmlDeviceGetCurrPcieLinkWidth", handle).pcie_width_current

    def nvmlDeviceGetMaxPcieLinkWidth(self, handle):
        return self._gpu("nvmlDeviceGetMaxPcieLinkWidth", handle).pcie_width_max

    # -- fans ---------------------------------------------------------------------------------
    def nvmlDeviceGetFanSpeed(self, handle):
        gpu = self._gpu("nvmlDeviceGetFanSpeed", handle)
        if gpu.fan_speed_pct is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return gpu.fan_speed_pct

    def nvmlDeviceGetFanSpeed_v2(self, handle, fan):
        gpu = self._gpu("nvmlDeviceGetFanSpeed_v2", handle)
        if gpu.fan_speed_pct is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        if not 0 <= fan < gpu.num_fans:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return gpu.fan_speed_pct

    def nvmlDeviceGetNumFans(self, device):
        gpu = self._gpu("nvmlDeviceGetNumFans", device)
        return gpu.num_fans if gpu.fan_speed_pct is not None else 0


# ---------------------------------------------------------------------------------------------
# Presets: GPUs other tests (probe, doctor, sampler, soak) reuse. `after` is in the fake's time
# unit: seconds on its clock, or steps of `tick()` without one.

_LOADED = dict(util_gpu_pct=99, util_memory_pct=60, pstate=NVML_PSTATE_0, clocks_event_reasons=nvmlClocksEventReasonNone)


class presets:
    """Factories for typical GPUs. Each returns a fresh `FakeGPU`; pass overrides as keywords."""

    @staticmethod
    def cool_desktop(**overrides: Any) -> FakeGPU:
        """RTX 3090 under full load that stays cool: 62 C, full boost, below its power limit."""
        base = dict(temperature_c=62, sm_clock_mhz=1950, graphics_clock_mhz=1950, power_mw=300_000, **_LOADED)
        return FakeGPU(**{**base, **overrides})

    @staticmethod
    def idle_desktop(**overrides: Any) -> FakeGPU:
        """RTX 3090 at the desktop: idle clocks, `gpu_idle` reason (which is not throttling)."""
        return FakeGPU(**overrides)

    @staticmethod
    def heating_gpu(after: float = 5, **overrides: Any) -> FakeGPU:
        """RTX 4090 in a small case: cool and at full boost until `after`, then 90 C, thermal slowdown
        and the SM clock down from 2520 to 1800 MHz."""
        base = dict(
            name="NVIDIA GeForce RTX 4090",
            uuid="GPU-0b4e8d2a-7c61-4f3e-9d5a-2e8f1a6b4c90",
            memory_total_bytes=24564 * MiB,
            compute_capability=(8, 9),
            architecture=NVML_DEVICE_ARCH_ADA,
            temperature_c=65,
            temperature_slowdown_c=90,
            temperature_shutdown_c=92,
            temperature_gpu_max_c=90,
            sm_clock_mhz=2520,
            graphics_clock_mhz=2520,
            sm_clock_max_mhz=3120,
            graphics_clock_max_mhz=3120,
            mem_clock_mhz=10501,
            mem_clock_max_mhz=10501,
            power_mw=380_000,
            power_limit_mw=450_000,
            power_management_limit_mw=450_000,
            power_default_limit_mw=450_000,
            power_limit_constraints_mw=(150_000, 600_000),
            phases=[
                (after, dict(temperature_c=90, sm_clock_mhz=1800, graphics_clock_mhz=1800, power_mw=310_000,
                             clocks_event_reasons=nvmlClocksEventReasonSwThermalSlowdown)),
            ],
            **_LOADED,
        )
        return FakeGPU(**{**base, **overrides})

    @staticmethod
    def power_capped_gpu(after: float = 5, **overrides: Any) -> FakeGPU:
        """RTX 3080 whose draw reaches its 320 W limit at `after`: `sw_power_cap`, SM clock 1950 -> 1710 MHz,
        temperature fine (71 C)."""
        base = dict(
            name="NVIDIA GeForce RTX 3080",
            uuid="GPU-7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09",
            memory_total_bytes=10240 * MiB,
            temperature_c=66,
            sm_clock_mhz=1950,
            graphics_clock_mhz=1950,
            mem_clock_mhz=9501,
            mem_clock_max_mhz=9501,
            power_mw=290_000,
            power_limit_mw=320_000,
            power_management_limit_mw=320_000,
            power_default_limit_mw=320_000,
            power_limit_constraints_mw=(100_000, 370_000),
            phases=[
                (after, dict(temperature_c=71, sm_clock_mhz=1710, graphics_clock_mhz=1710, power_mw=319_500,
                             clocks_event_reasons=nvmlClocksEventReasonSwPowerCap)),
            ],
            **_LOADED,
        )
        return FakeGPU(**{**base, **overrides})

    @staticmethod
    def laptop_throttled(**overrides: Any) -> FakeGPU:
        """RTX 3070 Laptop GPU at 87 C and its 80 W limit: power cap and thermal slowdown both on,
        SM clock 1245 of 1620 MHz, PCIe Gen4 x8, no readable fan, limit constraints not exposed."""
        base = dict(
            name="NVIDIA GeForce RTX 3070 Laptop GPU",
            uuid="GPU-1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
            memory_total_bytes=8192 * MiB,
            memory_used_bytes=6900 * MiB,
            temperature_c=87,
            temperature_slowdown_c=99,
            temperature_shutdown_c=102,
            temperature_gpu_max_c=87,
            sm_clock_mhz=1245,
            graphics_clock_mhz=1245,
            sm_clock_max_mhz=1620,
            graphics_clock_max_mhz=1620,
            mem_clock_mhz=6001,
            mem_clock_max_mhz=7001,
            power_mw=80_100,
            power_limit_mw=80_000,
            power_management_limit_mw=80_000,
            power_default_limit_mw=80_000,
            util_gpu_pct=98,
            util_memory_pct=71,
            pstate=NVML_PSTATE_0,
            clocks_event_reasons=nvmlClocksEventReasonSwPowerCap | nvmlClocksEventReasonSwThermalSlowdown,
            pcie_gen_current=4,
            pcie_gen_max=4,
            pcie_gen_gpu_max=4,
            pcie_width_current=8,
            pcie_width_max=8,
            fan_speed_pct=None,
            unsupported=frozenset({"nvmlDeviceGetPowerManagementLimitConstraints"}),
        )
        return FakeGPU(**{**base, **overrides})

    @staticmethod
    def pascal_card(**overrides: Any) -> FakeGPU:
        """GTX 1080 Ti: compute capability 6.1 (no bf16, no tensor cores), 11 GiB, PCIe Gen3 x16."""
        base = dict(
            name="NVIDIA GeForce GTX 1080 Ti",
            uuid="GPU-9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4",
            memory_total_bytes=11264 * MiB,
            compute_capability=(6, 1),
            architecture=NVML_DEVICE_ARCH_PASCAL,
            temperature_c=52,
            temperature_slowdown_c=93,
            temperature_shutdown_c=96,
            temperature_gpu_max_c=91,
            sm_clock_mhz=1911,
            graphics_clock_mhz=1911,
            sm_clock_max_mhz=1911,
            graphics_clock_max_mhz=1911,
            mem_clock_mhz=5505,
            mem_clock_max_mhz=5505,
            power_mw=240_000,
            power_limit_mw=250_000,
            power_management_limit_mw=250_000,
            power_default_limit_mw=250_000,
            power_limit_constraints_mw=(125_000, 300_000),
            pcie_gen_current=3,
            pcie_gen_max=3,
            pcie_gen_gpu_max=3,
            **_LOADED,
        )
        return FakeGPU(**{**base, **overrides})

    @staticmethod
    def pcie_x4_card(**overrides: Any) -> FakeGPU:
        """RTX 3060 12GB on a riser / chipset slot: running at Gen3 x4 of a Gen4 x16 link."""
        base = dict(
            name="NVIDIA GeForce RTX 3060",
            uuid="GPU-4f3e2d1c-0b9a-4877-a655-443322110099",
            memory_total_bytes=12288 * MiB,
            sm_clock_mhz=1882,
            graphics_clock_mhz=1882,
            power_mw=165_000,
            power_limit_mw=170_000,
            power_management_limit_mw=170_000,
            power_default_limit_mw=170_000,
            pcie_gen_current=3,
            pcie_gen_max=3,
            pcie_gen_gpu_max=4,
            pcie_width_current=4,
            pcie_width_max=16,
            **_LOADED,
        )
        return FakeGPU(**{**base, **overrides})

    @staticmethod
    def datacenter_h100(**overrides: Any) -> FakeGPU:
        """H100 SXM 80GB: passive cooling (no fan reading), 700 W limit, memory temperature limit, Gen5 x16."""
        base = dict(
            name="NVIDIA H100 80GB HBM3",
            uuid="GPU-aa11bb22-cc33-4d44-8e55-ff6677889900",
            memory_total_bytes=81559 * MiB,
            compute_capability=(9, 0),
            architecture=NVML_DEVICE_ARCH_HOPPER,
            temperature_c=48,
            temperature_slowdown_c=87,
            temperature_shutdown_c=92,
            temperature_gpu_max_c=85,
            temperature_mem_max_c=95,
            sm_clock_mhz=1980,
            graphics_clock_mhz=1980,
            sm_clock_max_mhz=1980,
            graphics_clock_max_mhz=1980,
            mem_clock_mhz=2619,
            mem_clock_max_mhz=2619,
            power_mw=520_000,
            power_limit_mw=700_000,
            power_management_limit_mw=700_000,
            power_default_limit_mw=700_000,
            power_limit_constraints_mw=(200_000, 700_000),
            pcie_gen_current=5,
            pcie_gen_max=5,
            pcie_gen_gpu_max=5,
            fan_speed_pct=None,
            **_LOADED,
        )
        return FakeGPU(**{**base, **overrides})


def ramp(start_value: float, end_value: float, t0: float, t1: float) -> Callable[[float], int]:
    """A phase value rising (or falling) linearly from `start_value` at t0 to `end_value` at t1."""

    def value(now: float) -> int:
        if now <= t0:
            return round(start_value)
        if now >= t1:
            return round(end_value)
        return round(start_value + (end_value - start_value) * (now - t0) / (t1 - t0))

    return value


class FakeClock:
    """A clock for tests: returns `now`, which moves only by `advance(dt)`, or also by `step` on each
    read (keep `step=0` when a FakeNVML shares the clock: its reads would move time too)."""

    def __init__(self, start: float = 1000.0, step: float = 0.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value

    def advance(self, dt: float) -> None:
        self.now += dt
