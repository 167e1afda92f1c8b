"""Recognising out-of-memory errors so a sweep can record them as results."""

from __future__ import annotations

import gc

import torch

_OOM_TEXT = (
    "out of memory",
    "can't allocate memory",
    "cannot allocate memory",
    "not enough memory",
    "cuda error: out of memory",
    "mps backend out of memory",
    "alloc_failed",  # cuBLAS/cuDNN handles that cannot get memory (CUBLAS_STATUS_ALLOC_FAILED)
    "allocation_failed",
    "bad_alloc",  # C++ code whose `new` failed (std::bad_alloc), under a host RAM ceiling
)
# Set on an exception raised while the host RAM ceiling had no room left (`measure.memory.ram_ceiling`):
# whatever its type, it is the ceiling's allocation failure (autograd's SystemError, a library's own error).
OOM_MARK = "segbench_out_of_host_ram"


def mark_oom(exc: BaseException) -> None:
    setattr(exc, OOM_MARK, True)


def is_oom(exc: BaseException) -> bool:
    if getattr(exc, OOM_MARK, False) or isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return any(marker in text for marker in _OOM_TEXT)
    return False


def describe_failure(exc: BaseException) -> str:
    """The one line a failed point records: the exception's type and the first line of its message."""
    text = str(exc).strip()
    described = f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"
    return f"out of host memory under the --max-ram ceiling ({described})" if getattr(exc, OOM_MARK, False) else described


def release_memory() -> None:
    """Give back what the failed configuration held before the next one starts."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
