"""The environment fingerprint stored with every record: hardware, driver, versions, threads, commit."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

# Besides these, the libraries the caller names (the runner adds every registered family's).
_PACKAGES = ("segbench", "torch", "torchvision", "numpy", "nvidia-ml-py")
# Variables that change how fast torch runs on the CPU; recorded when set.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "KMP_AFFINITY", "CUDA_VISIBLE_DEVICES",
                "CUDA_DEVICE_ORDER", "PYTORCH_CUDA_ALLOC_CONF")


def math_settings() -> dict[str, Any]:
    """What "fp32" means on this torch: on Ampere+ cuDNN convolutions default to TF32."""
    out: dict[str, Any] = {"cudnn_benchmark": torch.backends.cudnn.benchmark}
    for name, backend in (("matmul", getattr(torch.backends.cuda, "matmul", None)),
                          ("cudnn_conv", getattr(torch.backends.cudnn, "conv", None))):
        out[f"{name}_fp32_precision"] = getattr(backend, "fp32_precision", None)
    return out


def versions(packages: Iterable[str] = ()) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in dict.fromkeys((*_PACKAGES, *packages)):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout segbench runs from; CI may set SEGBENCH_GIT_COMMIT instead."""
    if os.environ.get("SEGBENCH_GIT_COMMIT"):
        return os.environ["SEGBENCH_GIT_COMMIT"], None
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return None, None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return commit.stdout.strip(), bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def probe_gpu(device: torch.device, probe: dict[str, Any]) -> dict[str, Any] | None:
    """The probe's facts of the GPU this CUDA device is (matched by UUID, not by index)."""
    from segbench.probe.nvml import nvml_index

    gpus = probe.get("gpus") or []
    index = nvml_index(device.index or 0, [g.get("uuid") for g in gpus])
    return gpus[index] if index < len(gpus) else None


def hardware_name(device: torch.device, probe: dict[str, Any]) -> str:
    """A short name of what did the work, used to tell machines apart in compare and report."""
    if device.type == "cuda":
        gpu = probe_gpu(device, probe)
        return str(gpu["name"]) if gpu and gpu.get("name") else torch.cuda.get_device_name(device.index or 0)
    cpu = probe.get("cpu") or {}
    model = cpu.get("model_name") or platform.processor() or "unknown CPU"
    return f"{model} ({torch.get_num_threads()} threads)"


def fingerprint(device: torch.device, probe: dict[str, Any] | None = None,
                packages: Iterable[str] = ()) -> dict[str, Any]:
    if probe is None:
        from segbench.probe import collect

        probe = collect()
    commit, dirty = git_commit()
    gpu = None
    if device.type == "cuda":
        gpu = probe_gpu(device, probe) or {"name": torch.cuda.get_device_name(device.index or 0)}
    return {
        "hardware": hardware_name(device, probe),
        "device": str(device),
        "host": socket.gethostname(),
        "pid": os.getpid(),  # the process that measured (the process launcher runs one per model)
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": probe.get("cpu"),
        "memory": probe.get("memory"),
        "gpu": gpu,
        "torch": probe.get("torch"),
        "versions": versions(packages),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "math": math_settings(),
        "env": {k: os.environ[k] for k in _THREAD_VARS if k in os.environ},
        "git_commit": commit,
        "git_dirty": dirty,
    }
