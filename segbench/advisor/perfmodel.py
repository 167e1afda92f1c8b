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
`torch.compile` leaves are fitted (least squares on log time, bounded, with a weak pull toward
physically sensible values so a parameter that one reference alone constrains stays sane) to
reference points: published timings (profiles/published.yaml) and runs measured on this
project's CPU (profiles/calibration.yaml). `leave_one_out` refits without each point in turn
and predicts it: that is the error stated. The fit and its leave-one-out table are cached in
profiles/perfmodel_fit.yaml, keyed by a digest of every input file.

    python -m segbench.advisor.perfmodel --loo      # the leave-one-out table and its summary
    python -m segbench.advisor.perfmodel --write    # refit and rewrite the cache
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from segbench.advisor.catalog import PUBLISHED_MODEL_ALIASES, CPUSpec, GPUSpec, load_catalog, load_published
from segbench.advisor.footprint import Footprint, Query, footprint
from segbench.advisor.profile_yaml import default_path, read_yaml
from segbench.errors import InputError

MODEL_VERSION = 5  # bump when the formula changes: invalidates the cached fit
FIT_FILE = "perfmodel_fit.yaml"
PCIE_BYTES_S = 12e9  # effective host<->device copy rate of a PCIe 3.0/4.0 x16 slot with pageable memory
OVERLAP_P = 2.0  # how launches and device work overlap: 1 = not at all, large = perfectly

# name: (lower bound, prior, upper bound); all positive, fitted in log space.
PARAMETERS: dict[str, tuple[float, float, float]] = {
    "eff_tensor": (0.05, 0.35, 0.9),  # share of the dense FP16/BF16/TF32 tensor-core peak reached
    "eff_fp32": (0.05, 0.55, 0.95),  # share of the FP32 CUDA-core peak reached
    "eff_cpu": (0.02, 0.35, 0.95),  # share of a CPU's FP32 peak reached
    "sat_tflops": (20.0, 300.0, 5000.0),  # GPU throughput scale beyond which kernels stop gaining
    "eff_conv": (0.01, 0.5, 1.0),  # GPU convolutions' share of their unit's efficiency (3D, few channels: low)
    "eff_mem": (0.2, 0.7, 1.5),  # share of GPU bandwidth for the counted traffic (>1: caches absorb some)
    "eff_mem_cpu": (0.05, 0.5, 1.5),  # the same on a CPU
    "launch_gpu_s": (1e-6, 1.2e-5, 1e-4),  # per kernel, eager PyTorch on a GPU
    "launch_cpu_s": (1e-7, 5e-6, 1e-4),  # per kernel on a CPU (dispatcher + threading)
    "compiled": (0.05, 0.3, 1.0),  # torch.compile: share of launches and elementwise traffic left
    "host_mask_pixel_s": (1e-10, 2e-9, 1e-7),  # automatic-mask post-processing, per mask pixel on the host
}
PRIOR_WEIGHT = 0.15  # residual weight of the pull toward the prior, per log unit
# Residual weights by the quality of a reference: community figures (forum posts, other
# implementations) count half.
QUALITY_WEIGHT = {"official": 1.0, "paper": 1.0, "vendor-docs": 1.0, "measured": 1.0, "community": 0.5}


@dataclass(frozen=True)
class Params:
    eff_tensor: float = PARAMETERS["eff_tensor"][1]
    eff_fp32: float = PARAMETERS["eff_fp32"][1]
    eff_cpu: float = PARAMETERS["eff_cpu"][1]
    sat_tflops: float = PARAMETERS["sat_tflops"][1]
    eff_conv: float = PARAMETERS["eff_conv"][1]
    eff_mem: float = PARAMETERS["eff_mem"][1]
    eff_mem_cpu: float = PARAMETERS["eff_mem_cpu"][1]
    launch_gpu_s: float = PARAMETERS["launch_gpu_s"][1]
    launch_cpu_s: float = PARAMETERS["launch_cpu_s"][1]
    compiled: float = PARAMETERS["compiled"][1]
    host_mask_pixel_s: float = PARAMETERS["host_mask_pixel_s"][1]
    # Measured, not fitted: sam2's image transforms per source pixel (calibration.yaml).
    host_pixel_s: float = 2.0e-8

    def vector(self) -> np.ndarray:
        return np.log([getattr(self, name) for name in PARAMETERS])

    def with_vector(self, values: Sequence[float]) -> Params:
        return dataclasses.replace(self, **{name: float(math.exp(v)) for name, v in zip(PARAMETERS, values)})

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}


