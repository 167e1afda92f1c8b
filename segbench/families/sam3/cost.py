"""What SAM 3 costs: its vision encoder, a concept prompt decoded on the cached features (text encoder,
DETR encoder and decoder, mask decoder), and the tracker's frames (`segbench.families._shared.hf_sam_cost`)."""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts, count
from segbench.cost.footprint import Footprint, ModelCounts, Query, source_size, upsample
from segbench.families._shared import hf_sam_cost as hf
from segbench.families.base import ModelSpec
from segbench.families._shared.hf_sam import fixed_text_ids

counted_size = hf.counted_size
# Instances a concept prompt returns on a busy photo, whose masks are upsampled to the image: an
# assumption (the SAM 3 paper's figure is timed with 100+ objects; a photo of one scene has fewer).
KEPT_OBJECTS = 20


def counted_extra(module: Any, spec: ModelSpec) -> dict[str, Any]:
    size = int(module.config.vision_config.backbone_config.image_size)
    _, embedding = hf.encoder_block(module, spec, size, None)
    return {"embedding_bytes": embedding, **hf.video_extra(spec, size)}


def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    import torch

    s = int(size[0])
    encoder, _ = hf.encoder_block(module, spec, s, half)
    vision = module.get_vision_features(pixel_values=torch.empty(1, 3, s, s, device="meta"))
    text = module.config.text_config
    ids, _ = fixed_text_ids(int(text.max_position_embeddings), 2, int(text.vocab_size), 0)
    # The DETR decoder sizes its box-bias grid from a tensor holding the feature side, a value `meta`
    # cannot give: here the side is known (the ViT's patch grid).
    side = s // 14

    def coords(height: Any, width: Any, dtype: Any, device: Any) -> tuple[Any, Any]:
        grid = torch.arange(0, side, device=device, dtype=dtype) / side
        return grid, grid

    module.detr_decoder._get_coords = coords
    try:
        # Without its padding mask: transformers reads the mask's values to pick an attention kernel, which
        # `meta` cannot give; the work over the 32-token context is the same.
        decoder, _ = count(lambda: module(vision_embeds=vision, input_ids=ids.to("meta")), half)
    finally:
        del module.detr_decoder._get_coords
    return {"encoder": encoder, "decoder": decoder, **hf.video_blocks(spec, s, half)}


def footprint(q: Query, mc: ModelCounts) -> Footprint:
    if q.workload == "image":
        return hf.image_footprint(q, mc)
    if q.workload == "video":
        return hf.video_footprint(q, mc)
    return _prompt(q, mc)


def _prompt(q: Query, mc: ModelCounts) -> Footprint:
    """A text prompt and a box exemplar, each decoded on the cached features and post-processed."""
    h, w = source_size(q)
    dec = mc.block("decoder", q.precision)
    post = upsample(KEPT_OBJECTS, h, w, q.precision)
    return Footprint(
        query=q, item_unit="prompt", items_per_step=2, parts={"decoder": dec.times(2, batched=False),
                                                               "post": post.times(2, batched=False)},
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=2 * KEPT_OBJECTS * h * w,
        weights_bytes=mc.weights_bytes(q.precision), activation_bytes=max(dec.peak_bytes, post.peak_bytes),
        state_bytes=float(mc.extra["embedding_bytes"]), host_state_bytes=0.0, params=mc.params,
        notes=[f"concept prompts decode against cached vision features; post-processing assumes {KEPT_OBJECTS} "
               "instances kept per prompt"],
    )
