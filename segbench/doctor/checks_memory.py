"""Memory: does the chosen model and workload fit in the VRAM free now, and in host RAM?

The prediction comes from the advisor's calibrated memory model (an injected function), which
already holds the CUDA context and the allocator's reserve; the verdict uses the advisor's own
rule (`oom` at 90 % of the memory), so `doctor` and `check` never disagree.
"""

from __future__ import annotations

from segbench.advisor.limits import OOM_HEADROOM
from segbench.doctor.context import (
    DoctorContext,
    MemoryNeed,
    cpu_precision,
    gpu_label,
    gpu_precision,
    parse_cc,
)
from segbench.doctor.findings import Finding, fail, ok, skipped, warn
from segbench.formatting import fmt_bytes

GiB = 1024**3


def _fixes(ctx: DoctorContext, on_gpu: bool) -> str:
    r = ctx.request
    steps = []
    if r.batch_size > 1:
        steps.append(f"a smaller batch (--batch-sizes {max(1, r.batch_size // 2)})")
    if on_gpu and r.workload == "video":
        steps.append("--offload-video-to-cpu --offload-state-to-cpu")
    if on_gpu and r.workload == "volume":
        steps.append("--aggregate-on cpu")
    if r.workload in ("video", "volume"):
        steps.append("fewer frames/slices (--frames, --volume)")
    if on_gpu and (r.precision in (None, "fp32")):
        steps.append("--precision fp16/bf16")
    steps.append("a smaller model")
    if on_gpu:
        steps.append("close other GPU processes (nvidia-smi lists them)")
    return "try " + "; ".join(steps)


def _verdict(fid: str, title: str, need: float, available: float, where: str,
             ctx: DoctorContext, on_gpu: bool, est: MemoryNeed, **details) -> Finding:
    details.update(need_bytes=int(need), available_bytes=int(available), notes=list(est.notes))
    what = f"{ctx.request.model} {ctx.request.workload} (batch {ctx.request.batch_size})"
    has = f"{fmt_bytes(available)} {where}"
    if need > available:
        return fail(fid, title, f"{what} needs about {fmt_bytes(need)} at its peak, more than the {has}: it will "
                    "run out of memory.", _fixes(ctx, on_gpu), **details)
    if need > OOM_HEADROOM * available:
        return warn(fid, title, f"{what} needs about {fmt_bytes(need)} at its peak, within "
                    f"{1 - OOM_HEADROOM:.0%} of the {has}: out of memory is likely.", _fixes(ctx, on_gpu), **details)
    return ok(fid, title, f"{what} needs about {fmt_bytes(need)} at its peak; {has}, "
              f"{fmt_bytes(available - need)} to spare.", **details)


def _estimate(ctx: DoctorContext, precision: str) -> MemoryNeed | str:
    if ctx.estimate_memory is None:
        return "no memory model is available"
    try:
        return ctx.estimate_memory(ctx.request, precision)
    except Exception as exc:  # the estimate failing must not stop the other checks
        return f"the memory model could not estimate it ({type(exc).__name__}: {exc})"


def _gpu_memory(ctx: DoctorContext) -> list[Finding]:
    out = []
    if ctx.target is not None:
        units = [("target.vram", ctx.target.name, ctx.target.compute_capability, ctx.target.vram_bytes,
                  f"on the {ctx.target.name}", None)]
    else:
        units = [(f"gpu{g.get('index')}.vram", gpu_label(g), parse_cc(g.get("compute_capability")),
                  g.get("vram_free_bytes"), "free now", g) for g in ctx.visible_gpus()]
    for fid, label, cc, available, where, gpu in units:
        title = f"{label}: VRAM"
        if available is None:
            out.append(skipped(fid, title, "NVML does not report free memory for this GPU."))
            continue
        precision = gpu_precision(ctx.request, cc)
        est = _estimate(ctx, precision)
        if isinstance(est, str):
            out.append(skipped(fid, title, f"Not estimated: {est}."))
            continue
        details = {"precision": precision}
        if gpu is not None and gpu.get("vram_used_bytes"):
            where += f" ({fmt_bytes(gpu['vram_used_bytes'])} already in use)"
            details["used_by_others_bytes"] = gpu["vram_used_bytes"]
        out.append(_verdict(fid, title, est.device_bytes, available, where, ctx, True, est, **details))
    return out


def _run_cc(ctx: DoctorContext) -> tuple[int, int] | None:
    """The compute capability of the GPU a run would use (the --gpu target, else the first visible GPU)."""
    if ctx.target is not None:
        return ctx.target.compute_capability
    visible = ctx.visible_gpus()
    return parse_cc(visible[0].get("compute_capability")) if visible else None


def _host_memory(ctx: DoctorContext) -> Finding:
    fid, title = "host.ram", "Host RAM"
    available = ctx.host.memory.get("available_bytes")
    if available is None:
        return skipped(fid, title, "The OS does not report available memory.")
    on_cpu = ctx.runs_on_cpu
    precision = cpu_precision(ctx.request, ctx.host) if on_cpu else gpu_precision(ctx.request, _run_cc(ctx))
    est = _estimate(ctx, precision)
    if isinstance(est, str):
        return skipped(fid, title, f"Not estimated: {est}.")
    need = est.cpu_run_bytes if on_cpu else est.host_bytes
    where = "available now" + (" for a CPU run" if on_cpu else "")
    return _verdict(fid, title, need, available, where, ctx, False, est, precision=precision)


def memory(ctx: DoctorContext) -> list[Finding]:
    findings = _gpu_memory(ctx) if ctx.checks_gpus else []
    findings.append(_host_memory(ctx))
    return findings
