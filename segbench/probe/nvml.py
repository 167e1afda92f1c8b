"""GPU facts through NVML (the `pynvml` module of nvidia-ml-py).

Every query goes through `NvmlSession._query`, which turns any NVML error into `None`, so one
sensor a board lacks (a laptop's fan, a passive card's power constraints) never breaks the probe
or the sampler (nvitop's habit). Opening NVML is the one step that can fail as a whole; it raises
`NvmlUnavailable` whose message says why in plain words.

`NvmlSession.sample(i)` is the per-sample query the telemetry sampler also uses; `gpu_facts(i)`
is that plus the facts that do not change (name, UUID, thresholds, PCIe, ...).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

# Clocks-event ("throttle") reason bits from nvml.h, as pynvml names them
# (nvmlClocksEventReason<X>; the deprecated nvmlClocksThrottleReason<X> has the same values).
# tests/test_probe_fake_nvml.py checks this table against the installed pynvml.
REASON_BITS: dict[str, tuple[int, str]] = {
    "gpu_idle": (0x001, "GpuIdle"),
    "applications_clocks_setting": (0x002, "ApplicationsClocksSetting"),
    "sw_power_cap": (0x004, "SwPowerCap"),
    "hw_slowdown": (0x008, "HwSlowdown"),
    "sync_boost": (0x010, "SyncBoost"),
    "sw_thermal": (0x020, "SwThermalSlowdown"),
    "hw_thermal": (0x040, "HwThermalSlowdown"),
    "hw_power_brake": (0x080, "HwPowerBrakeSlowdown"),
    "display_clock_setting": (0x100, "DisplayClockSetting"),
    "board_limit": (0x200, "BoardLimit"),
    "reliability": (0x400, "Reliability"),
}

# Reasons that lower clocks without limiting a running workload (see segbench/telemetry/FORMAT.md).
NOT_THROTTLING = frozenset({"gpu_idle", "applications_clocks_setting"})

# What each throttling reason says about the machine; hw_slowdown can be heat, power brake or
# over-current, so it stays "other".
REASON_CATEGORY = {
    "sw_thermal": "thermal",
    "hw_thermal": "thermal",
    "sw_power_cap": "power",
    "hw_power_brake": "power",
}


def decode_reasons(mask: int) -> list[str]:
    """Names of the bits set in a clocks-event reason mask; unknown bits as `unknown_0x...`."""
    names = [name for name, (bit, _) in REASON_BITS.items() if mask & bit]
    known = sum(bit for bit, _ in REASON_BITS.values())
    rest = mask & ~known
    bit = 1
    while rest:
        if rest & bit:
            names.append(f"unknown_{bit:#x}")
            rest &= ~bit
        bit <<= 1
    return names


def throttling(reasons: Iterable[str]) -> list[str]:
    """The reasons among `reasons` that count as throttling."""
    return [r for r in reasons if r not in NOT_THROTTLING]


def reason_category(reason: str) -> str:
    """'thermal', 'power' or 'other' for a throttling reason name."""
    return REASON_CATEGORY.get(reason, "other")


class NvmlUnavailable(Exception):
    """NVML could not be opened; `str(error)` is a plain-words note for the user."""


def _plain_words(nvml: Any, error: Exception) -> str:
    value = getattr(error, "value", None)
    code = lambda name: getattr(nvml, name, None)
    if value == code("NVML_ERROR_LIBRARY_NOT_FOUND"):
        return "no NVIDIA driver found (libnvidia-ml is not installed), so no NVIDIA GPU can be used here"
    if value == code("NVML_ERROR_DRIVER_NOT_LOADED"):
        return "the NVIDIA driver is installed but not running (no GPU present, or its kernel module failed to load; try `nvidia-smi`)"
    if value == code("NVML_ERROR_NO_PERMISSION"):
        return "no permission to talk to the NVIDIA driver (check the /dev/nvidia* device permissions)"
    if value == code("NVML_ERROR_LIB_RM_VERSION_MISMATCH"):
        return "the NVIDIA driver library and kernel module have different versions (reboot after a driver update)"
    return f"NVML could not start: {error}"


def load_pynvml() -> ModuleType:
    """Import pynvml lazily; raise NvmlUnavailable when nvidia-ml-py is not installed."""
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        raise NvmlUnavailable("nvidia-ml-py is not installed (pip install nvidia-ml-py), so GPUs cannot be queried") from None


def _arch_names(nvml: Any) -> dict[int, str]:
    prefix = "NVML_DEVICE_ARCH_"
    return {
        getattr(nvml, name): name[len(prefix):].lower()
        for name in dir(nvml)
        if name.startswith(prefix) and name != prefix + "UNKNOWN" and isinstance(getattr(nvml, name), int)
    }


def _mw_to_w(value: int | None) -> float | None:
    return None if value is None else round(value / 1000.0, 1)


def _cuda_version(value: int | None) -> str | None:
    # nvmlSystemGetCudaDriverVersion gives 1000 * major + 10 * minor, e.g. 12040 -> "12.4".
    return None if not value else f"{value // 1000}.{(value % 1000) // 10}"


class NvmlSession:
    """An open NVML: handles for each GPU and queries that return None instead of raising."""

    def __init__(self, nvml: Any) -> None:
        """Initialise NVML through the module `nvml`; raises NvmlUnavailable (plain words) on failure."""
        self.nvml = nvml
        try:
            nvml.nvmlInit()
        except Exception as exc:  # NVMLError mostly; anything else is no less "unavailable"
            raise NvmlUnavailable(_plain_words(nvml, exc)) from None
        self._open = True
        # Preferred function per query once one has worked (newer and older names of one call).
        self._chosen: dict[tuple[str, ...], str] = {}
        count = self._query("nvmlDeviceGetCount") or 0
        self.handles: list[Any] = []
        self.handle_errors: dict[int, str] = {}
        for index in range(count):
            try:
                self.handles.append(nvml.nvmlDeviceGetHandleByIndex(index))
            except Exception as exc:
                self.handles.append(None)
                self.handle_errors[index] = f"this GPU cannot be queried: {exc}"
        self.driver_version = self._query("nvmlSystemGetDriverVersion")
        self.cuda_driver_version = _cuda_version(self._query("nvmlSystemGetCudaDriverVersion"))

    @classmethod
    def open(cls, nvml: Any = None) -> NvmlSession:
        return cls(nvml if nvml is not None else load_pynvml())

    def close(self) -> None:
        if self._open:
            self._open = False
            self._query("nvmlShutdown")

    def __enter__(self) -> NvmlSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def count(self) -> int:
        return len(self.handles)

    def uuids(self) -> list[str | None]:
        return [None if h is None else self._query("nvmlDeviceGetUUID", h) for h in self.handles]

    # -- query plumbing -----------------------------------------------------------------------
    def _query(self, name: str, *args: Any) -> Any:
        """Call `nvml.<name>(*args)`; None when the function, the sensor or the GPU is not there."""
        fn: Callable[..., Any] | None = getattr(self.nvml, name, None)
        if fn is None:
            return None
        try:
            return fn(*args)
        except Exception:  # NVMLError above all; a missing sensor must never stop a probe or a run
            return None

    def _query_first(self, names: tuple[str, ...], *args: Any) -> Any:
        """The first of several names for one query that answers (e.g. a newer name an older
        driver lacks); the one that worked is tried first from then on."""
        chosen = self._chosen.get(names)
        order = (chosen,) + tuple(n for n in names if n != chosen) if chosen else names
        for name in order:
            value = self._query(name, *args)
            if value is not None:
                self._chosen[names] = name
                return value
        return None

    # -- per-sample signals -------------------------------------------------------------------
    def sample(self, index: int) -> dict[str, Any]:
        """The signals that change while a workload runs (segbench/telemetry/FORMAT.md names, no prefix).

        A value is None when its sensor is not available; `throttle` lists every decoded reason.
        """
        h = self.handles[index]
        if h is None:
            return {}
        nvml = self.nvml
        memory = self._query("nvmlDeviceGetMemoryInfo", h)
        util = self._query("nvmlDeviceGetUtilizationRates", h)
        reasons = self._query_first(
            ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"), h
        )
        return {
            "temperature_c": self._query_first(
                ("nvmlDeviceGetTemperatureV", "nvmlDeviceGetTemperature"), h, nvml.NVML_TEMPERATURE_GPU
            ),
            "sm_clock_mhz": self._query("nvmlDeviceGetClockInfo", h, nvml.NVML_CLOCK_SM),
            "sm_clock_max_mhz": self._query("nvmlDeviceGetMaxClockInfo", h, nvml.NVML_CLOCK_SM),
            "mem_clock_mhz": self._query("nvmlDeviceGetClockInfo", h, nvml.NVML_CLOCK_MEM),
            "power_w": _mw_to_w(self._query("nvmlDeviceGetPowerUsage", h)),
            "power_limit_w": _mw_to_w(
                self._query_first(("nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetPowerManagementLimit"), h)
            ),
            "util_pct": None if util is None else util.gpu,
            "mem_used_bytes": None if memory is None else memory.used,
            "throttle": None if reasons is None else decode_reasons(reasons),
        }

    # -- full facts for `segbench probe` ------------------------------------------------------
    def gpu_facts(self, index: int) -> dict[str, Any]:
        """Everything `segbench probe` reports for GPU `index` (keys carry their units)."""
        h = self.handles[index]
        if h is None:
            return {"index": index, "error": self.handle_errors.get(index, "this GPU cannot be queried")}
        nvml = self.nvml
        q = self._query
        cc = q("nvmlDeviceGetCudaComputeCapability", h)
        memory = q("nvmlDeviceGetMemoryInfo", h)
        arch = q("nvmlDeviceGetArchitecture", h)
        constraints = q("nvmlDeviceGetPowerManagementLimitConstraints", h)
        pstate = q("nvmlDeviceGetPerformanceState", h)
        reasons = self._query_first(
            ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"), h
        )
        sample = self.sample(index)
        sample.pop("mem_used_bytes")  # reported below with total and free from one reading
        facts: dict[str, Any] = {
            "index": index,
            "name": q("nvmlDeviceGetName", h),
            "uuid": q("nvmlDeviceGetUUID", h),
            "architecture": None if arch is None else _arch_names(nvml).get(arch, "unknown"),
            "compute_capability": None if cc is None else f"{cc[0]}.{cc[1]}",
            # bf16 tensor-core math arrived with Ampere (8.0); older cards emulate it slowly or not at all.
            "bf16_native": None if cc is None else tuple(cc) >= (8, 0),
            "vram_total_bytes": None if memory is None else memory.total,
            "vram_used_bytes": None if memory is None else memory.used,
            "vram_free_bytes": None if memory is None else memory.free,
            "driver_version": self.driver_version,
            "cuda_driver_version": self.cuda_driver_version,
            "performance_state": None if pstate is None or pstate == getattr(nvml, "NVML_PSTATE_UNKNOWN", 32) else f"P{pstate}",
            **sample,
            "temperature_slowdown_c": q("nvmlDeviceGetTemperatureThreshold", h, nvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN),
            "temperature_shutdown_c": q("nvmlDeviceGetTemperatureThreshold", h, nvml.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN),
            "temperature_max_operating_c": q("nvmlDeviceGetTemperatureThreshold", h, nvml.NVML_TEMPERATURE_THRESHOLD_GPU_MAX),
            "mem_clock_max_mhz": q("nvmlDeviceGetMaxClockInfo", h, nvml.NVML_CLOCK_MEM),
            "power_default_limit_w": _mw_to_w(q("nvmlDeviceGetPowerManagementDefaultLimit", h)),
            "power_max_limit_w": None if constraints is None else _mw_to_w(constraints[1]),
            "throttle_mask": reasons,
            "throttling": None if reasons is None else bool(throttling(decode_reasons(reasons))),
            "pcie_gen_current": q("nvmlDeviceGetCurrPcieLinkGeneration", h),
            "pcie_gen_max": q("nvmlDeviceGetMaxPcieLinkGeneration", h),
            "pcie_gen_gpu_max": q("nvmlDeviceGetGpuMaxPcieLinkGeneration", h),
            "pcie_width_current": q("nvmlDeviceGetCurrPcieLinkWidth", h),
            "pcie_width_max": q("nvmlDeviceGetMaxPcieLinkWidth", h),
            "fan_speed_pct": q("nvmlDeviceGetFanSpeed", h),
        }
        return facts


def nvml_index(cuda_index: int, nvml_uuids: list[str | None]) -> int:
    """NVML's index of the GPU torch calls cuda:N. The two orders differ under CUDA_VISIBLE_DEVICES
    and with CUDA's default fastest-first order on mixed cards, so match by UUID; else assume equal."""
    try:
        import torch

        uuid = str(torch.cuda.get_device_properties(cuda_index).uuid).lower()
    except Exception:  # no CUDA, or a torch without .uuid: fall back to the same index
        return cuda_index
    bare = uuid.removeprefix("gpu-")
    for index, candidate in enumerate(nvml_uuids):
        if candidate and candidate.lower().removeprefix("gpu-") == bare:
            return index
    return cuda_index


def collect_gpus(nvml: Any = None) -> tuple[list[dict[str, Any]], str | None]:
    """(one facts dict per NVIDIA GPU, a plain-words note when there are none). Never raises."""
    try:
        session = NvmlSession.open(nvml)
    except NvmlUnavailable as exc:
        return [], str(exc)
    with session:
        gpus = [session.gpu_facts(i) for i in range(session.count)]
    if not gpus:
        return [], "the NVIDIA driver is running but reports no GPU"
    return gpus, None