# ------------------------------------------------------------------------------ devices


def has_tensor_cores(spec: GPUSpec) -> bool:
    """Volta and later, except the GTX 16 series (Turing without tensor cores)."""
    return spec.compute_capability >= (7, 0) and not spec.name.upper().startswith("GTX")


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
    ampere = spec.compute_capability >= (8, 0)
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

# Stages that are not the network: what a "model speed" figure (a paper's FPS, a model zoo's
# "model computation") leaves out, together with host pre-processing and PCIe copies.
NON_MODEL_PARTS = ("post", "aggregate")
# The columns of a feature row: seconds at 100% efficiency (or counts) that the parameters scale.
FEATURES = ("tensor_s", "fp32_s", "cpu_s", "tensor_flops", "fp32_flops",
            "conv_tensor_s", "conv_fp32_s", "conv_cpu_s", "conv_tensor_flops", "conv_fp32_flops", "compute_bytes_s", "mem_s", "mem_compiled_s", "kernels",
            "kernels_compiled", "cpu", "clock", "host_pixels", "host_mask_pixels", "transfer_s", "items")


def features(fp: Footprint, spec: GPUSpec | CPUSpec, compiled: str = "none", scope: str = "full") -> dict[str, float]:
    """What the formula needs of one configuration, before any fitted parameter is applied.

    `compiled`: "none", "encoder" (image encoder only) or "full". `scope`: "full" (what segbench
    run times) or "model" (the network alone: no pre/post-processing, no copies).
    """
    pk = peaks(spec, fp.query.precision)
    f = dict.fromkeys(FEATURES, 0.0)
    for name, part in fp.parts.items():
        if scope == "model" and name in NON_MODEL_PARTS:
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
    if scope == "full":
        f["host_pixels"] = fp.host_pixels
        f["host_mask_pixels"] = fp.host_mask_pixels
        f["transfer_s"] = 0.0 if pk.cpu else fp.transfer_bytes / PCIE_BYTES_S
    f["items"] = fp.items_per_step
    return f


def _terms(x: np.ndarray, p: Params) -> dict[str, np.ndarray]:
    """The formula over rows of features (columns in FEATURES order)."""
    c = {name: x[:, i] for i, name in enumerate(FEATURES)}
    cpu = c["cpu"] > 0
    eff_mem = np.where(cpu, p.eff_mem_cpu, p.eff_mem)
    launch_s = np.where(cpu, p.launch_cpu_s, p.launch_gpu_s)
    sat = p.sat_tflops * 1e12
    compute = 0.0
    for prefix, scale in (("", 1.0), ("conv_", p.eff_conv)):
        compute = compute + ((c[f"{prefix}tensor_s"] + c[f"{prefix}tensor_flops"] / sat) / (p.eff_tensor * scale)
                             + (c[f"{prefix}fp32_s"] + c[f"{prefix}fp32_flops"] / sat) / (p.eff_fp32 * scale)
                             + c[f"{prefix}cpu_s"] / p.eff_cpu)  # oneDNN keeps a CPU core busy on small convs too
    compute = np.maximum(compute, c["compute_bytes_s"] / eff_mem)
    memory = (c["mem_s"] + c["mem_compiled_s"] * p.compiled) / eff_mem
    launch = (c["kernels"] + c["kernels_compiled"] * p.compiled) * launch_s
    busy = (compute + memory) / c["clock"]
    device = (launch ** OVERLAP_P + busy ** OVERLAP_P) ** (1 / OVERLAP_P)
    host = c["host_pixels"] * p.host_pixel_s + c["host_mask_pixels"] * p.host_mask_pixel_s
    total = device + host + c["transfer_s"]
    return {"compute": compute, "memory": memory, "launch": launch, "device": device, "host": host,
            "transfer": c["transfer_s"], "total": total, "per_item": total / c["items"]}


