"""Everything the checks read, gathered once: the request, NVML facts, torch's CUDA state, the host.

Checks are plain functions of a `DoctorContext`, so a test builds one from fakes (a `FakeNVML`,
a hand-made `TorchCudaState`, a `HostFacts`) and asserts on the findings. Each outside boundary
is a parameter of `gather()`: the NVML module, the torch state, the host facts, the families'
optional extensions, the memory model and the catalog lookup for `--gpu`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segbench.doctor.hostfacts import HostFacts
from segbench.doctor.torchstate import TorchCudaState, visible_indices
from segbench.errors import InputError


@dataclass(frozen=True)
class DoctorRequest:
    """What the user means to run (the `segbench run` options that decide memory and precision)."""

    model: str = ""  # empty: what `segbench run` picks for the workload
    workload: str = "image"
    precision: str | None = None  # None: what `segbench run` picks for the device
    batch_size: int = 1
    resolution: tuple[int, int] | None = None  # (h, w) of source images / frames
    frames: int | None = None  # video clip length; None: the memory model's default
    volume: tuple[int, int, int] | None = None  # (w, h, d)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    results_dir: Path = Path("results")
    checkpoints_dir: Path | None = None  # None: where downloads land (the Hugging Face cache)
    gpu: str | None = None  # --gpu NAME: a GPU to buy instead of the ones installed

    def __post_init__(self) -> None:
        if not self.model:
            from segbench.families.registry import default_model

            object.__setattr__(self, "model", default_model([self.workload]))


@dataclass(frozen=True)
class TargetGPU:
    """A catalog GPU checked with `--gpu` (nothing about it is measured)."""

    name: str
    compute_capability: tuple[int, int]
    vram_bytes: int
    form_factor: str  # desktop | laptop | datacenter
    note: str | None = None


@dataclass(frozen=True)
class MemoryNeed:
    """Predicted peaks of one configuration (the advisor's calibrated memory model, the same numbers
    `segbench check` gives): GPU memory in use on a GPU run (CUDA context and allocator reserve
    included), host RAM on a GPU run, and host RAM when the model runs on the CPU."""

    device_bytes: float
    host_bytes: float
    cpu_run_bytes: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtensionState:
    """Whether a family's optional compiled extension (segbench.families.base.Extension) loads here."""

    installed: bool  # the package that ships it is importable
    version: str | None = None
    loaded: bool = False  # the extension module imports
    error: str | None = None  # why it did not


MemoryEstimator = Callable[[DoctorRequest, str], MemoryNeed]


@dataclass
class DoctorContext:
    request: DoctorRequest
    torch: TorchCudaState
    host: HostFacts
    gpus: list[dict[str, Any]]  # segbench.probe GPU facts, NVML order
    gpu_note: str | None  # why `gpus` is empty
    disk: list[dict[str, Any]]  # segbench.probe.host.disk_info for results and checkpoints
    extensions: dict[str, ExtensionState]  # extension module -> its state
    target: TargetGPU | None = None
    estimate_memory: MemoryEstimator | None = None
    notes: list[str] = field(default_factory=list)

    def visible_gpus(self) -> list[dict[str, Any]]:
        """The NVML GPUs CUDA_VISIBLE_DEVICES leaves to torch (all of them when it is unset)."""
        uuids = [g.get("uuid") for g in self.gpus]
        return [self.gpus[i] for i in visible_indices(self.torch.visible_devices, uuids)]

    @property
    def runs_on_cpu(self) -> bool:
        """Whether `segbench run --device <device>` would run on the CPU as things stand."""
        if self.request.device == "cpu":
            return True
        if self.target is not None:
            return False
        return not self.torch.cuda_available

    @property
    def checks_gpus(self) -> bool:
        """Whether GPU checks apply (not with --device cpu)."""
        return self.request.device != "cpu"


# ----------------------------------------------------------------------------- default boundaries


def probe_extension(module: str, package: str) -> ExtensionState:
    """Whether an optional compiled extension (e.g. a family's CUDA kernels) loads."""
    if importlib.util.find_spec(package) is None:
        return ExtensionState(installed=False)
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        version = None
    try:
        import torch  # noqa: F401 - extensions link against libtorch, which must be loaded first

        importlib.import_module(module)
    except Exception as exc:  # ImportError, or OSError for an extension built against another torch
        return ExtensionState(installed=True, version=version, loaded=False, error=f"{type(exc).__name__}: {exc}")
    return ExtensionState(installed=True, version=version, loaded=True)


def probe_extensions() -> dict[str, ExtensionState]:
    from segbench.families.registry import families

    return {ext.module: probe_extension(ext.module, ext.package)
            for family in families().values() for ext in family.extensions}


