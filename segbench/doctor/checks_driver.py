"""Driver and torch: can the installed torch use the NVIDIA GPUs that NVML sees?

The usual ways it cannot: a CPU-only (or ROCm) torch wheel, a driver older than the CUDA torch was
built for, CUDA_VISIBLE_DEVICES hiding the GPUs, or a GPU older than every architecture the
wheel ships kernels for.
"""

from __future__ import annotations

from segbench.doctor.context import DoctorContext, gpu_label, parse_cc
from segbench.doctor.findings import Finding, fail, ok, skipped, warn
from segbench.doctor.torchstate import builds_for, lowest_supported, supports

PYTORCH_INDEX = "https://download.pytorch.org/whl"
GET_STARTED = "https://pytorch.org/get-started/locally/"


def _version(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in str(text).split(".")[:2]) if text else None
    except ValueError:
        return None


def install_command(torch_version: str | None, cuda: str) -> str:
    """pip command for the same torch release built against CUDA `cuda` (e.g. '12.6' -> cu126)."""
    base = (torch_version or "").split("+")[0]
    pin = f"torch=={base}" if base else "torch"
    return f"pip install --force-reinstall {pin} torchvision --index-url {PYTORCH_INDEX}/cu{cuda.replace('.', '')}"


def _build_for_driver(ctx: DoctorContext, driver_cuda: str | None) -> str | None:
    """The newest published CUDA build of this torch that a driver supporting `driver_cuda` runs."""
    limit = _version(driver_cuda)
    fits = [c for c in ctx.torch.published_builds if limit is None or (_version(c) or (99,)) <= limit]
    return max(fits, key=lambda c: _version(c) or ()) if fits else None


def _cuda_install_fix(ctx: DoctorContext, driver_cuda: str | None) -> str:
    cuda = _build_for_driver(ctx, driver_cuda)
    if cuda:
        return install_command(ctx.torch.torch_version, cuda)
    limit = f" no newer than the driver's CUDA {driver_cuda}" if driver_cuda else ""
    return f"install a CUDA build of torch{limit}: pick the command at {GET_STARTED}"


