"""What an nnU-Net costs over a whole volume: MONAI's sliding-window cost model (one window counted on
`meta`, times the windows, plus stitching), whose blocks and footprint are network-agnostic. Only the
window counted by default differs: the plans' patch, which a user's plans file may change."""

from __future__ import annotations

from segbench.cost.footprint import Query
from segbench.families.base import ModelSpec
from segbench.families.monai.cost import count_blocks, extra, footprint  # noqa: F401 - generic over 3D networks
from segbench.families.nnunet.loading import default_roi


def counted_size(spec: ModelSpec, q: Query) -> tuple[int, ...]:
    return tuple(q.roi or q.model_size or default_roi(spec))