def footprint_estimate(request: DoctorRequest, precision: str) -> MemoryNeed:
    """The advisor's memory model for one configuration (the numbers `segbench check` gives)."""
    from segbench.advisor import memory_need

    need = memory_need(request.model, request.workload, precision, batch_size=request.batch_size,
                       resolution=request.resolution, frames=request.frames, volume=request.volume)
    return MemoryNeed(device_bytes=need.device_bytes, host_bytes=need.host_bytes, cpu_run_bytes=need.cpu_run_bytes,
                      notes=need.notes)


def catalog_target(name: str) -> TargetGPU:
    """A GPU from the advisor catalog; InputError for unknown names and CPUs."""
    from segbench.advisor import find_device

    match = find_device(name)
    spec = match.spec
    if getattr(spec, "kind", "gpu") != "gpu":
        raise InputError(f"--gpu {name}: '{spec.name}' is a CPU; check the CPU path with --device cpu instead")
    if spec.backend != "cuda":
        raise InputError(f"--gpu {name}: doctor checks NVIDIA GPUs (driver, CUDA build, architecture); {spec.name} runs "
                         f"through {spec.backend}: `segbench check --gpu '{spec.name}'` predicts it")
    return TargetGPU(
        name=spec.name,
        compute_capability=tuple(spec.compute_capability),  # type: ignore[arg-type]
        vram_bytes=spec.vram_bytes,
        form_factor=spec.form_factor,
        note=match.note,
    )


def default_checkpoints_dir(environ: Mapping[str, str]) -> Path:
    """Where checkpoints land: $SEGBENCH_CHECKPOINTS, else the Hugging Face hub cache."""
    if environ.get("SEGBENCH_CHECKPOINTS"):
        return Path(environ["SEGBENCH_CHECKPOINTS"])
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except Exception:  # no hub library: the probe's default
        from segbench.probe import DEFAULT_CHECKPOINTS_DIR

        return DEFAULT_CHECKPOINTS_DIR


def gather(
    request: DoctorRequest,
    *,
    nvml: Any = None,
    torch_state: TorchCudaState | None = None,
    host: HostFacts | None = None,
    extensions: dict[str, ExtensionState] | None = None,
    estimate_memory: MemoryEstimator | None = footprint_estimate,
    resolve_target: Callable[[str], TargetGPU] = catalog_target,
    environ: Mapping[str, str] | None = None,
) -> DoctorContext:
    """Collect the facts once. `nvml` replaces the pynvml module (tests pass a FakeNVML)."""
    from segbench.probe.host import disk_info
    from segbench.probe.nvml import collect_gpus

    environ = os.environ if environ is None else environ
    target = resolve_target(request.gpu) if request.gpu else None
    gpus, gpu_note = collect_gpus(nvml)
    checkpoints = request.checkpoints_dir or default_checkpoints_dir(environ)
    return DoctorContext(
        request=request,
        torch=torch_state if torch_state is not None else TorchCudaState.from_torch(environ),
        host=host if host is not None else HostFacts.collect(environ),
        gpus=gpus,
        gpu_note=gpu_note,
        disk=disk_info({"results": Path(request.results_dir).expanduser().absolute(),
                        "checkpoints": Path(checkpoints).expanduser().absolute()}),
        extensions=extensions if extensions is not None else probe_extensions(),
        target=target,
        estimate_memory=estimate_memory,
    )


# ----------------------------------------------------------------------------- shared helpers


def gpu_label(gpu: Mapping[str, Any]) -> str:
    """'GPU 0 (RTX 3090)': the index NVML gives and the name without the vendor words."""
    name = str(gpu.get("name") or "unknown").replace("NVIDIA ", "").replace("GeForce ", "")
    return f"GPU {gpu.get('index', '?')} ({name})"


def parse_cc(text: Any) -> tuple[int, int] | None:
    """'8.6' or (8, 6) -> (8, 6); None when unknown."""
    if text is None:
        return None
    if isinstance(text, (tuple, list)):
        return int(text[0]), int(text[1])
    major, _, minor = str(text).partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return None


def gpu_precision(request: DoctorRequest, cc: tuple[int, int] | None) -> str:
    """The precision a GPU run uses: the one asked for, else `segbench run`'s default for the compute
    capability (segbench.measure.device's rule: bf16 from 8.0, fp16 on 7.x, fp32 before); fp16 when
    the capability is unknown."""
    if request.precision:
        return request.precision
    if cc is None:
        return "fp16"
    try:
        from segbench.measure.device import precision_for_capability  # imports torch: only when asked
    except ImportError:  # no usable torch: the torch check says so; nothing runs on the GPU anyway
        return "fp16"
    return precision_for_capability(cc)


def cpu_precision(request: DoctorRequest, host: HostFacts) -> str:
    if request.precision:
        return request.precision
    return "bf16" if host.cpu_bf16_native else "fp32"