def _matrix(rows: Sequence[dict[str, float]]) -> np.ndarray:
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


def predict(fp: Footprint, spec: GPUSpec | CPUSpec, p: Params, compiled: str = "none", scope: str = "full") -> Breakdown:
    """Seconds per step of `fp` on `spec` (see `features` for `compiled` and `scope`)."""
    t = _terms(_matrix([features(fp, spec, compiled, scope)]), p)
    v = {k: float(a[0]) for k, a in t.items()}
    return Breakdown(v["compute"], v["memory"], v["launch"], v["device"], v["host"], v["transfer"], v["total"],
                     fp.items_per_step, peaks(spec, fp.query.precision).notes)


# ------------------------------------------------------------------------------ reference points


@dataclass(frozen=True)
class Reference:
    """A measured time per item under stated conditions, on a known device."""

    id: str
    query: Query
    spec: GPUSpec | CPUSpec
    seconds_per_item: float
    compiled: str  # none | encoder | full
    source: str  # published.yaml source key, or "measured here"
    quality: str  # official | paper | vendor-docs | community | measured
    label: str = ""
    scope: str = "full"  # "model": the figure times the network alone

    def features(self) -> dict[str, float]:
        return _features(self.query, self.spec, self.compiled, self.scope)

    def predicted_s(self, p: Params) -> float:
        return float(_terms(_matrix([self.features()]), p)["per_item"][0])

    def footprint(self) -> Footprint:
        return _footprint(self.query)


@lru_cache(maxsize=512)
def _footprint(q: Query) -> Footprint:
    return footprint(q)


@lru_cache(maxsize=512)
def _features(q: Query, spec, compiled: str, scope: str) -> dict[str, float]:
    return features(_footprint(q), spec, compiled, scope)


# Frames of the clip sam2's README/benchmark times (notebooks/videos/bedroom, 960x540).
_BEDROOM = (540, 960)
# Ultralytics' CPU table times bus.jpg (810x1080) and zidane.jpg (1280x720); both about 0.9 MP.
_ULTRALYTICS_ASSETS = (810, 1080)


def _published_query(t) -> Query | None:
    """The footprint query of a published timing, or None where segbench cannot model it."""
    model = PUBLISHED_MODEL_ALIASES.get(t.model, t.model)
    precision = "tf32" if t.precision == "tf32" else t.precision
    size = tuple(int(v) for v in t.resolution.split("x")) if "x" in t.resolution and t.resolution[0].isdigit() else None
    if model.startswith("mask2former"):
        if "800" in t.resolution:  # COCO: short side 800 (segbench's *-coco entries, padded 800x1088)
            model = f"{model}-coco"
        return Query(model, "image", precision, t.batch_size)
    if model.startswith("monai"):
        roi = size if size and len(size) == 3 else None
        # The MONAI zoo figures time one network forward on one window.
        return Query(model, "volume", precision, t.batch_size, roi=roi, volume=roi)
    model_size = (size[0], size[1]) if size and len(size) == 2 else None
    if t.workload == "video":
        return Query(model, "video", precision, t.batch_size, resolution=_BEDROOM, model_size=model_size, frames=200)
    if t.workload == "image":
        return Query(model, "image", precision, t.batch_size, model_size=model_size, with_prompt=True)
    if t.workload == "auto":
        return Query(model, "auto", precision, t.batch_size, resolution=_ULTRALYTICS_ASSETS, model_size=model_size)
    return Query(model, t.workload, precision, t.batch_size, model_size=model_size)


