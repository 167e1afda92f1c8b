"""Facts about this machine: NVIDIA GPUs (NVML), CPU, memory and disk (psutil), the torch build.

`collect()` gathers them into one JSON-ready dict; it reads, never changes, anything, and never
raises for a missing sensor or driver (the GPU list is then empty and `gpu_note` says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segbench.probe.host import cpu_info, disk_info, host_info, memory_info
from segbench.probe.nvml import collect_gpus
from segbench.probe.torchinfo import torch_info

# Version of the probe's JSON layout; bump it when a key changes meaning or goes away.
PROBE_SCHEMA_VERSION = 1

# Where model checkpoints land when no folder is given: the user cache that holds the
# Hugging Face and torch hub caches.
DEFAULT_CHECKPOINTS_DIR = Path("~/.cache")


def collect(results_dir: Path = Path("results"), checkpoints_dir: Path | None = None, nvml: Any = None) -> dict[str, Any]:
    """Everything `segbench probe` reports.

    `nvml` replaces the `pynvml` module (tests pass a fake); by default pynvml is imported lazily.
    """
    gpus, gpu_note = collect_gpus(nvml)
    checkpoints = Path(checkpoints_dir) if checkpoints_dir is not None else DEFAULT_CHECKPOINTS_DIR
    return {
        "schema_version": PROBE_SCHEMA_VERSION,
        "host": host_info(),
        "gpus": gpus,
        "gpu_note": gpu_note,
        "cpu": cpu_info(),
        "memory": memory_info(),
        "torch": torch_info(),
        "disk": disk_info({"results": Path(results_dir), "checkpoints": checkpoints}),
    }
