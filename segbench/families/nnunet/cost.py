"""What an nnU-Net costs over a whole volume: the shared sliding-window cost model (one window counted on
`meta`, times the windows, plus stitching; `families/_shared/volume_cost.py`). Only the window counted
by default is nnU-Net's own: the plans' patch, which a user's plans file may change."""

from __future__ import annotations

from segbench.cost.footprint import Query
from segbench.families._shared.volume_cost import count_blocks, extra, footprint  # noqa: F401 - hooks
from segbench.families.base import ModelSpec
from segbench.families.nnunet.loading import default_roi


def counted_size(spec: ModelSpec, q: Query) -> tuple[int, ...]:
    return tuple(q.roi or q.model_size or default_roi(spec))
