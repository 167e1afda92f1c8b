"""What a MONAI network costs over a whole volume: the shared sliding-window cost model
(`families/_shared/volume_cost.py`) over the model's own window."""

from __future__ import annotations

from segbench.cost.footprint import Query
from segbench.families._shared.volume_cost import count_blocks, extra, footprint  # noqa: F401 - hooks
from segbench.families.base import ModelSpec


def counted_size(spec: ModelSpec, q: Query) -> tuple[int, ...]:
    return tuple(q.roi or q.model_size or spec.default_resolution)