def _compile_level(t) -> str:
    if not t.compiled:
        return "none"
    text = t.notes.lower()
    return "encoder" if "encoder compiled only" in text or "compile of the image encoder" in text else "full"


def published_references(catalog=None) -> list[Reference]:
    """PyTorch timings from published.yaml, one per distinct measurement (SAM 2.0 twins of SAM 2.1
    rows and a paper repeating a README figure are kept once, so leave-one-out cannot peek)."""
    catalog = catalog or load_catalog()
    out: list[Reference] = []
    seen: list[tuple] = []
    for t in load_published(catalog=catalog):
        if t.runtime != "pytorch":
            continue
        q = _published_query(t)
        if q is None:
            continue
        value = {"fps": 1 / t.value, "latency_ms": t.value / 1000, "seconds_per_volume": t.value}[t.metric]
        level = _compile_level(t)
        key = (q, t.gpu, level)
        if any(k == key and abs(v / value - 1) < 0.05 for k, v in seen):
            continue
        seen.append((key, value))
        # Papers' image FPS and the MONAI zoo's "model computation" time the network alone.
        scope = "model" if (q.workload == "image" and q.model.startswith("sam2")) or q.model.startswith("monai") else "full"
        out.append(Reference(t.id, q, catalog.get(t.gpu), value, level, t.source, t.quality,
                             f"{t.model} {t.workload} {t.gpu} {t.precision}" + (" compiled" if t.compiled else ""),
                             scope))
    return out


def _calibration_path():
    return default_path("calibration.yaml")


@lru_cache(maxsize=4)
def load_calibration(path: str | None = None) -> dict:
    data = read_yaml(_calibration_path() if path is None else path)
    if not isinstance(data, dict):
        raise InputError(f"{path or _calibration_path()}: expected a mapping")
    for section in ("machine", "measurements", "memory", "host"):
        if section not in data:
            raise InputError(f"{path or _calibration_path()}: section '{section}' is missing")
    return data


def reference_machine(calibration: dict | None = None) -> CPUSpec:
    """The CPU the calibration runs were measured on, as a catalog-style spec."""
    calibration = calibration or load_calibration()
    m = calibration["machine"]
    basis = load_catalog().get(m["basis"])
    if not isinstance(basis, CPUSpec):
        raise InputError(f"calibration.yaml: machine.basis '{m['basis']}' is not a CPU in the catalog")
    return dataclasses.replace(basis, name=m["name"], cores=int(m["cores"]), threads=int(m["threads"]),
                               fp32_gflops=float(m["fp32_gflops"]), memory_bandwidth_gbs=float(m["memory_bandwidth_gbs"]))


def measured_references(calibration: dict | None = None) -> list[Reference]:
    calibration = calibration or load_calibration()
    machine = reference_machine(calibration)
    out = []
    for m in calibration["measurements"]:
        q = Query(
            m["model"], m["workload"], m["precision"], int(m.get("batch_size", 1)),
            resolution=tuple(m["resolution"]) if m.get("resolution") else None,
            model_size=tuple(m["model_size"]) if m.get("model_size") else None,
            frames=int(m.get("frames", 300)), points_per_side=int(m.get("points_per_side", 32)),
            volume=tuple(m["volume"]) if m.get("volume") else None, roi=tuple(m["roi"]) if m.get("roi") else None,
            kept_masks=int(m["kept_masks"]) if m.get("kept_masks") is not None else None,
        )
        out.append(Reference(m["id"], q, machine, float(m["seconds_per_item"]), "none", "measured here", "measured",
                             f"{m['model']} {m['workload']} this CPU {m['precision']}"))
    return out


def all_references() -> list[Reference]:
    return published_references() + measured_references()


def base_params(calibration: dict | None = None) -> Params:
    calibration = calibration or load_calibration()
    return Params(host_pixel_s=float(calibration["host"]["seconds_per_source_pixel"]))


