"""Peak memory of one configuration, and an optional ceiling on host RAM.

GPU: torch's allocator peaks (allocated and reserved), plus what NVML sees used on the card (other
processes and the CUDA context included). CPU: the kernel's RSS high-water mark (VmHWM), reset
before each configuration through /proc/self/clear_refs, so no sampling thread can miss a spike.
"""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path
from typing import Any, Iterator

import psutil
import torch

from segbench.measure.oom import is_oom, mark_oom, release_memory

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_rss_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")  # "5" resets the peak RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


class PeakMemory:
    """Context manager: `with PeakMemory(device) as peak: ...; peak.result()`."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._hwm_reset = False
        self._start_rss = 0
        self._result: dict[str, Any] = {}

    def __enter__(self) -> "PeakMemory":
        self._start_rss = psutil.Process().memory_info().rss
        self._hwm_reset = _reset_rss_peak()
        if self.device.type == "cuda":
            # Return earlier points' cached blocks first, or the reserved peak would carry them.
            release_memory()
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def __exit__(self, *exc: object) -> None:
        rss_now = psutil.Process().memory_info().rss
        hwm = _status_bytes("VmHWM") if self._hwm_reset else None
        self._result = {
            "peak_rss_bytes": max(hwm or 0, rss_now, self._start_rss),
            "rss_before_bytes": self._start_rss,
            "rss_peak_exact": hwm is not None,
        }
        if self.device.type == "cuda":
            index = self.device.index or 0
            self._result.update(
                peak_allocated_bytes=int(torch.cuda.max_memory_allocated(self.device)),
                peak_reserved_bytes=int(torch.cuda.max_memory_reserved(self.device)),
                device_total_bytes=int(torch.cuda.get_device_properties(index).total_memory),
                nvml_used_end_bytes=_nvml_used(index),
            )
        else:
            self._result["device_total_bytes"] = int(psutil.virtual_memory().total)

    def result(self) -> dict[str, Any]:
        return dict(self._result)


def _nvml_used(cuda_index: int) -> int | None:
    """Card memory in use as NVML reports it at the end of the point (all processes), or None."""
    from segbench.probe.nvml import NvmlSession, NvmlUnavailable, nvml_index

    try:
        with NvmlSession.open() as session:
            return session.sample(nvml_index(cuda_index, session.uuids())).get("mem_used_bytes")
    except NvmlUnavailable:
        return None


@contextlib.contextmanager
def ram_ceiling(max_bytes: int | None) -> Iterator[None]:
    """Make host allocations beyond `max_bytes` of resident memory fail (and so become an OOM result).

    Uses RLIMIT_DATA, which Linux applies to private anonymous mappings (where torch's CPU tensors
    live); the limit allows the data segment to grow by what is left under the ceiling now.

    Not every library says "out of memory" when an allocation fails: autograd raises SystemError
    ("error return without exception set"), C++ code std::bad_alloc, some code a plain error. An
    exception that leaves the block with (almost) no room under the limit is marked as the ceiling's
    (`measure.oom.is_oom` then says so). Native code that does not check its allocations segfaults
    instead; the process launcher records that death under a ceiling as `oom` too.
    """
    if not max_bytes:
        yield
        return
    rss = psutil.Process().memory_info().rss
    data = _status_bytes("VmData")
    if data is None:
        yield  # not Linux: no ceiling can be enforced this way
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = data + max(0, max_bytes - rss)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield
    except Exception as exc:
        # A host allocation that failed under the ceiling is the ceiling's, whatever its wording (a
        # device's own out-of-memory is not).
        on_device = "cuda" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError"
        if not on_device and (is_oom(exc) or isinstance(exc, SystemError) or _room(limit) < CEILING_SLACK_BYTES):
            mark_oom(exc)
        raise
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


# Room under the ceiling below which a failure is taken for the ceiling's: more than one step's small
# allocations, less than any tensor a model fails to get.
CEILING_SLACK_BYTES = 64 * 2**20


def _room(limit: int) -> int:
    data = _status_bytes("VmData")
    return limit - data if data is not None else limit
