"""Fidelity of a faster configuration: its network outputs against the fp32 eager reference on the
same inputs, as a relative error and, where the outputs are masks, an IoU.

With random weights these are a numerics check (does the backend compute the same function?), not an
accuracy claim; with pretrained weights the mask IoU is the figure that matters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

MAX_CALLS = 4  # a sliding window calls the network per window batch: the first few say enough

# The relative error against fp32 eager beyond which a point's outputs are wrong, not merely rounded
# differently: its status is then not ok. Per precision, since what rounding alone gives grows as
# the mantissa shrinks (bf16 keeps 8 bits, fp16 11, fp32 24) and compounds over a deep network with
# random weights. Outputs of other weights or a broken graph land near 1 (uncorrelated: about 1.4).
# These are a floor for correctness; `segbench tune`'s bound (--max-error) is the stricter choice.
TOLERANCE = {"fp32": 0.05, "tf32": 0.1, "fp16": 0.5, "bf16": 0.5}


def failure(result: dict[str, Any], precision: str) -> str | None:
    """Why the checked outputs are wrong (None: within `TOLERANCE`, or nothing was compared)."""
    error = result.get("rel_error")
    tolerance = TOLERANCE.get(precision, max(TOLERANCE.values()))
    if error is None or (math.isfinite(error) and error <= tolerance):
        return None
    return f"fidelity check failed: rel. error {error:.3g} vs fp32 eager (tolerance {tolerance:g} at {precision})"


class Capture(torch.nn.Module):
    """Sits in a network slot for the whole point and keeps CPU copies of the inputs and outputs of the
    network's first calls (the warm-up's), so the reference runs on exactly those inputs without
    repeating the step; later calls pass straight through."""

    def __init__(self, slot: Any) -> None:
        super().__init__()
        self.slot, self.module = slot, slot.get()
        self.calls: list[tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]] = []
        self.active = True
        slot.set(self)

    def first_step_only(self, step: Callable[[], Any]) -> Callable[[], Any]:
        """`step`, capturing during its first call only (a warm-up one), so no copy lands in a timed sample."""
        def once() -> Any:
            try:
                return step()
            finally:
                self.active = False
        return once

    def forward(self, *args: Any) -> Any:
        out = self.module(*args)
        if self.active and len(self.calls) < MAX_CALLS:
            self.calls.append((tuple(a.detach().cpu().clone() for a in args),
                               tuple(t.detach().float().cpu().clone() for t in self.slot.flatten(out))))
        return out

    def remove(self) -> None:
        self.slot.set(self.module)


def check(probe: Capture, device: torch.device) -> dict[str, Any]:
    """The captured calls run again through the network now in the slot (the fp32 eager one), autocast
    off, and compared."""
    reference, outputs = [], []
    network = probe.slot.get()
    with torch.autocast(device.type, enabled=False):
        for args, out in probe.calls:
            ref = network(*(a.to(device) for a in args))
            reference.extend(t.detach().float().cpu() for t in probe.slot.flatten(ref))
            outputs.extend(out)
    return compare(outputs, reference, probe.slot.masks)


def compare(outputs: list[torch.Tensor], reference: list[torch.Tensor], masks: str | None) -> dict[str, Any]:
    """{"rel_error", "max_abs_error", "mask_iou"}: relative L2 error over every output, and the IoU of
    the masks the outputs make ("logits": > 0; "classes": argmax over dim 1, mean over classes present)."""
    if not reference or len(outputs) != len(reference):
        return {"rel_error": None, "max_abs_error": None, "mask_iou": None,
                "error": f"{len(outputs)} output(s) against the reference's {len(reference)}"}
    diff = sum(float((a - b).double().pow(2).sum()) for a, b in zip(outputs, reference))
    norm = sum(float(b.double().pow(2).sum()) for b in reference)
    out: dict[str, Any] = {
        "rel_error": (diff ** 0.5) / (norm ** 0.5) if norm > 0 else (0.0 if diff == 0 else float("inf")),
        "max_abs_error": max(float((a - b).abs().max()) for a, b in zip(outputs, reference)),
        "mask_iou": None,
    }
    if masks is not None:
        out["mask_iou"] = mask_iou(outputs[0], reference[0], masks)
    return out


def mask_iou(output: torch.Tensor, reference: torch.Tensor, masks: str) -> float | None:
    if masks == "logits":
        a, b = output > 0, reference > 0
        union = int((a | b).sum())
        return int((a & b).sum()) / union if union else 1.0
    a, b = output.argmax(1), reference.argmax(1)
    ious = []
    for c in torch.unique(torch.cat([a.flatten(), b.flatten()])):
        x, y = a == c, b == c
        ious.append(int((x & y).sum()) / int((x | y).sum()))
    return sum(ious) / len(ious) if ious else None
