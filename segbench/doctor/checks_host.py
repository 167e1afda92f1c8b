"""Host checks: CPU frequency policy, disk space, a writable results folder, CPU threads."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from segbench.doctor.context import DoctorContext
from segbench.doctor.findings import Finding, fail, ok, skipped, warn
from segbench.formatting import fmt_bytes

GiB = 1024**3
MiB = 1024**2
CAPPED_SHARE = 0.9  # an OS frequency ceiling below 90 % of the chip's maximum was set on purpose
LOW_FREQ_SHARE = 0.5
# (fail below, warn below) free bytes. Checkpoints: SAM 2.1 large and Mask2Former Swin-L are ~0.9 GB
# each, the registry's models together ~4 GB; results: JSONL records and telemetry are megabytes.
DISK_NEEDS = {"checkpoints": (1 * GiB, 5 * GiB), "results": (100 * MiB, 1 * GiB)}
THREAD_COUNT_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cpu_frequency(ctx: DoctorContext) -> list[Finding]:
    fid, title = "host.cpu_frequency", "CPU frequency"
    policy = ctx.host.cpufreq
    current = policy.current_mhz or ctx.host.cpu.get("freq_current_mhz")
    hw_max = policy.hardware_max_mhz or ctx.host.cpu.get("freq_max_mhz")
    details = {"current_mhz": current, "max_mhz": hw_max, "os_ceiling_mhz": policy.scaling_max_mhz,
               "governor": policy.governor, "driver": policy.driver, "on_battery": ctx.host.on_battery}
    if not hw_max:
        return [skipped(fid, title, "The OS reports no maximum CPU frequency here (usual in VMs and containers).",
                        **details)]
    if policy.scaling_max_mhz and policy.scaling_max_mhz < CAPPED_SHARE * hw_max:
        return [warn(fid, title, f"The OS caps the CPU at {policy.scaling_max_mhz:g} MHz of its {hw_max:g} MHz, which "
                     "slows image decoding, pre-processing and CPU inference.",
                     f"sudo cpupower frequency-set -u {hw_max:g}MHz, or switch the power profile to performance "
                     "(powerprofilesctl set performance)", **details)]
    if policy.governor == "powersave" and policy.driver == "acpi-cpufreq":
        return [warn(fid, title, "The acpi-cpufreq 'powersave' governor pins the CPU to its lowest frequency.",
                     "sudo cpupower frequency-set -g performance (or schedutil/ondemand)", **details)]
    if current and current < LOW_FREQ_SHARE * hw_max and ctx.host.on_battery:
        return [warn(fid, title, f"On battery the CPU runs at {current:g} of {hw_max:g} MHz.",
                     "plug in the charger and select the performance power profile", **details)]
    now = f"{current:g} MHz now, " if current else ""
    return [ok(fid, title, f"{now}up to {hw_max:g} MHz; no OS cap" + (f" (governor {policy.governor})." if policy.governor
               else "."), **details)]


def disk_space(ctx: DoctorContext) -> list[Finding]:
    findings = []
    for disk in ctx.disk:
        purpose = disk["purpose"]
        fid, title = f"host.disk.{purpose}", f"Disk space for {purpose}"
        free = disk.get("free_bytes")
        if free is None:
            findings.append(skipped(fid, title, f"Cannot read free space at {disk['path']}: {disk.get('error')}."))
            continue
        fail_below, warn_below = DISK_NEEDS.get(purpose, DISK_NEEDS["results"])
        details = {"path": disk["path"], "free_bytes": free, "total_bytes": disk.get("total_bytes")}
        fix = f"free space on the disk holding {disk['path']}" + (
            " or point SEGBENCH_CHECKPOINTS / HF_HOME at a larger disk" if purpose == "checkpoints"
            else " or pass --results-dir / -o on a larger disk")
        if free < fail_below:
            findings.append(fail(fid, title, f"Only {fmt_bytes(free)} free at {disk['path']}, less than the "
                                 f"{fmt_bytes(fail_below)} {purpose} need.", fix, **details))
        elif free < warn_below:
            findings.append(warn(fid, title, f"{fmt_bytes(free)} free at {disk['path']}; below {fmt_bytes(warn_below)} "
                                 f"{purpose} may fill it.", fix, **details))
        else:
            findings.append(ok(fid, title, f"{fmt_bytes(free)} free at {disk['path']}.", **details))
    return findings


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or "/")


def results_writable(ctx: DoctorContext) -> list[Finding]:
    fid, title = "host.results_writable", "Results folder writable"
    folder = Path(ctx.request.results_dir).expanduser().absolute()
    fix = f"pass --results-dir (or -o) to a folder you can write, or fix the permissions of {folder}"
    if folder.exists() and not folder.is_dir():
        return [fail(fid, title, f"{folder} exists but is a file, so results cannot be written into it.", fix)]
    existing = _nearest_existing(folder)
    try:
        # A real file, not os.access: read-only mounts and ACLs answer only to an attempt.
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".segbench-doctor-"):
            pass
    except OSError as exc:
        return [fail(fid, title, f"Cannot write in {existing}: {exc.strerror or exc}.", fix, path=str(folder))]
    if existing != folder:
        return [ok(fid, title, f"{folder} does not exist yet; it will be created in {existing}, which is writable.",
                   path=str(folder))]
    return [ok(fid, title, f"{folder} is writable.", path=str(folder))]


def usable_cpus(ctx: DoctorContext) -> int | None:
    """CPUs this process may run on: the affinity mask, lowered by a cgroup CPU quota."""
    cpu = ctx.host.cpu
    usable = cpu.get("usable_cores") or cpu.get("logical_cores")
    if ctx.host.cpu_quota is not None:
        quota = max(1, math.ceil(ctx.host.cpu_quota))
        usable = min(usable, quota) if usable else quota
    return usable


def threads(ctx: DoctorContext) -> list[Finding]:
    fid, title = "host.threads", "torch CPU threads"
    n = ctx.torch.num_threads
    physical = ctx.host.cpu.get("physical_cores")
    usable = usable_cpus(ctx)
    details = {"torch_threads": n, "physical_cores": physical, "usable_cpus": usable, "cpu_quota": ctx.host.cpu_quota}
    if n is None or not physical:
        return [skipped(fid, title, "torch or the OS does not report the thread or core count.", **details)]
    cores = min(physical, usable) if usable else physical
    if usable and n > usable:
        return [warn(fid, title, f"torch runs {n} threads but this process may use only {usable} CPU(s) (affinity or "
                     "container quota), so threads wait for each other and inference slows.",
                     f"export OMP_NUM_THREADS={usable} (or torch.set_num_threads({usable}))", **details)]
    if n > physical:
        return [warn(fid, title, f"torch runs {n} threads on {physical} physical cores: hyper-threads share each core's "
                     "vector units, so matrix-heavy inference usually runs slower than with one thread per core.",
                     f"export OMP_NUM_THREADS={physical}", **details)]
    if n < max(1, cores // 2):
        return [warn(fid, title, f"torch runs only {n} thread(s) of {cores} available cores, so CPU work "
                     "(pre-processing, CPU inference) leaves most cores idle.",
                     f"unset OMP_NUM_THREADS or export OMP_NUM_THREADS={cores} (launchers such as torchrun set it to 1)",
                     **details)]
    return [ok(fid, title, f"torch runs {n} thread(s) on {physical} physical core(s)"
               + (f", {usable} usable here." if usable else "."), **details)]


def _int(value: str) -> int | None:
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number > 0 else None


def thread_variables(ctx: DoctorContext) -> list[Finding]:
    fid, title = "host.thread_env", "OpenMP/MKL variables"
    env = ctx.host.env
    usable = usable_cpus(ctx)
    problems: list[str] = []
    fixes: list[str] = []
    counts: dict[str, int] = {}
    for name in THREAD_COUNT_VARIABLES:
        if name not in env:
            continue
        value = _int(env[name])
        if value is None:
            problems.append(f"{name}={env[name]!r} is not a positive integer, so the library ignores it or fails")
            fixes.append(f"unset {name}")
            continue
        counts[name] = value
        if usable and value > usable:
            problems.append(f"{name}={value} starts more threads than the {usable} usable CPU(s) (oversubscription)")
            fixes.append(f"export {name}={usable}")
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in counts.items())
        problems.append(f"{shown} give the thread pools different sizes, which oversubscribes or idles cores")
        fixes.append("set them to the same value, or unset all but OMP_NUM_THREADS")
    if env.get("OMP_WAIT_POLICY", "").strip().lower() == "passive":
        problems.append("OMP_WAIT_POLICY=PASSIVE puts worker threads to sleep between parallel regions, so the many "
                        "small ops of decoders and post-processing pay a wake-up each time")
        fixes.append("unset OMP_WAIT_POLICY")
    details = {"variables": dict(env)}
    if problems:
        return [warn(fid, title, "; ".join(problems) + ".", "; ".join(dict.fromkeys(fixes)), **details)]
    if not env:
        return [ok(fid, title, "None set: torch picks one thread per physical core.", **details)]
    return [ok(fid, title, ", ".join(f"{k}={v}" for k, v in env.items()) + " (consistent with the usable CPUs).",
               **details)]
