"""Facts about the installed torch build: versions, devices it can see, threads, CPU kernels.

torch is imported here, inside the function, so the rest of `segbench probe` stays light. Nothing
here initialises CUDA (no device properties are read), so probing has no side effects.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:  # a build without a backend raises in odd ways; that is "not available"
        return None


def _cudnn_version(value: int | None) -> str | None:
    # cuDNN 9 encodes 9.1.0 as 90100; cuDNN 8 encoded 8.9.7 as 8907.
    if not value:
        return None
    if value >= 90000:
        return f"{value // 10000}.{(value % 10000) // 100}.{value % 100}"
    return f"{value // 1000}.{(value % 1000) // 100}.{value % 100}"


def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX: bf16 autocast is then a real speed-up on the CPU, not an emulation.
    torch's own (private) checks first, the kernel's CPU flags where torch lacks them."""
    import torch

    answers = []
    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, name, None)
        try:
            answers.append(bool(check()) if check is not None else None)
        except Exception:  # a private API may change shape between releases
            answers.append(None)
    if any(a is not None for a in answers):
        return any(bool(a) for a in answers)
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def torch_info() -> dict[str, Any]:
    try:
        import torch

    except ImportError:
        return {"version": None, "error": "torch is not installed"}
    mps = getattr(torch.backends, "mps", None)
    return {
        "version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "hip_version": getattr(torch.version, "hip", None),
        "cudnn_version": _cudnn_version(_safe(torch.backends.cudnn.version)),
        "cuda_available": bool(_safe(torch.cuda.is_available)),
        "device_count": _safe(torch.cuda.device_count) or 0,
        "cuda_arch_list": _safe(torch.cuda.get_arch_list) or [],
        "mps_available": bool(mps and _safe(mps.is_available)),
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "cpu_capability": _safe(torch.backends.cpu.get_cpu_capability),
        "cpu_bf16_native": cpu_has_native_bf16(),  # the same answer `segbench run` acts on
    }
