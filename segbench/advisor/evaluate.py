"""One configuration on one device: the numbers and the risks, before any presentation.

`evaluate` is the one prediction `check`, `recommend`, `advice` and `doctor` share: footprint
(what the work costs) -> performance model (seconds per item on the device) -> memory model (peak
VRAM/RAM) -> risks, each a code and one plain sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from segbench.advisor.data.catalog import GIB, CPUSpec, GPUSpec
from segbench.advisor.limits import OOM_HEADROOM
from segbench.advisor.model import memory as M
from segbench.advisor.model.fit import fitted
from segbench.advisor.model.roofline import Breakdown, Params, predict
from segbench.cost.footprint import Footprint, Query
from segbench.families.costs import footprint
from segbench.errors import InputError
from segbench.families.registry import check_serves, get_spec, with_classes
from segbench.formatting import fmt_seconds as fmt_duration
from segbench.workload_catalog import FULL, SCOPES

CHEAP_BUILD_RAM = 16 * GIB  # host RAM assumed for a GPU build when nothing says otherwise
# `budget` comes from recommend (a build inside the budget only at the low end of its price range);
# `unverified` from check (no reference point on the device's architecture).
RISK_CODES = ("oom", "throttle", "slow", "precision", "host_ram", "memory_growth", "cpu_only", "estimate", "budget",
              "unverified")
MEMORY_UNIT = "GiB (2^30 bytes; nvidia-smi's MiB / 1024)"  # of every *_gb figure in `predicted`


@dataclass(frozen=True)
class Risk:
    code: str  # one of RISK_CODES
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Targets:
    fps: float | None = None
    latency_ms: float | None = None
    per_hour: float | None = None  # images (or volumes) per hour

    def validate(self) -> None:
        for name, value in (("--target-fps", self.fps), ("--target-latency-ms", self.latency_ms),
                            ("--images-per-hour", self.per_hour)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise InputError(f"{name} must be a positive number, got {value}")


@dataclass
class Evaluation:
    """One configuration on one device: the numbers and the risks, before any presentation."""

    spec: GPUSpec | CPUSpec
    footprint: Footprint
    breakdown: Breakdown
    seconds_per_item: float  # after any --from scaling
    peak_device_bytes: float | None  # GPU memory; None on a CPU
    peak_host_bytes: float
    memory_limit_bytes: float
    fits: bool
    risks: list[Risk] = field(default_factory=list)
    scale: float = 1.0
    scope: str = "predictor"
    allocated_bytes: float | None = None  # torch.cuda.max_memory_allocated's view of the peak (GPU)
    max_fit: tuple[str, int | None] | None = None  # ("frames" | "depth" | "batch", the most that fits); see memory.max_fit

    @property
    def is_cpu(self) -> bool:
        return isinstance(self.spec, CPUSpec)

    @property
    def seconds_per_volume(self) -> float | None:
        q = self.footprint.query
        if q.workload != "volume":
            return None
        return self.seconds_per_item * (self.footprint.frames if self.footprint.item_unit == "slice" else 1)

    def predicted(self) -> dict[str, float]:
        """`latency_ms`, `fps`, `images_per_hour`, `peak_vram_gb` / `peak_ram_gb` (GiB): those that apply."""
        unit = self.footprint.item_unit
        out: dict[str, float] = {}
        if unit in ("frame", "slice"):
            out["latency_ms"] = self.seconds_per_item * 1e3
            out["fps"] = 1 / self.seconds_per_item
        elif unit == "prompt":
            out["latency_ms"] = self.seconds_per_item * 1e3
        elif unit == "image":
            out["latency_ms"] = self.seconds_per_item * 1e3
            out["images_per_hour"] = 3600 / self.seconds_per_item
        per_volume = self.seconds_per_volume
        if per_volume is not None:
            out["seconds_per_volume"] = per_volume
            out["volumes_per_hour"] = 3600 / per_volume
            if unit == "volume":
                out["latency_ms"] = per_volume * 1e3
        if self.peak_device_bytes is not None:
            out["peak_vram_gb"] = self.peak_device_bytes / GIB
            out["peak_allocated_gb"] = (self.allocated_bytes or 0.0) / GIB
            out["host_ram_gb"] = self.peak_host_bytes / GIB
        else:
            out["peak_ram_gb"] = self.peak_host_bytes / GIB
        out = {k: round(v, 4 if v < 10 else 1) for k, v in out.items()}
        if self.max_fit is not None and self.max_fit[1] is not None:
            out[f"max_{self.max_fit[0]}_fit"] = self.max_fit[1]
        return out

    def meets(self, targets: Targets) -> bool:
        return self.fits and not self.missed(targets)

    def missed(self, targets: Targets) -> list[str]:
        """Sentences for every target this prediction misses."""
        p = self.predicted()
        out = []
        if targets.fps is not None and "fps" in p and p["fps"] < targets.fps:
            out.append(f"{p['fps']:.1f} fps predicted, {targets.fps:g} wanted")
        if targets.latency_ms is not None and p.get("latency_ms", 0) > targets.latency_ms:
            out.append(f"{p['latency_ms']:.0f} ms predicted, {targets.latency_ms:g} ms wanted")
        if targets.per_hour is not None:
            rate = p.get("volumes_per_hour") if self.footprint.query.workload == "volume" else p.get("images_per_hour")
            if rate is None and "fps" in p:
                rate = p["fps"] * 3600
            if rate is not None and rate < targets.per_hour:
                what = "volumes" if self.footprint.query.workload == "volume" else "images"
                out.append(f"{rate:,.0f} {what}/hour predicted, {targets.per_hour:,.0f} wanted")
        return out


def default_precision(spec: GPUSpec | CPUSpec) -> str:
    """What segbench run would pick there: the measure module's rule per compute capability on a GPU
    (bf16 from 8.0, fp16 on 7.x, fp32 before); bf16 on a CPU with a native bf16 rate, else fp32."""
    if isinstance(spec, CPUSpec):
        return "bf16" if spec.bf16_gflops else "fp32"
    if spec.backend == "mps":
        return "fp16"  # what segbench run picks on Apple GPUs
    if spec.backend != "cuda":
        return "bf16" if spec.bf16_tensor_tflops else "fp16"
    from segbench.measure.device import precision_for_capability

    return precision_for_capability(spec.cuda_capability)


def _memory_limit(spec: GPUSpec | CPUSpec) -> float:
    if isinstance(spec, GPUSpec):
        return spec.vram_bytes
    if spec.name.startswith("this machine") or spec.name.startswith("calibration machine"):
        import psutil

        return float(psutil.virtual_memory().total)
    return CHEAP_BUILD_RAM


def evaluate(spec: GPUSpec | CPUSpec, query: Query, *, params: Params | None = None, compiled: str = "none",
             scale: float = 1.0, targets: Targets = Targets(), scope: str = "predictor") -> Evaluation:
    if scope not in SCOPES:
        raise InputError(f"--scope must be one of {', '.join(SCOPES)}, got '{scope}'")
    params = params or fitted()[0]
    fp = footprint(query)
    breakdown = predict(fp, spec, params, compiled, scope)
    per_item = breakdown.per_item_s * scale
    mm = M.memory_model()
    cpu = isinstance(spec, CPUSpec)
    device = None if cpu else M.device_peak_bytes(fp, mm)
    host = M.host_peak_bytes(fp, cpu, mm)
    limit = _memory_limit(spec)
    fit_limit = max(0.0, limit - host) if _unified(spec) else limit
    ev = Evaluation(spec, fp, breakdown, per_item, device, host, limit, fits=_limited_peak(spec, device, host) <= limit,
                    scale=scale, scope=scope, allocated_bytes=None if cpu else M.allocated_peak_bytes(fp, mm),
                    max_fit=M.max_fit(query, fit_limit, cpu, mm))
    ev.risks = _risks(ev, targets, mm)
    return ev


def _unified(spec: GPUSpec | CPUSpec) -> bool:
    return isinstance(spec, GPUSpec) and spec.unified_memory


def _limited_peak(spec: GPUSpec | CPUSpec, device: float | None, host: float) -> float:
    """The peak that the device's memory limit bounds: RAM on a CPU, GPU memory on a card, and on unified
    memory both, since the host side of the job (frames, buffers, the runtime) uses the same pool."""
    if device is None:
        return host
    return device + host if _unified(spec) else device


def _risks(ev: Evaluation, targets: Targets, mm: M.MemoryModel) -> list[Risk]:
    spec, fp, q = ev.spec, ev.footprint, ev.footprint.query
    risks: list[Risk] = []
    unified = _unified(spec)
    peak = _limited_peak(spec, ev.peak_device_bytes, ev.peak_host_bytes)
    what = "RAM" if ev.is_cpu else "the memory a GPU job may use (shared with the CPU)" if unified else "VRAM"
    if peak >= OOM_HEADROOM * ev.memory_limit_bytes:
        level = "over" if peak > ev.memory_limit_bytes else "within 10% of"
        risks.append(Risk("oom", f"predicted peak {peak / GIB:.1f} GiB is {level} the {ev.memory_limit_bytes / GIB:.3g} GiB "
                                 f"of {what} on {spec.name}" + _oom_hint(fp, unified)))
    if isinstance(spec, GPUSpec) and (spec.form_factor == "laptop" or spec.sustained_clock_factor < 1):
        basis = f" ({spec.sustained_clock_basis})" if spec.sustained_clock_basis else ""
        if spec.form_factor == "laptop":
            risks.append(Risk("throttle", f"{spec.name} is a laptop part: under a long run it holds about "
                                          f"{spec.sustained_clock_factor:.0%} of its boost clock{basis}; the figures use "
                                          "that sustained clock, and a thin chassis can fall lower (measure with segbench soak)"))
        else:
            risks.append(Risk("throttle", f"{spec.name} runs at about {spec.sustained_clock_factor:.0%} of its top "
                                          f"clocks in this power mode{basis}; the figures use those clocks"))
    for sentence in ev.missed(targets):
        risks.append(Risk("slow", f"target missed on {spec.name}: {sentence}"))
    if isinstance(spec, GPUSpec) and spec.backend == "cuda":
        if q.precision == "bf16" and spec.bf16_tensor_tflops is None:
            risks.append(Risk("precision", f"bf16 needs compute capability 8.0 (Ampere) or newer; {spec.name} is "
                                           f"{spec.cuda_capability[0]}.{spec.cuda_capability[1]}, so bf16 runs without "
                                           "tensor cores (segbench run refuses it there): use fp16"))
        elif q.precision == "fp16" and spec.cuda_capability < (7, 0):
            risks.append(Risk("precision", f"{spec.name} has no fast fp16 (Pascal runs half precision at 1/64 rate or "
                                           "falls back to fp32 math): fp16 saves memory but not time"))
    for note in ev.breakdown.notes:
        if ev.is_cpu:
            risks.append(Risk("precision", note))
    if not ev.is_cpu and ev.peak_host_bytes > CHEAP_BUILD_RAM * OOM_HEADROOM:
        risks.append(Risk("host_ram", f"about {ev.peak_host_bytes / GIB:.0f} GiB of host RAM is needed "
                                      f"({'frames and memory bank offloaded' if q.offload_video_to_cpu else 'buffers on the host'}); "
                                      f"a {CHEAP_BUILD_RAM / GIB:.0f} GiB build will swap"))
    if fp.growth_bytes_per_frame > 0 and not ev.is_cpu and ev.max_fit is not None:
        fit = ev.max_fit[1]
        if fit is not None and fit < fp.frames:
            risks.append(Risk("memory_growth", f"GPU memory grows {fp.growth_bytes_per_frame / 2**20:.0f} MiB per "
                                               f"{fp.item_unit}: about {fit} {fp.item_unit}s fit on {spec.name}, not "
                                               f"{fp.frames}; use --offload-video-to-cpu or split the clip"))
    if ev.is_cpu:
        risks.append(Risk("cpu_only", f"no GPU: {fmt_duration(ev.seconds_per_item)} per {fp.item_unit} on {spec.name}"))
    if isinstance(spec, GPUSpec) and spec.sustained_clock_estimate:
        risks.append(Risk("estimate", f"{spec.name}'s sustained clock is a segbench estimate, not a measurement"))
    return risks


def _oom_hint(fp: Footprint, unified: bool = False) -> str:
    q = fp.query
    if unified and q.workload in ("video", "volume"):  # moving buffers to the host frees nothing: one pool
        return "; the memory is shared with the CPU, so offloading does not help: fewer --frames, a smaller scan " \
               "or a smaller model"
    if q.workload == "video" and not q.offload_video_to_cpu:
        return "; the clip's frames live on the GPU: try --offload-video-to-cpu, fewer --frames, or a smaller model"
    if q.workload == "volume" and fp.item_unit == "volume" and q.aggregate_on != "cpu":
        return "; --aggregate-on cpu moves the full-size output buffers to RAM"
    if q.batch_size > 1:
        return "; try a smaller --batch-size"
    if q.precision == "fp32":
        return "; fp16/bf16 halves the activations"
    return ""


def build_query(model: str, workload: str, precision: str, *, resolution=None, batch_size: int = 1, volume=None,
                frames: int | None = None, aggregate_on: str = "device", offload_video_to_cpu: bool = False,
                classes: int | None = None) -> Query:
    spec = get_spec(model)
    check_serves(spec, workload)
    if volume is not None and workload != "volume":
        raise InputError("--volume applies to --workload volume only")
    if frames is not None and workload != "video":
        raise InputError("--frames applies to --workload video only")
    if batch_size < 1:
        raise InputError(f"--batch-size must be 1 or more, got {batch_size}")
    if aggregate_on not in ("device", "cpu"):
        raise InputError(f"--aggregate-on must be device or cpu, got '{aggregate_on}'")
    if classes is not None:
        with_classes(spec, classes)  # refused with one line for a model without output classes
    return Query(spec.name, workload, precision, batch_size, resolution=tuple(resolution) if resolution else None,
                 frames=frames or FULL.frames, volume=tuple(volume) if volume else None,
                 aggregate_on=aggregate_on, offload_video_to_cpu=offload_video_to_cpu, classes=classes)
