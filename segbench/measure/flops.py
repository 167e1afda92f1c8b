"""Counting model FLOPs without running the model at full cost.

Counted on the `meta` device: no arithmetic happens, and attention decomposes into the matmuls
FlopCounterMode knows. On CPU tensors the fused attention kernel is not counted at all (SAM 2.1
tiny's encoder shows 207 instead of 292 GFLOP at 1024x1024), so counting on real tensors would
understate every transformer.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_flops(run: Callable[[], Any]) -> int:
    """FLOPs (multiply-add = 2) of `run()`, which must only touch meta tensors."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        run()
    return int(counter.get_total_flops())


def achieved(flops_per_step: int | None, seconds_per_step: float | None, peak_tflops: float | None) -> dict[str, Any]:
    """Achieved TFLOP/s and, where the device's peak is known, the fraction of it."""
    out: dict[str, Any] = {"peak_tflops": peak_tflops}
    if not flops_per_step or not seconds_per_step:
        out.update(achieved_tflops=None, fraction_of_peak=None)
        return out
    tflops = flops_per_step / seconds_per_step / 1e12
    out["achieved_tflops"] = tflops
    out["fraction_of_peak"] = tflops / peak_tflops if peak_tflops else None
    return out
