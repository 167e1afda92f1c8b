"""SAM 3's concept prompts on a cached image embedding: a text, and a box exemplar, each decoded to
every instance it finds (DETR-style queries scored against the prompt, masks for those kept).

Without a tokenizer on disk (no model hub here) the text is a fixed sequence of token ids in CLIP's
layout, padded to the model's 32-token context: the text encoder's cost does not depend on the words.
With a pretrained directory, its own processor tokenises `--text`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from segbench.families._shared.hf_models import transformers_class
from segbench.families._shared.hf_sam import HfImage, fixed_text_ids
from segbench.workloads.base import WorkloadOptions, check_prompts_inside

# Post-processing as transformers' SAM 3 examples call it.
SCORE_THRESHOLD = 0.5
MASK_THRESHOLD = 0.5
TEXT_WORDS = 2  # token ids of a short noun phrase ("yellow bus") when no tokenizer is at hand


class Sam3Prompt(HfImage):
    """One step: a text prompt and a box-exemplar prompt decoded against the cached vision features,
    each post-processed to instance masks at the image's size."""

    name = "prompt"
    item_unit = "prompt"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self._objects: list[int] = []
        self.tokens = "fixed ids (no tokenizer offline)"
        if model.weights == "random":
            self.notes.append("prompt: with random weights the objects SAM 3 returns per prompt are not a trained "
                              "model's; mask post-processing scales with them")

    def network(self) -> Any:
        return None  # the timed step never runs the vision encoder (its features are cached)

    def supports_batch_size(self, batch_size: int) -> bool:
        return batch_size == 1  # one image's prompts; more concepts are more steps

    def items_per_step(self, batch_size: int) -> int:
        return 2  # a text prompt and a box exemplar

    def _text(self) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.model.module.config.text_config
        if self.model.weights == "pretrained" and self.model.checkpoint:
            try:
                processor = transformers_class("Sam3Processor").from_pretrained(self.model.checkpoint)
                encoded = processor(text=self.model.options["text"], return_tensors="pt")
                self.tokens = "the checkpoint's tokenizer"
                return encoded["input_ids"], encoded["attention_mask"]
            except (OSError, ValueError):
                pass  # a directory without tokenizer files: fixed ids below
        return fixed_text_ids(int(config.max_position_embeddings), TEXT_WORDS, int(config.vocab_size),
                              self.options.seed)

    def _box(self, h: int, w: int) -> torch.Tensor:
        """The exemplar as SAM 3 takes it: (cx, cy, w, h) normalised to [0, 1]."""
        if self.options.boxes:
            x0, y0, x1, y1 = self.options.boxes[0]
        else:
            x0, y0, x1, y1 = w * 0.25, h * 0.25, w * 0.5, h * 0.5
        return torch.tensor([[[(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h]]])

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        image = self.images[0]
        h, w = image.shape[:2]
        check_prompts_inside(self.options, h, w)
        model, device = self.model.module, self.device
        # Cached once, as in a labeling session, and in fp32: under CPU bf16 autocast torchvision's roi_align
        # (the box exemplar's pooling) refuses bf16 features; the decoders still run at the autocast dtype.
        with torch.inference_mode(), torch.autocast(device.type, enabled=False):
            pixels = self.processor(images=[image], return_tensors="pt")["pixel_values"].to(device)
            vision = model.get_vision_features(pixel_values=pixels)
        ids, mask = (t.to(device) for t in self._text())
        box = self._box(h, w).to(device)
        labels = torch.ones(1, 1, dtype=torch.long, device=device)
        self._objects = []

        def decode(**prompt: Any) -> int:
            out = model(vision_embeds=vision, input_ids=ids, attention_mask=mask, **prompt)
            found = self.processor.post_process_instance_segmentation(
                out, threshold=SCORE_THRESHOLD, mask_threshold=MASK_THRESHOLD, target_sizes=[(h, w)])[0]
            found["masks"].cpu()
            return int(len(found["scores"]))

        def step() -> None:
            self._objects.append(decode())
            self._objects.append(decode(input_boxes=box, input_boxes_labels=labels))

        return step

    def params(self) -> dict[str, Any]:
        return {**super().params(), "text": self.model.options["text"], "text_tokens": self.tokens,
                "score_threshold": SCORE_THRESHOLD,
                "timed": "a text prompt and a box exemplar decoded on cached vision features (text encoder, DETR "
                         "encoder and decoder, mask decoder), each post-processed to instance masks at image size"}

    def metrics(self, measurement) -> dict[str, Any]:
        if not self._objects:
            return {}
        return {"objects_median": float(np.median(self._objects)), "objects_min": int(min(self._objects)),
                "objects_max": int(max(self._objects)),
                "objects_representative": self.model.weights == "pretrained"}
