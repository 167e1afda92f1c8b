"""`segbench check`: will a model and workload run on a device, how fast, and what could go wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segbench.advisor.advice import advice_for, paths_for
from segbench.advisor.data.catalog import GPUSpec, Match
from segbench.advisor.evaluate import (
    MEMORY_UNIT,
    Evaluation,
    Risk,
    Targets,
    build_query,
    default_precision,
    evaluate,
)
from segbench.advisor.model import memory as M
from segbench.advisor.model.fit import STALE_FIT_NOTE, device_class, fit_is_current, fitted
from segbench.advisor.model.roofline import peaks
from segbench.advisor.targets import resolve_target
from segbench.errors import InputError
from segbench.families.registry import default_classes, get_spec
from segbench.limits import check_finite
from segbench.workload_catalog import SCOPE_MEANS


# The GPU backends `segbench run` drives (ROCm builds of torch present AMD GPUs as "cuda" devices).
RUNNABLE_BACKENDS = ("cuda", "rocm", "mps")


@dataclass(frozen=True)
class CheckRequest:
    gpu: str
    model: str
    workload: str
    resolution: tuple[int, int] | None = None
    batch_size: int = 1
    precision: str | None = None
    volume: tuple[int, int, int] | None = None
    frames: int | None = None
    aggregate_on: str = "device"
    offload_video_to_cpu: bool = False
    targets: Targets = field(default_factory=Targets)
    dataset_images: int | None = None
    epochs: int | None = None  # the small model's fine-tuning epochs in the two-paths advice
    label_seconds: float | None = None  # a person's seconds per image in it
    compiled: bool = False
    backend: str = "eager"  # eager | onnxruntime | openvino: an exported graph, at its measured ratio to eager
    from_results: tuple[str, ...] = ()
    scope: str = "predictor"
    classes: int | None = None

    def __post_init__(self) -> None:
        check_finite(self, "check")  # NaN or infinity from the API would print as invalid JSON


@dataclass
class CheckResult:
    match: Match
    evaluation: Evaluation
    basis: dict[str, Any]
    advice: list[str]

    @property
    def fits(self) -> bool:
        return self.evaluation.fits

    @property
    def risks(self) -> list[Risk]:
        return self.evaluation.risks

    def to_dict(self) -> dict[str, Any]:
        ev = self.evaluation
        q = ev.footprint.query
        return {
            "device": ev.spec.name,
            "device_kind": "cpu" if ev.is_cpu else "gpu",
            "matched": self.match.note,
            "model": q.model,
            "workload": q.workload,
            "precision": q.precision,
            "batch_size": q.batch_size,
            "classes": q.classes if q.classes is not None else default_classes(q.model),  # None: no class setting
            "scope": ev.scope,
            "scope_means": SCOPE_MEANS[ev.scope],
            "item": ev.footprint.item_unit,
            "fits": ev.fits,
            "predicted": ev.predicted(),
            "risks": [r.to_dict() for r in ev.risks],
            "basis": self.basis,
            "advice": self.advice,
            "notes": list(ev.footprint.notes),
        }


def check(req: CheckRequest) -> CheckResult:
    """Everything `segbench check` prints, computed."""
    req.targets.validate()
    if req.dataset_images is not None and req.dataset_images < 1:
        raise InputError(f"--images must be 1 or more, got {req.dataset_images}")
    match = resolve_target(req.gpu)
    precision = req.precision or default_precision(match.spec)
    query = build_query(req.model, req.workload, precision, resolution=req.resolution, batch_size=req.batch_size,
                        volume=req.volume, frames=req.frames, aggregate_on=req.aggregate_on,
                        offload_video_to_cpu=req.offload_video_to_cpu, classes=req.classes)
    params, loo = fitted()
    scale, scaled_from, own = 1.0, None, []
    if req.from_results:
        from segbench.advisor.fromresults import scale_from_results
        from segbench.records.store import read_records

        own = read_records(req.from_results)  # read once: the eager scale and the execution ratios both use them
        scale, scaled_from = scale_from_results(req.from_results, query, match.spec, params, own)
    compiled, execution = _execution(req, match.spec, query.precision, own)
    if execution.get("ratio"):
        scale *= execution["ratio"]
    ev = evaluate(match.spec, query, params=params, compiled=compiled, scale=scale, targets=req.targets,
                  scope=req.scope)
    basis = basis_for(ev, loo, compiled)
    if not ev.is_cpu and not basis["error"]["architecture_points"]:
        ev.risks.append(Risk("unverified", unverified(match.spec)))
    if scaled_from:
        basis["scaled_from"] = scaled_from
    if execution:
        basis["execution"] = execution
    paths = paths_for(ev, req.dataset_images, params, req.epochs, req.label_seconds)
    if paths:
        basis["two_paths"] = paths.to_dict()
    return CheckResult(match, ev, basis, advice_for(ev, req.dataset_images, params=params, paths=paths))


def _execution(req: CheckRequest, spec: GPUSpec | Any, precision: str, records: list) -> tuple[str, dict[str, Any]]:
    """(the roofline's compile level, the measured execution ratio applied, if any, and its basis);
    `records`: the user's --from records, whose ratios come first."""
    from segbench.advisor.model.executions import ratio_for, ratios_from_records

    label = "compile" if req.compiled else req.backend
    if label == "eager":
        return "none", {}
    if req.compiled and req.backend != "eager":
        raise InputError("--compile applies to eager PyTorch: an exported --backend is compiled by its own runtime")
    if not req.compiled:
        from segbench.backends.catalog import get

        refused = get(label).refusal(precision)  # the backend's own rule, as segbench run applies it
        if refused:
            raise InputError(f"--backend {refused}")
    kind = "gpu" if isinstance(spec, GPUSpec) else "cpu"
    own = ratios_from_records(records, ", ".join(req.from_results))
    applied = ratio_for(label, kind, req.model, req.workload, precision, own)
    if applied is not None:
        return "none", applied
    if req.compiled:  # the roofline's compiled parameter, fitted to published compiled runs
        return "full", {"execution": label, "ratio": None,
                        "note": f"no compiled run measured at {precision} on a {kind}: the roofline's compiled parameter "
                                "(fitted to published compiled runs) applies"}
    return "none", {"execution": label, "ratio": None,
                    "note": f"{label} was never measured at {precision} on a {kind} here: predicted as eager PyTorch "
                            f"(measure it with segbench tune, or run --backend eager,{label}, then check --from "
                            "those records)"}


def basis_for(ev: Evaluation, loo, compiled: str = "none") -> dict[str, Any]:
    """Which reference points and what error the prediction rests on."""
    fp, spec, q = ev.footprint, ev.spec, ev.footprint.query
    family = get_spec(q.model).family
    # Rows read back from a stale cache for points that are gone have no query: they cannot be similar.
    similar = [(ref, pred, err) for ref, pred, err in loo.rows if hasattr(ref, "query")
               and get_spec(ref.query.model).family == family and ref.query.workload == q.workload]
    # Nearest first: the same kind of device (a GPU prediction is not vouched for by CPU runs), then
    # the same model, architecture, device and scope.
    kind = "cpu" if ev.is_cpu else "gpu"
    similar.sort(key=lambda row: (_kind(row[0]) != kind, row[0].query.model != q.model,
                                  _architecture(row[0]) != _architecture_of(spec), row[0].spec.name != spec.name,
                                  row[0].scope != ev.scope))
    similar_errors = [err for _, _, err in similar]
    device = fp.device
    peak = spec.peak_tflops(q.precision)
    out: dict[str, Any] = {
        "method": "roofline (device peak x fitted efficiency) + per-kernel launch overhead + host pre/post-processing; "
                  "segbench.advisor.model",
        "work": {
            "gflops_per_step": round(device.flops / 1e9, 2),
            "kernels_per_step": int(device.kernels),
            "items_per_step": fp.items_per_step,
            "counted": f"{q.model} on torch's meta device (profiles/footprints.yaml)",
        },
        "device": {"name": spec.name, "peak_tflops": peak, "bandwidth_gbs": spec.memory_bandwidth_gbs,
                   "sources": list(spec.sources)},
        "limited_by": ev.breakdown.bound,
        "error": {
            "fit_current": fit_is_current(),
            "leave_one_out_median_pct": round(loo.median, 1),
            "leave_one_out_worst_pct": round(loo.worst, 1),
            "reference_points": len(loo.rows),
            "similar_points": len(similar),
            "similar_median_pct": round(sorted(similar_errors)[len(similar_errors) // 2], 1) if similar_errors else None,
            "architecture_points": len(same_architecture(loo, spec)),
        },
        "references": [
            {"id": ref.id, "device": ref.spec.name, "scope": ref.scope, "measured_ms": round(ref.seconds_per_item * 1e3, 2),
             "predicted_ms": round(pred * 1e3, 2), "error_pct": round(err, 1), "source": ref.source}
            for ref, pred, err in similar[:4]
        ],
        "memory": M.memory_model().basis() if not ev.is_cpu else "runtime + weights + activations x CPU factor "
                  "(fitted to RSS growth measured here) + state",
        "memory_unit": MEMORY_UNIT,
        "compiled": compiled,
        "sustained_clock_factor": getattr(spec, "sustained_clock_factor", 1.0),
    }
    notes = [] if out["error"]["fit_current"] else [STALE_FIT_NOTE]
    if not similar:
        notes.append(f"no reference point for {family} {q.workload}: extrapolated from other models and workloads")
    unit = peaks(spec, q.precision).matmul_unit
    same_unit = [ref for ref, _, _ in loo.rows if hasattr(ref, "spec") and peaks(ref.spec, ref.query.precision).matmul_unit == unit]
    if len(same_unit) < 3:
        what = {"tensor": "on tensor cores", "fp32": "on FP32 CUDA cores (no tensor-core path)", "cpu": "on a CPU"}[unit]
        notes.append(f"only {len(same_unit)} reference point(s) ran {what}: this prediction extrapolates, expect "
                     "a larger error than the median")
    if not ev.is_cpu and not out["error"]["architecture_points"]:
        notes.append(unverified(spec))
    if notes:
        out["error"]["note"] = "; ".join(notes)
    return out


def _kind(ref) -> str:
    return "cpu" if device_class(ref) == "cpu" else "gpu"


def _architecture_of(spec) -> str:
    return getattr(spec, "architecture", "CPU")


def _architecture(ref) -> str:
    return _architecture_of(ref.spec) if hasattr(ref, "spec") else ""


def same_architecture(loo, spec) -> list:
    """Reference points measured on a device of `spec`'s architecture (and backend)."""
    return [ref for ref, _, _ in loo.rows if hasattr(ref, "spec") and isinstance(ref.spec, GPUSpec)
            and isinstance(spec, GPUSpec) and ref.spec.architecture == spec.architecture
            and ref.spec.backend == spec.backend]


def unverified(spec) -> str:
    runs = ("" if spec.backend in RUNNABLE_BACKENDS else
            f"; segbench run cannot drive {spec.backend} devices yet, so none can be measured there")
    return (f"no reference point on {spec.architecture} ({spec.backend}): the prediction has no measurement on this "
            f"architecture and extrapolates from others{runs}")
