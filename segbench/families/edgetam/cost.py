"""What EdgeTAM costs: its image encoder, and the tracker's frames (`segbench.families._shared.hf_sam_cost`)."""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts
from segbench.cost.footprint import Footprint, ModelCounts, Query
from segbench.families._shared import hf_sam_cost as hf
from segbench.families.base import ModelSpec

counted_size = hf.counted_size


def counted_extra(module: Any, spec: ModelSpec) -> dict[str, Any]:
    size = int(spec.default_resolution[0])
    _, embedding = hf.encoder_block(module, spec, size, None)
    return {"embedding_bytes": embedding, **hf.video_extra(spec, size)}


def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    encoder, _ = hf.encoder_block(module, spec, int(size[0]), half)
    return {"encoder": encoder, **hf.video_blocks(spec, int(size[0]), half)}


def footprint(q: Query, mc: ModelCounts) -> Footprint:
    return hf.video_footprint(q, mc) if q.workload == "video" else hf.image_footprint(q, mc)
