"""Devices and precisions: parse, check before any model loads, autocast, synchronise."""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from segbench.errors import InputError
from segbench.probe.torchinfo import cpu_has_native_bf16

PRECISIONS = ("fp32", "fp16", "bf16")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(text: str) -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' | 'mps' -> a usable torch.device, or an InputError saying why not."""
    value = text.strip().lower()
    if value == "auto":
        if torch.cuda.is_available():
            return _usable(torch.device("cuda", 0))
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if value == "cpu":
        return torch.device("cpu")
    if value == "mps":
        if not _mps_available():
            raise InputError(
                "--device mps asked for, but MPS is only available on Apple-silicon Macs with an MPS build of torch"
            )
        return torch.device("mps")
    if value == "cuda" or value.startswith("cuda:"):
        index_text = value.partition(":")[2] or "0"
        if not index_text.isdigit():
            raise InputError(f"--device {text}: the GPU index must be a number, e.g. cuda:0")
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise InputError(
                f"--device {text} asked for, but torch ({torch.__version__}, {build}) sees no CUDA GPU; use --device cpu"
            )
        index = int(index_text)
        count = torch.cuda.device_count()
        if index >= count:
            raise InputError(
                f"--device {text} asked for, but only {count} CUDA GPU(s) are visible (cuda:0..cuda:{count - 1})"
            )
        return _usable(torch.device("cuda", index))
    raise InputError(f"unknown device '{text}': use auto, cpu, cuda, cuda:N or mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def _usable(device: torch.device) -> torch.device:
    """A GPU in exclusive mode held by another process fails on first use: say so before loading models.
    The device also becomes the current one: sam2 puts some caches and kernel launches on "cuda", i.e.
    the current device, and CUDA events are recorded there."""
    try:
        torch.cuda.set_device(device)
        torch.zeros(1, device=device)
        torch.cuda.synchronize(device)  # an asynchronous failure surfaces here, not in the first timed step
    except RuntimeError as exc:
        raise InputError(f"{device} is busy or unusable: {str(exc).splitlines()[0]}") from None
    return device


def check_precision(device: torch.device, precision: str) -> None:
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision '{precision}': use {', '.join(PRECISIONS)}")
    # torch.cuda.is_bf16_supported() asks the *current* device; ask the one that will run.
    if device.type == "cuda" and precision == "bf16" and torch.cuda.get_device_capability(device) < (8, 0):
        major, minor = torch.cuda.get_device_capability(device)
        raise InputError(f"bf16 needs compute capability 8.0 or newer; {device} is {major}.{minor}: use fp16 or fp32")


def precision_for_capability(capability: tuple[int, int]) -> str:
    """The fastest honest precision for an NVIDIA GPU of this compute capability: bf16 from Ampere
    (8.0), fp16 on Volta/Turing tensor cores (7.x), fp32 before (Pascal runs fp16 at 1/64 rate)."""
    if tuple(capability) >= (8, 0):
        return "bf16"
    if tuple(capability) >= (7, 0):
        return "fp16"
    return "fp32"


def default_precision(device: torch.device) -> str:
    """The fastest precision that is honest on this device (what users would run)."""
    if device.type == "cuda":
        return precision_for_capability(torch.cuda.get_device_capability(device))
    if device.type == "mps":
        return "fp16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def autocast(device: torch.device, precision: str) -> ContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
