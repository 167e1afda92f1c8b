"""What share of a device's peak a measured step reached.

The FLOPs come from `segbench.cost`, counted on the `meta` device: no arithmetic happens, and
attention is counted as the fused kernel runs it. (On CPU tensors the fused attention kernel is not
counted at all: SAM 2.1 tiny's encoder shows 207 instead of 292 GFLOP at 1024x1024.)
"""

from __future__ import annotations

from typing import Any


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
