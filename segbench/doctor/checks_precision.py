"""Precision and sam2's optional CUDA extension: what runs slowly or silently does less."""

from __future__ import annotations

from segbench.doctor.context import (
    DoctorContext,
    cpu_precision,
    gpu_label,
    gpu_precision,
    parse_cc,
)
from segbench.doctor.findings import Finding, fail, ok, skipped, warn
from segbench.models.registry import get_spec

# sam2's video predictor keeps its memory features in bf16 whatever the autocast, and its
# examples run under torch.autocast("cuda", dtype=torch.bfloat16); sam2 on a volume is the same path.
BF16_WORKLOADS = ("video", "volume")

SAM2_BUILD = ("SAM2_BUILD_CUDA=1 SAM2_BUILD_ALLOW_ERRORS=0 pip install -v --no-build-isolation --no-cache-dir "
              "--force-reinstall --no-deps sam2=={version}")


def _half_fix(cc: tuple[int, int]) -> str:
    # Before Volta (7.0) there are no tensor cores: fp16 is no faster than fp32 there.
    return "--precision fp16" if cc >= (7, 0) else "--precision fp32 (no tensor cores before compute capability 7.0)"


def _uses_sam2_video(ctx: DoctorContext) -> bool:
    return get_spec(ctx.request.model).family == "sam2" and ctx.request.workload in BF16_WORKLOADS


def _gpu_precision(ctx: DoctorContext, fid: str, label: str, cc: tuple[int, int] | None) -> Finding:
    title = f"{label}: precision"
    precision = gpu_precision(ctx.request, cc)
    if cc is None:
        return skipped(fid, title, "NVML does not report the compute capability.", precision=precision)
    cc_text = f"{cc[0]}.{cc[1]}"
    details = {"precision": precision, "compute_capability": cc_text}
    if precision == "bf16" and cc < (8, 0):
        return fail(fid, title, f"bf16 needs compute capability 8.0 (Ampere) or newer; {label} is {cc_text}, where bf16 "
                    "is emulated at a fraction of the speed or fails (segbench run refuses it).", _half_fix(cc), **details)
    if _uses_sam2_video(ctx) and cc < (8, 0):
        return warn(fid, title, f"sam2's video predictor stores its memory bank in bf16 and its examples autocast to "
                    f"bf16 on CUDA; on compute capability {cc_text} bf16 is emulated, so propagation is slow.",
                    f"run with {_half_fix(cc)}; in your own code use torch.autocast('cuda', dtype=torch.float16) "
                    "instead of torch.bfloat16.", **details)
    if precision == "fp16" and cc < (7, 0):
        return warn(fid, title, f"{label} (compute capability {cc_text}) has no tensor cores, so fp16 is no faster "
                    "than fp32 and loses accuracy.", "--precision fp32", **details)
    return ok(fid, title, f"{precision} runs natively on compute capability {cc_text}.", **details)


def _cpu_precision(ctx: DoctorContext) -> Finding:
    title = "CPU: precision"
    precision = cpu_precision(ctx.request, ctx.host)
    native = ctx.host.cpu_bf16_native
    details = {"precision": precision, "cpu_bf16_native": native}
    better = "--precision bf16 (this CPU has native bf16)" if native else "--precision fp32"
    if precision == "fp16":
        return warn("cpu.precision", title, "fp16 on the CPU: most CPU kernels have no fp16 path, so it is converted "
                    "op by op (usually slower than fp32) and some ops are missing.", better, **details)
    if precision == "bf16" and not native:
        return warn("cpu.precision", title, "bf16 on a CPU without AVX512-BF16 or AMX is emulated and no faster "
                    "than fp32.", "--precision fp32", **details)
    return ok("cpu.precision", title, f"{precision} on the CPU" + (" with native bf16 (AVX512-BF16/AMX)." if precision == "bf16"
              else "."), **details)


def precision(ctx: DoctorContext) -> list[Finding]:
    findings: list[Finding] = []
    if ctx.target is not None:
        findings.append(_gpu_precision(ctx, "target.precision", ctx.target.name, ctx.target.compute_capability))
    elif ctx.checks_gpus:
        findings += [_gpu_precision(ctx, f"gpu{g.get('index')}.precision", gpu_label(g), parse_cc(g.get("compute_capability")))
                     for g in ctx.visible_gpus()]
    if ctx.runs_on_cpu:
        findings.append(_cpu_precision(ctx))
    return findings


def sam2_extension(ctx: DoctorContext) -> list[Finding]:
    fid, title = "sam2.extension", "sam2 CUDA extension (sam2._C)"
    ext = ctx.sam2
    if not ext.installed:
        return [skipped(fid, title, "sam2 is not installed, so SAM 2.1 models cannot run at all.",
                        "pip install sam2 (see the README's install command)")]
    if ext.loaded:
        return [ok(fid, title, f"sam2 {ext.version or ''} has its CUDA extension: video masks get their small holes filled.")]
    if ctx.runs_on_cpu:
        return [skipped(fid, title, "Not built; it is a CUDA kernel, so on the CPU sam2's video post-processing "
                        "skips hole filling either way.")]
    build = SAM2_BUILD.format(version=ext.version or "1.1.0")
    cuda = ctx.torch.torch_cuda_version or "<torch's CUDA>"
    fix = f"{build} (with nvcc from a CUDA {cuda} toolkit on PATH; `python -c 'import sam2._C'` then succeeds)"
    broken = ext.error and "No module named" not in ext.error
    what = "is built but fails to load (built against another torch?)" if broken else "is not built"
    lost = ("sam2's video predictor then skips filling holes of up to 8 pixels in its low-resolution masks, "
            "warns on every frame, and masks may keep small holes")
    if not _uses_sam2_video(ctx):
        return [ok(fid, title, f"It {what}; the {ctx.request.workload} workload of {ctx.request.model} does not use it "
                   f"(only video and volume propagation do: {lost}).", error=ext.error, fix=fix)]
    return [warn(fid, title, f"It {what}: {lost}.", fix, error=ext.error)]