def torch_sees_gpu(ctx: DoctorContext) -> list[Finding]:
    t = ctx.torch
    title = "torch can use the GPU"
    if t.torch_version is None:
        return [fail("torch.cuda", "torch installed", "torch cannot be imported in this Python environment.",
                     f"install torch first: pick the command at {GET_STARTED}")]
    build = f"torch {t.torch_version} ({'CUDA ' + t.torch_cuda_version if t.is_cuda_build else 'CPU-only build'})"
    details = {"torch": t.torch_version, "torch_cuda": t.torch_cuda_version, "cuda_available": t.cuda_available,
               "device_count": t.device_count, "CUDA_VISIBLE_DEVICES": t.visible_devices}
    if ctx.target is not None:
        if t.is_cuda_build:
            return [ok("torch.cuda", title, f"{build} is a CUDA build, so it can use an NVIDIA GPU once one is installed "
                       f"(the next row checks the {ctx.target.name}'s architecture).", **details)]
        return [warn("torch.cuda", title, f"{build} cannot use any NVIDIA GPU, so the {ctx.target.name} would sit idle.",
                     _cuda_install_fix(ctx, None), **details)]
    if not ctx.checks_gpus:
        return [skipped("torch.cuda", title, "--device cpu: GPUs are not checked.")]
    gpus = ctx.gpus
    if not gpus:
        if t.cuda_available:
            return [ok("torch.cuda", title, f"{build} sees {t.device_count} GPU(s); NVML is unavailable "
                       f"({ctx.gpu_note}), so the GPU health checks below are skipped.", **details)]
        return [skipped("torch.cuda", title, f"No NVIDIA GPU to check: {ctx.gpu_note or 'NVML reports none'}.",
                        **details)]
    driver_cuda = gpus[0].get("cuda_driver_version")
    driver = gpus[0].get("driver_version")
    details.update(driver=driver, driver_cuda=driver_cuda, nvml_gpus=len(gpus))
    names = ", ".join(gpu_label(g) for g in gpus)
    if t.hip_version and not t.is_cuda_build:
        return [fail("torch.cuda", title, f"NVML sees {names}, but torch {t.torch_version} is a ROCm (AMD) build "
                     "and cannot use NVIDIA GPUs.", _cuda_install_fix(ctx, driver_cuda), **details)]
    if not t.is_cuda_build:
        return [fail("torch.cuda", title, f"NVML sees {names}, but torch {t.torch_version} is a CPU-only build, "
                     "so everything runs on the CPU.", _cuda_install_fix(ctx, driver_cuda), **details)]
    if not ctx.visible_gpus():
        return [fail("torch.cuda", title, f"CUDA_VISIBLE_DEVICES={t.visible_devices!r} hides every GPU from torch "
                     f"(NVML sees {names}).",
                     "unset CUDA_VISIBLE_DEVICES (or set it to the GPUs to use, e.g. CUDA_VISIBLE_DEVICES=0); "
                     "check your shell profile, job script or container for where it is set.", **details)]
    too_old = _version(driver_cuda) is not None and _version(driver_cuda) < _version(t.torch_cuda_version)
    if not t.cuda_available:
        if too_old:
            return [fail("torch.cuda", title, f"The NVIDIA driver {driver} supports CUDA up to {driver_cuda}, older than "
                         f"the CUDA {t.torch_cuda_version} that torch {t.torch_version} was built for, so CUDA does not start.",
                         f"update the NVIDIA driver to one for CUDA {t.torch_cuda_version} or newer "
                         f"(nvidia-smi shows the version), or: {_cuda_install_fix(ctx, driver_cuda)}", **details)]
        said = f" torch says: {t.init_warning.splitlines()[0]}" if t.init_warning else ""
        return [fail("torch.cuda", title, f"NVML sees {names} but torch {t.torch_version} cannot start CUDA.{said}",
                     "run nvidia-smi: if it fails, reinstall or reload the driver (reboot after a driver update); "
                     "in a container, start it with --gpus all (NVIDIA Container Toolkit).", **details)]
    seen = f"{build} sees {t.device_count} of {len(gpus)} GPU(s)"
    if t.device_count < len(gpus) and t.visible_devices is None:
        return [warn("torch.cuda", title, f"{seen}: CUDA cannot use the others (a GPU in MIG mode, or one whose "
                     "driver state is broken).", "nvidia-smi -L lists the GPUs and MIG instances; nvidia-smi -q -i N "
                     "shows a GPU's state (reset or reboot a GPU that reports errors).", **details)]
    if t.visible_devices is not None and t.device_count < len(gpus):
        seen += f" (CUDA_VISIBLE_DEVICES={t.visible_devices})"
    if too_old:
        return [ok("torch.cuda", title, f"{seen}; the driver's CUDA {driver_cuda} is older than torch's {t.torch_cuda_version} "
                   "but runs it through CUDA minor-version compatibility.", **details)]
    return [ok("torch.cuda", title, f"{seen}; driver {driver} supports CUDA {driver_cuda}.", **details)]


def _arch_finding(ctx: DoctorContext, fid: str, label: str, cc: tuple[int, int] | None) -> Finding:
    t = ctx.torch
    title = f"{label}: compute capability"
    if cc is None:
        return skipped(fid, title, "NVML does not report the compute capability.")
    cc_text = f"{cc[0]}.{cc[1]}"
    if not t.is_cuda_build or not t.arch_list:
        return skipped(fid, title, f"Compute capability {cc_text}; torch reports no CUDA architectures "
                       "(CPU-only build), so there is nothing to compare.", compute_capability=cc_text)
    details = {"compute_capability": cc_text, "arch_list": list(t.arch_list)}
    if supports(t.arch_list, *cc):
        return ok(fid, title, f"Compute capability {cc_text} is covered by torch's kernels ({' '.join(t.arch_list)}).",
                  **details)
    builds = builds_for(t.published_builds, *cc)
    if builds:
        best = max(builds, key=lambda c: _version(c) or ())
        fix = (f"{install_command(t.torch_version, best)} (the CUDA {best} build of this release still ships "
               f"kernels for {cc_text}; the driver must support CUDA {best})")
    else:
        fix = (f"install an older torch release whose CUDA build lists sm_{cc[0]}{cc[1]} "
               f"(https://pytorch.org/get-started/previous-versions/), or use a newer GPU")
    return fail(fid, title, f"{label} has compute capability {cc_text}, below the {lowest_supported(t.arch_list)} "
                f"that torch {t.torch_version} (CUDA {t.torch_cuda_version}) ships kernels for: CUDA ops fail with "
                "'no kernel image is available'.", fix, **details)


def compute_capability(ctx: DoctorContext) -> list[Finding]:
    if ctx.target is not None:
        return [_arch_finding(ctx, "target.arch", ctx.target.name, ctx.target.compute_capability)]
    if not ctx.checks_gpus:
        return []
    return [_arch_finding(ctx, f"gpu{g.get('index')}.arch", gpu_label(g), parse_cc(g.get("compute_capability")))
            for g in ctx.visible_gpus()]
