"""Peak memory of a configuration as the user will see it: VRAM in nvidia-smi, or RAM on a CPU.

    GPU:  CUDA context + allocator reserve x (weights + activation factor x counted activations + state)
    CPU:  Python/torch runtime + weights + CPU factor x counted activations + state + host-side state

The counted activation peak (footprint.py, live tensors on `meta` with fused attention) is a floor:
cuDNN/cuBLAS workspaces, pre-processing tensors and caches come on top. The activation factor is
fitted to measured peaks (the calibration profile's `memory.references`, torch's
max_memory_allocated on a GPU); the CPU factor to the RSS growth of the calibration runs here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import lru_cache

from segbench.advisor.data.calibration import load_calibration
from segbench.advisor.data.catalog import GIB
from segbench.advisor.limits import OOM_HEADROOM
from segbench.cost.footprint import Footprint, Query
from segbench.families.costs import footprint, model_counts
from segbench.workload_catalog import FULL


@dataclass(frozen=True)
class MemoryModel:
    activation_factor: float  # GPU: measured peak beyond weights / counted activation peak
    cpu_activation_factor: float  # CPU: RSS growth / counted activations (allocator, oneDNN scratch)
    cuda_context_bytes: float
    allocator_reserve: float
    cpu_runtime_bytes: float
    references: int  # how many GPU peaks the factor was fitted to
    cpu_references: int

    def basis(self) -> str:
        return (f"weights + {self.activation_factor:.2f} x counted activation peak (fitted to {self.references} "
                f"measured GPU peaks) + state, x{self.allocator_reserve:g} allocator reserve, "
                f"+ {self.cuda_context_bytes / GIB:.1f} GiB CUDA context")


@lru_cache(maxsize=1)
def memory_model() -> MemoryModel:
    cal = load_calibration()
    ratios = []
    for ref in cal.memory_references:
        counts = model_counts(ref.model, (ref.size, ref.size))
        weights = counts.params * ref.weights_bytes_per_param + counts.buffer_bytes
        activations = counts.block("encoder", "fp16").peak_bytes
        ratios.append((ref.peak_mb * 2**20 - weights) / activations)
    cpu_ratios = []
    for m in cal.measurements:
        if not m.rss_growth_bytes or m.workload not in ("image", "prompt"):
            continue  # video/volume/auto growth includes frames, buffers and masks held outside the pass
        fp = _reference_footprint(m)
        if fp.activation_bytes > 0:
            cpu_ratios.append(m.rss_growth_bytes / fp.activation_bytes)
    return MemoryModel(
        activation_factor=statistics.median(ratios) if ratios else 2.0,
        cpu_activation_factor=statistics.median(cpu_ratios) if cpu_ratios else 2.0,
        cuda_context_bytes=cal.cuda_context_gib * GIB,
        allocator_reserve=cal.allocator_reserve,
        cpu_runtime_bytes=cal.cpu_runtime_gib * GIB,
        references=len(ratios),
        cpu_references=len(cpu_ratios),
    )


def _reference_footprint(m) -> Footprint:
    c = m.conditions
    return footprint(Query(m.model, m.workload, m.precision, m.batch_size,
                           resolution=tuple(c["resolution"]) if c.get("resolution") else None,
                           model_size=tuple(c["model_size"]) if c.get("model_size") else None))


def allocated_peak_bytes(fp: Footprint, mm: MemoryModel | None = None) -> float:
    """Predicted peak of torch's allocations on the GPU (`torch.cuda.max_memory_allocated`), bytes."""
    mm = mm or memory_model()
    return fp.weights_bytes + mm.activation_factor * fp.activation_bytes + fp.state_bytes


def device_peak_bytes(fp: Footprint, mm: MemoryModel | None = None) -> float:
    """Predicted peak GPU memory in use (nvidia-smi): allocations, the allocator's reserve and the CUDA context."""
    mm = mm or memory_model()
    return mm.cuda_context_bytes + mm.allocator_reserve * allocated_peak_bytes(fp, mm)


def host_peak_bytes(fp: Footprint, on_cpu: bool, mm: MemoryModel | None = None) -> float:
    """Predicted peak RAM of the process: everything when the CPU runs the model, else what stays on the host."""
    mm = mm or memory_model()
    if on_cpu:
        return (mm.cpu_runtime_bytes + fp.weights_bytes + mm.cpu_activation_factor * fp.activation_bytes
                + fp.state_bytes + fp.host_state_bytes)
    return mm.cpu_runtime_bytes + fp.weights_bytes + fp.host_state_bytes  # weights are loaded on the host first


# What grows with the job: the clip's frames for video, the scan's slices for a volume (at the query's
# in-plane size), the batch of a training step. Two values far enough apart give the slope of the linear growth.
_GROWTH = {"video": ("frames", 100, 300), "volume": ("depth", 128, 512), "train": ("batch", 8, 64)}


def _at(q: Query, axis: str, value: int) -> Query:
    if axis == "frames":
        return q.replace(frames=value)
    if axis == "batch":
        return q.replace(batch_size=value)
    w, h, _ = q.volume or FULL.volume
    return q.replace(volume=(w, h, value))


def max_fit(q: Query, limit_bytes: float, on_cpu: bool, mm: MemoryModel | None = None,
            headroom: float = OOM_HEADROOM) -> tuple[str, int | None] | None:
    """("frames", "depth" or "batch", the longest clip / deepest scan / largest training batch whose predicted
    peak stays under `headroom` x `limit_bytes`): None for workloads that do not grow; (axis, None) when memory does not grow with it."""
    if q.workload not in _GROWTH:
        return None
    mm = mm or memory_model()
    axis, lo, hi = _GROWTH[q.workload]

    def peak(value: int) -> float:
        fp = footprint(_at(q, axis, value))
        return host_peak_bytes(fp, True, mm) if on_cpu else device_peak_bytes(fp, mm)

    low, high = peak(lo), peak(hi)
    slope = (high - low) / (hi - lo)
    if slope <= 0:
        return axis, None
    return axis, max(0, int((headroom * limit_bytes - (low - slope * lo)) / slope))
