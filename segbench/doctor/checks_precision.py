"""Precision, and the families' optional compiled extensions: what runs slowly or silently does less."""

from __future__ import annotations

from segbench.doctor.context import (
    DoctorContext,
    cpu_precision,
    gpu_label,
    gpu_precision,
    parse_cc,
)
from segbench.doctor.findings import Finding, fail, ok, skipped, warn
from segbench.families.registry import families, family_of


def _half_fix(cc: tuple[int, int]) -> str:
    # Before Volta (7.0) there are no tensor cores: fp16 is no faster than fp32 there.
    return "--precision fp16" if cc >= (7, 0) else "--precision fp32 (no tensor cores before compute capability 7.0)"


def _bf16_state(ctx: DoctorContext) -> str | None:
    """Why the request's library keeps state in bf16 whatever the autocast, if it does."""
    return family_of(ctx.request.model).bf16_state.get(ctx.request.workload)


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
    why = _bf16_state(ctx)
    if why and cc < (8, 0):
        return warn(fid, title, f"{why}; on compute capability {cc_text} bf16 is emulated, so propagation is slow.",
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


def extensions(ctx: DoctorContext) -> list[Finding]:
    """One row per optional compiled extension a registered family declares."""
    family = family_of(ctx.request.model)
    out = []
    for owner in families().values():
        for ext in owner.extensions:
            used = owner.name == family.name and ctx.request.workload in ext.used_by
            out.append(_extension(ctx, ext, ctx.extensions.get(ext.module), used))
    return out


def _extension(ctx: DoctorContext, ext, state, used: bool) -> Finding:
    fid, title = f"{ext.package}.extension", f"{ext.package} CUDA extension ({ext.module})"
    if state is None or not state.installed:
        return skipped(fid, title, f"{ext.package} is not installed, so its models cannot run at all.",
                       f"pip install {ext.package} (see the README's install command)")
    if state.loaded:
        return ok(fid, title, f"{ext.package} {state.version or ''} has its compiled extension: nothing is skipped.")
    if ctx.runs_on_cpu and ext.gpu_only:
        return skipped(fid, title, f"Not built; it is a CUDA kernel, so on the CPU {ext.package} does without it "
                       "either way.")
    build = ext.build.format(version=state.version or "")
    cuda = ctx.torch.torch_cuda_version or "<torch's CUDA>"
    fix = f"{build} (with nvcc from a CUDA {cuda} toolkit on PATH; `python -c 'import {ext.module}'` then succeeds)"
    broken = state.error and "No module named" not in state.error
    what = "is built but fails to load (built against another torch?)" if broken else "is not built"
    if not used:
        return ok(fid, title, f"It {what}; the {ctx.request.workload} workload of {ctx.request.model} does not use it "
                  f"(only {' and '.join(ext.used_by)} do: {ext.lost}).", error=state.error, fix=fix)
    return warn(fid, title, f"It {what}: {ext.lost}.", fix, error=state.error)
