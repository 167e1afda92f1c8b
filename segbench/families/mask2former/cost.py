"""What a Mask2Former image costs: one forward pass at the model's input size, counted on `meta`."""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts, count
from segbench.cost.footprint import Footprint, ModelCounts, Query, source_size
from segbench.families.base import ModelSpec


def counted_size(spec: ModelSpec, q: Query) -> tuple[int, ...]:
    return tuple(q.model_size or spec.default_resolution)


def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    import torch

    x = torch.empty(1, 3, *size, device="meta")
    counts, _ = count(lambda: module(pixel_values=x), half)
    return {"forward": counts}


def footprint(q: Query, mc: ModelCounts) -> Footprint:
    fwd = mc.block("forward", q.precision)
    h, w = mc.size
    b = q.batch_size
    return Footprint(
        query=q, item_unit="image", items_per_step=b, parts={"forward": fwd.times(b)},
        host_pixels=b * h * w, host_mask_pixels=0.0, transfer_bytes=b * 3 * h * w * 4,
        weights_bytes=mc.weights_bytes(q.precision), activation_bytes=fwd.peak_bytes * b,
        state_bytes=0.0, host_state_bytes=0.0, params=mc.params,
        notes=[f"{q.model} runs at {w}x{h}; images are resized to it"],
        decode_pixels=b * source_size(q)[0] * source_size(q)[1],
    )
