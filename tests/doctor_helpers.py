"""Builders shared by the doctor tests (no tests here): a context from fake NVML, torch and host.

GPU states not among the fake's presets are built here from `presets.idle_desktop(...)`:
a hot idle card, a card with its power limit lowered, clocks locked low, throttling at idle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segbench.doctor import (
    DoctorRequest,
    ExtensionState,
    HostFacts,
    MemoryNeed,
    TargetGPU,
    TorchCudaState,
    gather,
    run_checks,
)
from segbench.doctor.findings import Finding
from tests.fakes.fake_pynvml import (
    FakeNVML,
    MiB,
    nvmlClocksEventReasonApplicationsClocksSetting,
    nvmlClocksEventReasonGpuIdle,
    nvmlClocksEventReasonHwSlowdown,
    presets,
)

GiB = 1024**3

# torch 2.14.1's CUDA 13.0 wheel (as installed here) and the builds its warning table lists.
CUDA_TORCH = TorchCudaState(
    torch_version="2.14.1+cu130", cuda_available=True, torch_cuda_version="13.0",
    arch_list=("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"), device_count=1,
    num_threads=8, num_interop_threads=8,
    published_builds={"12.6": (50, 60, 70, 75, 80, 86, 90), "13.0": (75, 80, 86, 90, 100, 120)},
)
CPU_TORCH = TorchCudaState(torch_version="2.14.1+cpu", cuda_available=False, torch_cuda_version=None,
                           arch_list=(), device_count=0, num_threads=8, num_interop_threads=8,
                           published_builds=CUDA_TORCH.published_builds)

HOST = HostFacts(
    cpu={"physical_cores": 8, "logical_cores": 16, "usable_cores": 16, "freq_current_mhz": 3600.0,
         "freq_max_mhz": 5000.0},
    memory={"available_bytes": 32 * GiB, "total_bytes": 64 * GiB},
    cpu_bf16_native=False,
)


def torch_state(**changes: Any) -> TorchCudaState:
    base = CUDA_TORCH.__dict__ | changes
    return TorchCudaState(**base)


def host(**changes: Any) -> HostFacts:
    return HostFacts(**(HOST.__dict__ | changes))


def estimate(device_gib: float = 2.0, host_gib: float = 0.5, cpu_run_gib: float | None = None):
    """A memory model that answers a fixed need, and records what it was asked."""
    asked: list[tuple[DoctorRequest, str]] = []

    def fn(request: DoctorRequest, precision: str) -> MemoryNeed:
        asked.append((request, precision))
        cpu_run = device_gib + host_gib if cpu_run_gib is None else cpu_run_gib
        return MemoryNeed(device_bytes=device_gib * GiB, host_bytes=host_gib * GiB, cpu_run_bytes=cpu_run * GiB,
                          notes=("fake",))

    fn.asked = asked  # type: ignore[attr-defined]
    return fn


def context(gpus=(), *, torch: TorchCudaState | None = None, request: DoctorRequest | None = None,
            host_facts: HostFacts | None = None, extension: ExtensionState | None = None, memory=None,
            target: TargetGPU | None = None, tmp: Path | None = None, **nvml_kw: Any):
    """A DoctorContext over a FakeNVML holding `gpus` (no GPU at all when empty: driver missing)."""
    nvml = FakeNVML(list(gpus), **nvml_kw) if gpus or nvml_kw else FakeNVML(init_error=12)
    request = request or DoctorRequest()
    if tmp is not None:
        request = DoctorRequest(**(request.__dict__ | {"results_dir": tmp / "results", "checkpoints_dir": tmp}))
    return gather(
        request,
        nvml=nvml,
        torch_state=torch or (CUDA_TORCH if gpus else CPU_TORCH),
        host=host_facts or HOST,
        extensions={"sam2._C": extension or ExtensionState(installed=True, version="1.1.0", loaded=True)},
        estimate_memory=memory or estimate(),
        resolve_target=lambda name: target,
        environ={},
    )


def findings(ctx) -> list[Finding]:
    return run_checks(ctx, raise_errors=True)


def by_id(items: list[Finding], fid: str) -> Finding:
    matches = [f for f in items if f.id == fid]
    assert len(matches) == 1, f"{fid}: {[f.id for f in items]}"
    return matches[0]


# -- GPU states the presets do not cover -------------------------------------------------------

def hot_idle_card(**kw: Any):
    """RTX 3090 at the desktop, 0 % busy, already 78 C (fans stopped, dusty heatsink)."""
    return presets.idle_desktop(temperature_c=78, **kw)


def power_lowered_card(**kw: Any):
    """RTX 3080 whose limit was lowered from 320 W to 220 W (nvidia-smi -pl 220), idle."""
    return presets.power_capped_gpu(after=1e9, util_gpu_pct=0, power_mw=25_000, power_limit_mw=220_000,
                                    power_management_limit_mw=220_000,
                                    clocks_event_reasons=nvmlClocksEventReasonGpuIdle, **kw)


def clocks_locked_card(**kw: Any):
    """RTX 3090 with locked clocks (nvidia-smi -lgc 210,900): the user-defined-clocks reason is set."""
    return presets.idle_desktop(sm_clock_mhz=900, graphics_clock_mhz=900,
                                clocks_event_reasons=nvmlClocksEventReasonApplicationsClocksSetting, **kw)


def slowdown_at_idle_card(**kw: Any):
    """RTX 3090 idle but with the hardware-slowdown reason on (a loose PCIe power cable)."""
    return presets.idle_desktop(clocks_event_reasons=nvmlClocksEventReasonGpuIdle | nvmlClocksEventReasonHwSlowdown,
                                sm_clock_mhz=300, **kw)


def small_card(free_mib: int, total_mib: int = 8192, **kw: Any):
    """An RTX 3070-like 8 GiB card with `free_mib` left (the rest held by other processes)."""
    used = total_mib - free_mib - 330
    return presets.idle_desktop(name="NVIDIA GeForce RTX 3070", memory_total_bytes=total_mib * MiB,
                                memory_used_bytes=used * MiB, **kw)
