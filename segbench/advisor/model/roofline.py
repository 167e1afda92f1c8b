"""Predicted time per step: a roofline times fitted efficiencies, plus a per-kernel overhead.

For one `Footprint` (footprint.py) on one device:

    compute  = FLOPs / eff_unit x (1 / unit peak + 1 / sat), per unit (tensor cores, FP32 cores; a
               CPU has no `sat` term), GPU convolutions at a further eff_conv, or the matmul/conv
               bytes / (bandwidth x eff_mem) where that is more. `sat` caps what moderate-sized
               kernels extract from a huge peak (an A100 reaches a smaller share of its 312 TFLOPS
               than an RTX 3090 of its 71); eff_conv is what cuDNN's 3D convolutions with few
               channels lose against matmuls.
    memory   = bytes of the elementwise/norm/copy kernels / (bandwidth x eff_mem)
    launch   = kernels x seconds per kernel (eager PyTorch: Python, dispatcher, launch)
    device   = (launch^p + ((compute + memory) / sustained clock)^p)^(1/p)   launches overlap GPU work
    total    = device + host pre/post-processing + PCIe copies

The efficiencies, the per-kernel overheads and the share of launches and elementwise traffic
`torch.compile` leaves are fitted to reference points (`fit.py`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from segbench.advisor.data.catalog import CPUSpec, GPUSpec
from segbench.cost.footprint import Footprint

MODEL_VERSION = 7  # bump when the formula changes: invalidates the cached fit
PCIE_BYTES_S = 12e9  # effective host<->device copy rate of a PCIe 3.0/4.0 x16 slot with pageable memory
OVERLAP_P = 1.5  # how launches and device work overlap: 1 = not at all, large = perfectly

# name: (lower bound, prior, upper bound); all positive, fitted in log space.
PARAMETERS: dict[str, tuple[float, float, float]] = {
    # eff_tensor and sat_tflops trade against each other: the share reached is eff / (1 + peak / sat),
    # below 1 on every catalogued GPU for the fitted pair, so eff alone may exceed 1.
    "eff_tensor": (0.05, 0.35, 2.0),  # share of the dense FP16/BF16/TF32 tensor-core peak reached (before sat)
    "eff_fp32": (0.05, 0.55, 0.95),  # share of the FP32 CUDA-core peak reached
    # Relative to the catalog's CPU figure, which for the calibration machine is a measured 2048x2048
    # matmul (not a peak): large convolutions and matmuls can beat it.
    "eff_cpu": (0.02, 0.35, 1.5),  # share of a CPU's catalogued FP32 rate reached
    "sat_tflops": (20.0, 300.0, 5000.0),  # GPU throughput scale beyond which kernels stop gaining
    "eff_conv": (0.01, 0.5, 1.0),  # GPU convolutions' share of their unit's efficiency (3D, few channels: low)
    "eff_conv_cpu": (0.05, 0.7, 1.5),  # the same for oneDNN's convolutions on a CPU
    "eff_mem": (0.2, 0.7, 1.5),  # share of GPU bandwidth for the counted traffic (>1: caches absorb some)
    "eff_mem_cpu": (0.05, 0.5, 1.5),  # the same on a CPU
    "launch_gpu_s": (1e-6, 1.2e-5, 1e-4),  # per kernel, eager PyTorch on a GPU
    "launch_cpu_s": (1e-7, 5e-6, 1e-4),  # per kernel on a CPU (dispatcher + threading)
    "compiled": (0.05, 0.3, 1.0),  # torch.compile: share of launches and elementwise traffic left
    "host_mask_pixel_s": (1e-10, 2e-9, 1e-7),  # automatic-mask post-processing, per mask pixel on the host
}


@dataclass(frozen=True)
class Params:
    eff_tensor: float = PARAMETERS["eff_tensor"][1]
    eff_fp32: float = PARAMETERS["eff_fp32"][1]
    eff_cpu: float = PARAMETERS["eff_cpu"][1]
    sat_tflops: float = PARAMETERS["sat_tflops"][1]
    eff_conv: float = PARAMETERS["eff_conv"][1]
    eff_conv_cpu: float = PARAMETERS["eff_conv_cpu"][1]
    eff_mem: float = PARAMETERS["eff_mem"][1]
    eff_mem_cpu: float = PARAMETERS["eff_mem_cpu"][1]
    launch_gpu_s: float = PARAMETERS["launch_gpu_s"][1]
    launch_cpu_s: float = PARAMETERS["launch_cpu_s"][1]
    compiled: float = PARAMETERS["compiled"][1]
    host_mask_pixel_s: float = PARAMETERS["host_mask_pixel_s"][1]
    # Measured, not fitted (the calibration profile's host section): image transforms per source pixel,
    # and reading files (JPEG per pixel, .nii.gz per voxel) for the pipeline scope.
    host_pixel_s: float = 2.0e-8
    decode_pixel_s: float = 3.0e-9
    decode_voxel_s: float = 1.3e-8

    def vector(self) -> np.ndarray:
        return np.log([getattr(self, name) for name in PARAMETERS])

    def with_vector(self, values: Sequence[float]) -> Params:
        return dataclasses.replace(self, **{name: float(math.exp(v)) for name, v in zip(PARAMETERS, values)})

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}


# ------------------------------------------------------------------------------ devices


def has_tensor_cores(spec: GPUSpec) -> bool:
    """Matrix units half precision runs on: NVIDIA's from Volta, except the GTX 16 series (Turing without
    tensor cores); another vendor's where its matrix rate clearly exceeds its FP32 rate (AMD WMMA/MFMA,
    Intel XMX; Apple GPUs run FP16 at the FP32 rate)."""
    if spec.backend != "cuda":
        return spec.fp16_tensor_tflops >= 1.5 * spec.fp32_tflops
    return spec.cuda_capability >= (7, 0) and not spec.name.upper().startswith("GTX")


@dataclass(frozen=True)
class Peaks:
    """A device at one precision: unit peaks (FLOP/s) and which fitted efficiency applies to each."""

    matmul_flops_s: float
    matmul_unit: str  # "tensor" | "fp32" | "cpu"
    conv_flops_s: float
    conv_unit: str
    bytes_s: float
    cpu: bool
    clock: float  # sustained-clock factor
    notes: tuple[str, ...] = ()


def peaks(spec: GPUSpec | CPUSpec, precision: str) -> Peaks:
    if isinstance(spec, CPUSpec):
        notes = ()
        peak = spec.peak_tflops(precision)
        if peak is None:  # fp16, or bf16 without a native unit: emulated, slower than fp32
            peak = spec.peak_tflops("fp32") / 2
            notes = (f"{precision} has no native support on {spec.name}; emulated at about half the fp32 rate",)
        flops = peak * 1e12
        return Peaks(flops, "cpu", flops, "cpu", spec.memory_bandwidth_gbs * 1e9, True, 1.0, notes)
    notes: tuple[str, ...] = ()
    ampere = spec.backend == "cuda" and spec.cuda_capability >= (8, 0)
    bandwidth = spec.memory_bandwidth_gbs * 1e9
    if precision in ("fp16", "bf16"):
        peak = spec.peak_tflops(precision)
        unit = "tensor" if has_tensor_cores(spec) else "fp32"
        if peak is None:  # bf16 before Ampere: no tensor-core path
            peak, unit = spec.fp32_tflops, "fp32"
            notes = (f"bf16 has no tensor-core support on {spec.name}; predicted at FP32 speed",)
        return Peaks(peak * 1e12, unit, peak * 1e12, unit, bandwidth, False, spec.sustained_clock_factor, notes)
    if precision == "tf32" and ampere:
        peak = spec.peak_tflops("tf32") * 1e12
        return Peaks(peak, "tensor", peak, "tensor", bandwidth, False, spec.sustained_clock_factor)
    fp32 = spec.fp32_tflops * 1e12
    if ampere:  # cuDNN runs fp32 convolutions in TF32 from Ampere on unless told not to (PyTorch default)
        return Peaks(fp32, "fp32", spec.peak_tflops("tf32") * 1e12, "tensor", bandwidth, False, spec.sustained_clock_factor)
    return Peaks(fp32, "fp32", fp32, "fp32", bandwidth, False, spec.sustained_clock_factor)


@dataclass(frozen=True)
class Rates:
    """Peaks times the fitted efficiencies: what `advice` needs for work that has no footprint."""

    matmul_flops_s: float
    bytes_s: float
    launch_s: float


def rates(spec: GPUSpec | CPUSpec, precision: str, p: Params) -> Rates:
    pk = peaks(spec, precision)
    eff = {"tensor": p.eff_tensor, "fp32": p.eff_fp32, "cpu": p.eff_cpu}[pk.matmul_unit]
    flops_s = pk.matmul_flops_s * eff
    if not pk.cpu:
        flops_s = eff / (1 / pk.matmul_flops_s + 1 / (p.sat_tflops * 1e12))
    return Rates(flops_s, pk.bytes_s * (p.eff_mem_cpu if pk.cpu else p.eff_mem),
                 p.launch_cpu_s if pk.cpu else p.launch_gpu_s)


# ------------------------------------------------------------------------------ prediction

# The columns of a feature row: seconds at 100% efficiency (or counts) that the parameters scale.
FEATURES = ("tensor_s", "fp32_s", "cpu_s", "tensor_flops", "fp32_flops",
            "conv_tensor_s", "conv_fp32_s", "conv_cpu_s", "conv_tensor_flops", "conv_fp32_flops", "compute_bytes_s", "mem_s", "mem_compiled_s", "kernels",
            "kernels_compiled", "cpu", "clock", "host_pixels", "host_mask_pixels", "decode_pixels", "decode_voxels",
            "transfer_s", "items")


def features(fp: Footprint, spec: GPUSpec | CPUSpec, compiled: str = "none", scope: str = "predictor"
             ) -> dict[str, float]:
    """What the formula needs of one configuration, before any fitted parameter is applied.

    `compiled`: "none", "encoder" (image encoder only) or "full". `scope` (workload_catalog.SCOPES): "encoder" (the
    network alone), "predictor" (the library call a user makes: pre/post-processing and copies
    included; what segbench run times) or "pipeline" (that plus reading the files).
    """
    pk = peaks(spec, fp.query.precision)
    f = dict.fromkeys(FEATURES, 0.0)
    for name, part in fp.parts.items():
        if scope == "encoder" and name in fp.non_model_parts:
            continue
        squeezed = compiled == "full" or (compiled == "encoder" and name == "encoder")
        for prefix, unit, flops, peak in (("", pk.matmul_unit, part.flops - part.conv_flops, pk.matmul_flops_s),
                                          ("conv_", pk.conv_unit, part.conv_flops, pk.conv_flops_s)):
            f[f"{prefix}{unit}_s"] += flops / peak
            if unit != "cpu":
                f[f"{prefix}{unit}_flops"] += flops
        f["compute_bytes_s"] += part.compute_bytes / pk.bytes_s
        f["mem_compiled_s" if squeezed else "mem_s"] += part.other_bytes / pk.bytes_s
        f["kernels_compiled" if squeezed else "kernels"] += part.kernels
    f["cpu"] = 1.0 if pk.cpu else 0.0
    f["clock"] = pk.clock
    if scope != "encoder":
        f["host_pixels"] = fp.host_pixels
        f["host_mask_pixels"] = fp.host_mask_pixels
        f["transfer_s"] = 0.0 if pk.cpu else fp.transfer_bytes / PCIE_BYTES_S
    if scope == "pipeline":
        f["decode_pixels"] = fp.decode_pixels
        f["decode_voxels"] = fp.decode_voxels
    f["items"] = fp.items_per_step
    return f


def terms(x: np.ndarray, p: Params) -> dict[str, np.ndarray]:
    """The formula over rows of features (columns in FEATURES order)."""
    c = {name: x[:, i] for i, name in enumerate(FEATURES)}
    cpu = c["cpu"] > 0
    eff_mem = np.where(cpu, p.eff_mem_cpu, p.eff_mem)
    launch_s = np.where(cpu, p.launch_cpu_s, p.launch_gpu_s)
    sat = p.sat_tflops * 1e12
    compute = 0.0
    for prefix, scale, cpu_scale in (("", 1.0, 1.0), ("conv_", p.eff_conv, p.eff_conv_cpu)):
        compute = compute + ((c[f"{prefix}tensor_s"] + c[f"{prefix}tensor_flops"] / sat) / (p.eff_tensor * scale)
                             + (c[f"{prefix}fp32_s"] + c[f"{prefix}fp32_flops"] / sat) / (p.eff_fp32 * scale)
                             + c[f"{prefix}cpu_s"] / (p.eff_cpu * cpu_scale))
    compute = np.maximum(compute, c["compute_bytes_s"] / eff_mem)
    memory = (c["mem_s"] + c["mem_compiled_s"] * p.compiled) / eff_mem
    launch = (c["kernels"] + c["kernels_compiled"] * p.compiled) * launch_s
    busy = (compute + memory) / c["clock"]
    device = (launch ** OVERLAP_P + busy ** OVERLAP_P) ** (1 / OVERLAP_P)
    host = (c["host_pixels"] * p.host_pixel_s + c["host_mask_pixels"] * p.host_mask_pixel_s
            + c["decode_pixels"] * p.decode_pixel_s + c["decode_voxels"] * p.decode_voxel_s)
    total = device + host + c["transfer_s"]
    return {"compute": compute, "memory": memory, "launch": launch, "device": device, "host": host,
            "transfer": c["transfer_s"], "total": total, "per_item": total / c["items"]}


def matrix(rows: Sequence[dict[str, float]]) -> np.ndarray:
    return np.array([[row[name] for name in FEATURES] for row in rows], dtype=float)


@dataclass(frozen=True)
class Breakdown:
    """Seconds per step, by where the time goes."""

    compute_s: float
    memory_s: float
    launch_s: float
    device_s: float
    host_s: float
    transfer_s: float
    total_s: float
    items_per_step: int
    notes: tuple[str, ...] = ()

    @property
    def per_item_s(self) -> float:
        return self.total_s / self.items_per_step

    @property
    def bound(self) -> str:
        """What limits the step: the largest of the terms."""
        terms = {"compute": self.compute_s, "memory bandwidth": self.memory_s, "kernel launches": self.launch_s,
                 "host pre/post-processing": self.host_s, "PCIe copies": self.transfer_s}
        return max(terms, key=terms.get)


def predict(fp: Footprint, spec: GPUSpec | CPUSpec, p: Params, compiled: str = "none", scope: str = "predictor"
            ) -> Breakdown:
    """Seconds per step of `fp` on `spec` (see `features` for `compiled` and `scope`)."""
    t = terms(matrix([features(fp, spec, compiled, scope)]), p)
    v = {k: float(a[0]) for k, a in t.items()}
    return Breakdown(v["compute"], v["memory"], v["launch"], v["device"], v["host"], v["transfer"], v["total"],
                     fp.items_per_step, peaks(spec, fp.query.precision).notes)