# ------------------------------------------------------------------------------ fitting


def _prior(base: Params) -> np.ndarray:
    return base.with_vector(np.log([v[1] for v in PARAMETERS.values()])).vector()


def fit_matrix(x: np.ndarray, seconds: np.ndarray, base: Params, weights: np.ndarray | None = None) -> Params:
    """The parameters that best explain rows `x` measured at `seconds` per item."""
    from scipy.optimize import least_squares

    prior = _prior(base)
    target = np.log(seconds)
    w = np.ones(len(seconds)) if weights is None else np.asarray(weights, dtype=float)

    def residuals(values: np.ndarray) -> np.ndarray:
        p = base.with_vector(values)
        return np.concatenate([w * (np.log(_terms(x, p)["per_item"]) - target), PRIOR_WEIGHT * (values - prior)])

    lower = np.log([v[0] for v in PARAMETERS.values()])
    upper = np.log([v[2] for v in PARAMETERS.values()])
    result = least_squares(residuals, prior, bounds=(lower, upper))
    return base.with_vector(result.x)


def fit(refs: Sequence[Reference], base: Params | None = None) -> Params:
    base = base or Params()
    return fit_matrix(_matrix([r.features() for r in refs]), np.array([r.seconds_per_item for r in refs]), base,
                      np.array([QUALITY_WEIGHT.get(r.quality, 1.0) for r in refs]))


@dataclass
class LooResult:
    rows: list[tuple[Any, float, float]] = field(default_factory=list)  # (point, predicted, abs % error)

    @property
    def errors(self) -> list[float]:
        return [e for _, _, e in self.rows]

    @property
    def median(self) -> float:
        return statistics.median(self.errors) if self.rows else float("nan")

    @property
    def worst(self) -> float:
        return max(self.errors) if self.rows else float("nan")

    def summary(self) -> str:
        return (f"leave-one-out over {len(self.rows)} reference points: median {self.median:.0f}% "
                f"and worst {self.worst:.0f}% absolute error")


def leave_one_out(points: Sequence, fit_fn: Callable, predict_fn: Callable) -> LooResult:
    """For each point: fit on all the others, predict it, record the absolute % error.

    `fit_fn(points) -> model` and `predict_fn(model, point) -> (predicted, measured)`; generic so
    it can be tested on synthetic data.
    """
    result = LooResult()
    for i, point in enumerate(points):
        model = fit_fn([q for j, q in enumerate(points) if j != i])
        predicted, measured = predict_fn(model, point)
        result.rows.append((point, predicted, abs(predicted / measured - 1) * 100))
    return result


def reference_loo(refs: Sequence[Reference], base: Params) -> LooResult:
    return leave_one_out(refs, lambda subset: fit(subset, base), lambda p, ref: (ref.predicted_s(p), ref.seconds_per_item))


# ------------------------------------------------------------------------------ the cached fit


def inputs_digest() -> str:
    """A digest of everything the fit depends on: profile files and the formula's version."""
    h = hashlib.sha256(f"perfmodel v{MODEL_VERSION}".encode())
    for name in ("gpus.yaml", "published.yaml", "calibration.yaml", "footprints.yaml"):
        path = default_path(name)
        h.update(name.encode())
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:16]


@dataclass
class Fit:
    params: Params
    loo: LooResult
    current: bool  # False: the cache was made from other inputs (regenerate with --write)


def compute_fit() -> Fit:
    refs = all_references()
    base = base_params()
    return Fit(fit(refs, base), reference_loo(refs, base), True)


