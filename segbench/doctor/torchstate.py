"""What the installed torch can do with CUDA, as one plain dataclass the checks read.

Tests build a `TorchCudaState` by hand (CPU-only build, driver too old, devices hidden...); the
real one comes from `TorchCudaState.from_torch()`, which asks torch without creating a CUDA
context (is_available/device_count only), and keeps what torch warned when CUDA could not start.
"""

from __future__ import annotations

import os
import platform
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TorchCudaState:
    torch_version: str | None = None  # None: torch is not importable
    cuda_available: bool = False
    torch_cuda_version: str | None = None  # torch.version.cuda; None for a CPU-only (or ROCm) build
    hip_version: str | None = None
    arch_list: tuple[str, ...] = ()  # torch.cuda.get_arch_list(): "sm_80", "compute_90", ...
    device_count: int = 0
    visible_devices: str | None = None  # CUDA_VISIBLE_DEVICES as set; None when unset
    init_warning: str | None = None  # what torch said when CUDA did not start
    num_threads: int | None = None
    num_interop_threads: int | None = None
    # CUDA version -> compute capabilities (10*major+minor) its published wheels ship kernels for
    # on this host's architecture; from torch where it carries the table, else empty.
    published_builds: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def is_cuda_build(self) -> bool:
        return self.torch_cuda_version is not None

    @classmethod
    def from_torch(cls, environ: Mapping[str, str] | None = None) -> TorchCudaState:
        environ = os.environ if environ is None else environ
        visible = environ.get("CUDA_VISIBLE_DEVICES")
        try:
            import torch
        except ImportError:
            return cls(visible_devices=visible)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            available = bool(_safe(torch.cuda.is_available))
            count = (_safe(torch.cuda.device_count) or 0) if available else 0
        said = [str(w.message).strip() for w in caught if "CUDA" in str(w.message) or "driver" in str(w.message)]
        return cls(
            torch_version=torch.__version__,
            cuda_available=available,
            torch_cuda_version=torch.version.cuda,
            hip_version=getattr(torch.version, "hip", None),
            arch_list=tuple(_safe(torch.cuda.get_arch_list) or ()),
            device_count=count,
            visible_devices=visible,
            init_warning=said[0] if said else None,
            num_threads=torch.get_num_threads(),
            num_interop_threads=torch.get_num_interop_threads(),
            published_builds=_published_builds(torch),
        )


def _safe(fn: Any) -> Any:
    try:
        return fn()
    except Exception:  # a build without a backend raises in odd ways; that is "not available"
        return None


def _published_builds(torch: Any) -> dict[str, tuple[int, ...]]:
    # torch >= 2.10 keeps, beside its compatibility warning, the compute capabilities of each
    # published CUDA build; older releases lack it and the fix then names pytorch.org instead.
    table = getattr(torch.cuda, "PYTORCH_RELEASES_CODE_CC", None)
    if not isinstance(table, dict):
        return {}
    host = "aarch64" if platform.machine().lower() == "aarch64" else "x86_64"
    out: dict[str, tuple[int, ...]] = {}
    for cuda, by_arch in table.items():
        codes = by_arch.get(host) if isinstance(by_arch, dict) else None
        if codes:
            out[str(cuda)] = tuple(sorted(int(c) for c in codes))
    return out


# ------------------------------------------------------------------------- compute capability

_ARCH = re.compile(r"^(sm|compute)_(\d+)[af]?$")


def arch_codes(arch_list: tuple[str, ...] | list[str]) -> list[tuple[str, int]]:
    """("sm" | "compute", 10*major+minor) for each entry torch was built for."""
    out = []
    for entry in arch_list:
        match = _ARCH.match(entry.strip())
        if match:
            out.append((match.group(1), int(match.group(2))))
    return out


# Jetson/embedded parts whose binaries do not run on the desktop GPUs of the same major version.
_EMBEDDED = {53, 62, 72, 87}


def code_runs_on(kind: str, code: int, device: int) -> bool:
    """Whether a kernel built for `code` runs on a GPU of compute capability `device` (both 10*M+m).

    Cubins (sm_XY) run on the same major version at an equal or higher minor; PTX (compute_XY)
    is compiled by the driver for any newer GPU. The rule torch's own compatibility check uses.
    """
    if kind == "compute":
        return device >= code
    if code in _EMBEDDED or device in _EMBEDDED:
        return device == code
    return device // 10 == code // 10 and device >= code


def supports(arch_list: tuple[str, ...] | list[str], major: int, minor: int) -> bool | None:
    """True/False when the build's arch list says; None when torch reports no list."""
    codes = arch_codes(arch_list)
    if not codes:
        return None
    device = 10 * major + minor
    return any(code_runs_on(kind, code, device) for kind, code in codes)


def builds_for(published: Mapping[str, tuple[int, ...]], major: int, minor: int) -> list[str]:
    """The CUDA versions whose published torch builds carry kernels for this GPU."""
    device = 10 * major + minor
    return [cuda for cuda, codes in published.items() if any(code_runs_on("sm", c, device) for c in codes)]


def lowest_supported(arch_list: tuple[str, ...] | list[str]) -> str | None:
    codes = [code for _, code in arch_codes(arch_list)]
    return None if not codes else f"{min(codes) // 10}.{min(codes) % 10}"


# ------------------------------------------------------------------------- CUDA_VISIBLE_DEVICES


def visible_indices(value: str | None, uuids: list[str | None]) -> list[int]:
    """NVML indices that CUDA_VISIBLE_DEVICES=`value` leaves visible, in the order it lists them.

    As CUDA reads it: a comma list of indices or (prefixes of) UUIDs; the list ends at the first
    entry that names no GPU; "" or "-1" hides every GPU. Indices follow CUDA's enumeration order,
    which matches NVML's only with CUDA_DEVICE_ORDER=PCI_BUS_ID or identical GPUs.
    """
    count = len(uuids)
    if value is None:
        return list(range(count))
    out: list[int] = []
    for token in (t.strip() for t in value.split(",")):
        index: int | None = None
        if re.fullmatch(r"\d+", token):
            index = int(token) if int(token) < count else None
        elif token.upper().startswith(("GPU-", "MIG-")):
            found = [i for i, u in enumerate(uuids) if u and u.lower().startswith(token.lower())]
            index = found[0] if len(found) == 1 else None
        if index is None or index in out:
            break
        out.append(index)
    return out
