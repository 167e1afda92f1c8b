"""Facts about the host through psutil and /proc: CPU, memory and swap, free disk.

Each reading returns None where the platform has no such sensor (psutil's `cpu_freq()` is None on
some VMs, `sensors_temperatures()` is absent on macOS and empty in most containers).
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import psutil

# ISA extensions that change how fast a CPU runs a network (x86 flags and Arm "Features").
_ISA_OF_INTEREST = (
    "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8",
    "asimd", "asimddp", "sve", "sve2", "bf16", "i8mm",
)

# psutil sensor chips that measure the CPU package or cores (Intel, AMD, Arm SoCs).
_CPU_SENSOR_CHIPS = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "cpu-thermal", "soc_thermal", "cpu")


def _cpuinfo_first_block() -> dict[str, str]:
    """The first processor's fields from /proc/cpuinfo (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def host_info() -> dict[str, Any]:
    uname = platform.uname()
    return {
        "hostname": socket.gethostname(),
        "os": f"{uname.system} {uname.release}".strip(),
        "platform": platform.platform(),
        "machine": uname.machine,
        "python": platform.python_version(),
        "python_executable": sys.executable,
    }


def cpu_temperatures() -> dict[str, float]:
    """Current CPU temperatures in Celsius by "chip/label"; empty without CPU sensors."""
    reader = getattr(psutil, "sensors_temperatures", None)
    if reader is None:
        return {}
    try:
        chips = reader() or {}
    except (OSError, RuntimeError):
        return {}
    temps: dict[str, float] = {}
    for chip, entries in chips.items():
        if chip.lower() not in _CPU_SENSOR_CHIPS:
            continue
        for n, entry in enumerate(entries):
            if entry.current is not None and entry.current > 0:
                temps[f"{chip}/{entry.label or n}"] = float(entry.current)
    return temps


def cpu_temp_c() -> float | None:
    """The hottest CPU package or core sensor, Celsius; None where there is none."""
    temps = cpu_temperatures()
    return max(temps.values()) if temps else None


def cpu_freq_mhz() -> tuple[float | None, float | None]:
    """(current, max) CPU frequency in MHz; max is None where the OS does not report it."""
    try:
        freq = psutil.cpu_freq()
    except (OSError, RuntimeError, NotImplementedError):
        return None, None
    if freq is None:
        return None, None
    return (round(freq.current, 1) if freq.current else None), (round(freq.max, 1) if freq.max else None)


def cpu_info() -> dict[str, Any]:
    block = _cpuinfo_first_block()
    model = block.get("model name") or block.get("Model") or block.get("Hardware") or platform.processor() or None
    flags = set((block.get("flags") or block.get("Features") or "").split())
    current, maximum = cpu_freq_mhz()
    return {
        "model_name": model,
        "architecture": platform.machine(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": psutil.cpu_count(logical=True),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "freq_current_mhz": current,
        "freq_max_mhz": maximum,
        "temperature_c": cpu_temp_c(),
        "temperatures_c": cpu_temperatures(),
        "isa_extensions": [f for f in _ISA_OF_INTEREST if f in flags],
    }


def memory_info() -> dict[str, Any]:
    vm = psutil.virtual_memory()
    swap = psutil.swap_memory()
    return {
        "total_bytes": vm.total,
        "available_bytes": vm.available,
        "swap_total_bytes": swap.total,
        "swap_used_bytes": swap.used,
    }


def _existing_ancestor(path: Path) -> Path:
    # The folder may not exist yet (first run); its filesystem is the nearest existing parent's.
    path = path.expanduser().absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or "/")


def disk_info(purposes: dict[str, Path]) -> list[dict[str, Any]]:
    """Free and total bytes of the filesystem under each folder (which may not exist yet)."""
    disks = []
    for purpose, path in purposes.items():
        entry: dict[str, Any] = {"purpose": purpose, "path": str(path)}
        try:
            usage = shutil.disk_usage(_existing_ancestor(path))
            entry.update(free_bytes=usage.free, total_bytes=usage.total)
        except OSError as exc:
            entry.update(free_bytes=None, total_bytes=None, error=str(exc))
        disks.append(entry)
    return disks
