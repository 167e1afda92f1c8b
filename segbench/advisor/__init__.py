"""The advisor: speed, memory and cost on hardware the user does not own, in one-way layers.

    data/      the profiles, validated: catalog (devices), tiers (builds, prices), published timings,
               calibration runs
    model/     the performance model (roofline x fitted efficiencies, references, fit, leave-one-out)
               and the memory model, over footprints counted by `segbench.cost`
    evaluate   one configuration on one device: numbers and risks; targets (which device, this CPU
               included); fromresults (scaling from the user's own run)
    check, recommend, advice   what the commands print

Each layer imports only the ones above it in this list. Other packages use the functions here.
"""

from __future__ import annotations

from dataclasses import dataclass

from segbench.advisor.limits import OOM_HEADROOM

__all__ = ["OOM_HEADROOM", "MemoryNeed", "find_device", "memory_need", "spec_peak_tflops"]


@dataclass(frozen=True)
class MemoryNeed:
    """Predicted peaks of one configuration, bytes: GPU memory in use on a GPU run (`device`, the
    CUDA context and allocator reserve included) and what torch would report as allocated; host
    RAM on a GPU run; host RAM when the model runs on the CPU."""

    device_bytes: float
    allocated_bytes: float
    host_bytes: float
    cpu_run_bytes: float
    notes: tuple[str, ...] = ()


def memory_need(model: str, workload: str, precision: str, *, batch_size: int = 1,
                resolution: tuple[int, int] | None = None, frames: int | None = None,
                volume: tuple[int, int, int] | None = None) -> MemoryNeed:
    """The memory model's answer for one configuration (what `segbench check` reports)."""
    from segbench.advisor.evaluate import build_query
    from segbench.advisor.model.memory import allocated_peak_bytes, device_peak_bytes, host_peak_bytes
    from segbench.families.costs import footprint

    fp = footprint(build_query(model, workload, precision, resolution=resolution, batch_size=batch_size,
                               volume=volume, frames=frames))
    return MemoryNeed(device_bytes=device_peak_bytes(fp), allocated_bytes=allocated_peak_bytes(fp),
                      host_bytes=host_peak_bytes(fp, on_cpu=False), cpu_run_bytes=host_peak_bytes(fp, on_cpu=True),
                      notes=tuple(fp.notes))


def find_device(name: str):
    """The catalog entry a device name means (loosely: '3060', 'rtx 4090'), or an InputError naming the nearest."""
    from segbench.advisor.targets import resolve_target

    return resolve_target(name)


def spec_peak_tflops(hardware: str, precision: str) -> float | None:
    """The spec-sheet peak of a device at `precision`, where the catalog knows the device; else None."""
    from segbench.advisor.data.catalog import load_catalog
    from segbench.errors import InputError

    try:
        return load_catalog().match(hardware).spec.peak_tflops(precision)
    except InputError:
        return None
