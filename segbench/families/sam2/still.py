"""SAM 2.1 on still images: the encoder pass, interactive prompts, and automatic masks (the shared
SAM-style workloads of `families/_shared/sam_still.py`, on sam2's predictor and generator)."""

from __future__ import annotations

from typing import Any

import torch

from segbench.families._shared.sam_still import StillAuto, StillImage, StillPrompt, generator_keeping
from segbench.families.sam2.loading import feature_sizes


def make_predictor(model: torch.nn.Module, size: int, **kwargs: Any):
    """SAM2ImagePredictor as users build it, with its cached feature sizes matched to `size`."""
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    predictor = SAM2ImagePredictor(model, **kwargs)
    predictor._bb_feat_sizes = feature_sizes(size)  # sam2 hard-codes the 1024 sizes
    return predictor


def encoder_slot(sam: torch.nn.Module) -> Any:
    """SAM 2.1's image encoder (what set_image and the automatic generator run), whose dict output
    is flattened to vision_features, then the three positional encodings and three FPN levels."""
    from segbench.backends.slot import NetworkSlot

    def flatten(out: dict) -> tuple[torch.Tensor, ...]:
        return (out["vision_features"], *out["vision_pos_enc"], *out["backbone_fpn"])

    def unflatten(t: tuple[torch.Tensor, ...]) -> dict:
        n = (len(t) - 1) // 2
        return {"vision_features": t[0], "vision_pos_enc": list(t[1:1 + n]), "backbone_fpn": list(t[1 + n:])}

    return NetworkSlot(sam, "image_encoder", "image_encoder", "image embeddings (vision features, FPN levels)",
                       flatten, unflatten)


class Sam2Still:
    """The sam2 parts of a shared still-image workload (a mixin placed before it)."""

    size: int
    model: Any

    def new_predictor(self) -> Any:
        return make_predictor(self.model.module, self.size)

    def network(self) -> Any:
        return encoder_slot(self.model.module)


class SamImage(Sam2Still, StillImage):
    """`set_image` / `set_image_batch`: transforms plus the image encoder, as a labeling tool calls it."""

    official_loop = "the sam2 README's loop: a SAM2ImagePredictor of its own, set_image once per image"


class SamPrompt(Sam2Still, StillPrompt):
    """One point and one box prompt per object, decoded against a cached image embedding."""

    def network(self) -> Any:
        return None  # the timed step never runs the encoder (its embedding is cached)


class SamAuto(Sam2Still, StillAuto):
    """SAM2AutomaticMaskGenerator on one image per step (relaxed or default filters, `--auto-mode`)."""

    official_loop = ("the sam2 generator as its README builds it, SAM2AutomaticMaskGenerator(model, points_per_side, "
                     "points_per_batch, thresholds) with generate(image), keeping every mask its filters pass "
                     "(in relaxed mode: every candidate; it has no cap on the count)")

    def generator_class(self, keep: int | None) -> type:
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

        return generator_keeping(keep, SAM2AutomaticMaskGenerator)

    def adapt_generator(self, generator: Any) -> None:
        generator.predictor._bb_feat_sizes = feature_sizes(self.size)  # sam2 hard-codes the 1024 sizes
