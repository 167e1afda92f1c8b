"""What SAM 1 workloads cost: its blocks counted on `meta`, and per workload what runs and stays.

Blocks (batch 1, one model size): the image encoder and the prompt decoder for one click with three
masks. The workloads are the shared SAM-style ones (image, prompt, automatic masks), so their footprints
are the shared builders (`families/_shared/sam_cost.py`) over SAM 1's counted blocks, with SAM 1's own
resident state: `SamPredictor` caches a single
256-channel embedding at 1/16 of the image size (64x64 at 1024 px) and no high-resolution features.
"""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts, count
from segbench.cost.footprint import Footprint, ModelCounts, Query
from segbench.families.base import ModelSpec
from segbench.families._shared.sam_cost import counted_size, extra_cached_sizes, still_footprint  # noqa: F401 - hooks

HIDDEN = 256  # prompt/embedding channels
STRIDE = 16  # the embedding is size/16 a side


def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    import torch

    s = int(size[0])
    x = torch.empty(1, 3, s, s, device="meta")
    encoder, embedding = count(lambda: module.image_encoder(x), half)
    grid = s // STRIDE
    # One click as the prompt encoder embeds it (the point plus a padding point, no box) and no mask.
    # The prompt encoder itself is left out: its boolean indexing of labels does not run on `meta`,
    # and it is a few elementwise ops on two tokens.
    sparse = torch.empty(1, 2, HIDDEN, device="meta")
    dense = torch.empty(1, HIDDEN, grid, grid, device="meta")

    def decode():  # SamPredictor.predict_torch's mask decoder for one point, three masks
        return module.mask_decoder(image_embeddings=embedding, image_pe=module.prompt_encoder.get_dense_pe(),
                                   sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                   multimask_output=True)

    decoder, _ = count(decode, half)
    return {"encoder": encoder, "decoder": decoder}


def embedding_bytes(s: int) -> float:
    """The embedding SamPredictor keeps per image (fp32): 256 x s/16 x s/16."""
    return HIDDEN * (s // STRIDE) ** 2 * 4.0


def footprint(q: Query, mc: ModelCounts) -> Footprint:
    return still_footprint(q, mc, embedding_bytes, "SAM 1")
