"""SAM 1 on still images: the shared SAM-style image, prompt and automatic-mask workloads, run on
SAM 1's predictor and generator (`predictor.py` gives them the calls those workloads make).

What differs from SAM 2.1 is only which predictor, generator and encoder the workloads use (the
`new_predictor`, `network` and `generator_class` hooks of `families/_shared/sam_still.py`).
"""

from __future__ import annotations

from typing import Any

import torch

from segbench.families.sam1.predictor import BatchedSamPredictor, FloatScores
from segbench.families._shared.sam_still import StillAuto, StillImage, StillPrompt, generator_keeping


def encoder_slot(sam: torch.nn.Module) -> Any:
    """SAM 1's image encoder, whose single output is the 256-channel image embedding.

    SamPredictor and `Sam.postprocess_masks` read `image_encoder.img_size`, so whatever takes the
    encoder's place (the fidelity probe, a compiled or exported network) is given that attribute too."""
    from segbench.backends.slot import NetworkSlot

    size = sam.image_encoder.img_size

    class EncoderSlot(NetworkSlot):
        def set(self, module: Any) -> None:
            if not hasattr(module, "img_size"):
                module.img_size = size
            super().set(module)

    return EncoderSlot(sam, "image_encoder", "image_encoder", "image embedding")


class Sam1Still:
    """The SAM 1 parts of a shared still-image workload (a mixin placed before it)."""

    size: int
    model: Any

    def new_predictor(self) -> BatchedSamPredictor:
        return BatchedSamPredictor(self.model.module)

    def network(self) -> Any:
        return encoder_slot(self.model.module)


class Sam1Image(Sam1Still, StillImage):
    """`set_image` (batch 1) or one encoder pass over a stack of images (`set_image_batch`)."""

    official_loop = "the segment-anything README's loop: a SamPredictor of its own, set_image once per image"


class Sam1Prompt(Sam1Still, StillPrompt):
    """One point and one box prompt per object, decoded against a cached image embedding."""

    def network(self) -> Any:
        return None  # the timed step never runs the encoder (its embedding is cached)


class Sam1Auto(Sam1Still, StillAuto):
    """SamAutomaticMaskGenerator on one image per step, relaxed or default filters (`--auto-mode`)."""

    official_loop = ("the segment-anything generator as its README builds it, SamAutomaticMaskGenerator(sam, "
                     "points_per_side, points_per_batch, thresholds) with generate(image), keeping every mask its "
                     "filters pass (in relaxed mode: every candidate; it has no cap on the count)")

    def generator_class(self, keep: int | None) -> type:
        return generator_keeping(keep, base=FloatScores)