def write_fit(log=print) -> Fit:
    import yaml

    from segbench.records.atomic import atomic_write_text

    result = compute_fit()
    data = {
        "inputs_digest": inputs_digest(),
        "params": result.params.to_dict(),
        "loo": {"median_pct": round(result.loo.median, 2), "worst_pct": round(result.loo.worst, 2),
                "points": [{"id": r.id, "device": r.spec.name, "quality": r.quality,
                            "measured_s": float(f"{r.seconds_per_item:.6g}"), "predicted_s": float(f"{pred:.6g}"),
                            "error_pct": round(err, 2)} for r, pred, err in result.loo.rows]},
    }
    header = ("# The performance model's fitted parameters and leave-one-out table. Generated by\n"
              "# `python -m segbench.advisor.perfmodel --write`; do not edit. `inputs_digest` covers gpus.yaml,\n"
              "# published.yaml, calibration.yaml, footprints.yaml and the formula's version.\n")
    atomic_write_text(default_path(FIT_FILE), header + yaml.safe_dump(data, sort_keys=False, width=110))
    log(result.loo.summary())
    return result


@dataclass(frozen=True)
class _CachedPoint:
    """A leave-one-out row read back from the cache: enough of a Reference for reports."""

    id: str
    spec_name: str
    quality: str
    seconds_per_item: float


@lru_cache(maxsize=1)
def _fitted() -> Fit:
    path = default_path(FIT_FILE)
    data = read_yaml(path) if path.exists() else None
    if not isinstance(data, dict) or "params" not in data:
        return Fit(fit(all_references(), base_params()), LooResult(), False)
    params = Params(**{k: float(v) for k, v in data["params"].items()})
    refs = {r.id: r for r in all_references()}
    loo = LooResult()
    for row in data["loo"]["points"]:
        point = refs.get(row["id"]) or _CachedPoint(row["id"], row["device"], row["quality"], row["measured_s"])
        loo.rows.append((point, float(row["predicted_s"]), float(row["error_pct"])))
    current = data.get("inputs_digest") == inputs_digest()
    if not current:  # inputs changed since the cache: refit (fast); keep the cached error table as the stated error
        params = fit(list(refs.values()), base_params())
    return Fit(params, loo, current)


def fitted() -> tuple[Params, LooResult]:
    """The fitted parameters and the leave-one-out error (from the cache when it is current)."""
    f = _fitted()
    return f.params, f.loo


STALE_FIT_NOTE = (f"profiles/{FIT_FILE} was made from other inputs: the parameters were refitted now, but the "
                  "leave-one-out error shown is the cached one (run python -m segbench.advisor.perfmodel --write)")


def fit_is_current() -> bool:
    """False when the profiles changed since the cached fit: its leave-one-out table is then stale."""
    return _fitted().current


# ------------------------------------------------------------------------------ command line


def _print_loo(result: LooResult, params: Params) -> None:
    print(f"{'reference':46} {'device':20} {'quality':11} {'measured':>10} {'predicted':>10} {'error':>7}")
    for ref, predicted, error in result.rows:
        device = ref.spec.name if hasattr(ref, "spec") else ref.spec_name
        print(f"{ref.id[:46]:46} {device[:20]:20} {ref.quality:11} {_ms(ref.seconds_per_item)} {_ms(predicted)} {error:6.0f}%")
    print()
    print(result.summary())
    print("fitted on all points: " + ", ".join(f"{k}={getattr(params, k):.3g}" for k in PARAMETERS))


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.1f}ms" if seconds < 100 else f"{seconds:9.1f}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segbench.advisor.perfmodel",
                                     description="Fit the performance model and report its leave-one-out error.")
    parser.add_argument("--loo", action="store_true", help="print the leave-one-out table and summary")
    parser.add_argument("--write", action="store_true", help=f"refit, recompute leave-one-out, rewrite profiles/{FIT_FILE}")
    args = parser.parse_args(argv)
    if args.write:
        result = write_fit()
        if args.loo:
            _print_loo(result.loo, result.params)
        return 0
    f = _fitted()
    if not f.current:
        print(f"note: profiles/{FIT_FILE} was made from other inputs; run with --write to refresh it", file=sys.stderr)
    if args.loo:
        _print_loo(f.loo, f.params)
    else:
        print(f.loo.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
