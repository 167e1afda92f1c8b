"""Host facts the doctor needs beyond `segbench.probe`: CPU frequency policy, battery, CPU quota.

Linux exposes the frequency policy in sysfs (cpufreq) and a container's CPU quota in cgroup v2's
cpu.max; both are absent in many VMs and containers, so every reading may be None.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from segbench.probe.host import cpu_info, memory_info

# Variables that decide how many threads torch, OpenMP, MKL and OpenBLAS start.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY",
                    "KMP_BLOCKTIME", "MKL_DYNAMIC", "OMP_DYNAMIC")

_CPUFREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq")
_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


@dataclass(frozen=True)
class CpuFreqPolicy:
    """cpu0's frequency policy in MHz; None where the OS does not expose it."""

    current_mhz: float | None = None
    hardware_max_mhz: float | None = None  # cpuinfo_max_freq: what the chip can do
    scaling_max_mhz: float | None = None  # scaling_max_freq: the ceiling the OS allows now
    governor: str | None = None
    driver: str | None = None


@dataclass(frozen=True)
class HostFacts:
    cpu: dict[str, Any] = field(default_factory=dict)  # segbench.probe.host.cpu_info()
    memory: dict[str, Any] = field(default_factory=dict)  # segbench.probe.host.memory_info()
    cpufreq: CpuFreqPolicy = CpuFreqPolicy()
    on_battery: bool | None = None
    cpu_quota: float | None = None  # CPUs a cgroup allows (cpu.max quota / period); None: no limit
    cpu_bf16_native: bool = False
    env: dict[str, str] = field(default_factory=dict)  # the THREAD_VARIABLES that are set

    @classmethod
    def collect(cls, environ: Mapping[str, str] | None = None) -> HostFacts:
        from segbench.probe.torchinfo import cpu_has_native_bf16  # what `segbench run` decides by

        environ = os.environ if environ is None else environ
        return cls(
            cpu=cpu_info(),
            memory=memory_info(),
            cpufreq=read_cpufreq(),
            on_battery=_on_battery(),
            cpu_quota=read_cpu_quota(),
            cpu_bf16_native=cpu_has_native_bf16(),
            env={k: environ[k] for k in THREAD_VARIABLES if k in environ},
        )


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _khz_to_mhz(text: str | None) -> float | None:
    try:
        return round(int(text) / 1000.0, 1) if text else None
    except ValueError:
        return None


def read_cpufreq(folder: Path = _CPUFREQ) -> CpuFreqPolicy:
    return CpuFreqPolicy(
        current_mhz=_khz_to_mhz(_read(folder / "scaling_cur_freq")),
        hardware_max_mhz=_khz_to_mhz(_read(folder / "cpuinfo_max_freq")),
        scaling_max_mhz=_khz_to_mhz(_read(folder / "scaling_max_freq")),
        governor=_read(folder / "scaling_governor"),
        driver=_read(folder / "scaling_driver"),
    )


def read_cpu_quota(path: Path = _CPU_MAX) -> float | None:
    """CPUs allowed by cgroup v2 ("200000 100000" -> 2.0); None for "max" or no cgroup file."""
    text = _read(path)
    if not text:
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        return int(parts[0]) / int(parts[1])
    except (ValueError, ZeroDivisionError):
        return None


def _on_battery() -> bool | None:
    try:
        battery = psutil.sensors_battery()
    except (AttributeError, OSError, RuntimeError, NotImplementedError):
        return None
    return None if battery is None or battery.power_plugged is None else not battery.power_plugged
