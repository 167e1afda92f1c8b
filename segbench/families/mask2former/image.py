"""Mask2Former forward passes on batches of images at the model's configured size."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from segbench.cost.footprint import Query
from segbench.families.mask2former.loading import classes_of
from segbench.workloads.base import Workload, WorkloadOptions
from segbench.workloads.images import check_image_inputs, images_for

# Mask2Former's image processor normalises with the ImageNet statistics.
_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def to_pixel_values(images: list[np.ndarray], size: tuple[int, int]) -> torch.Tensor:
    """Resize and normalise like the image processor, once, outside the timed step."""
    resized = [
        F.interpolate(
            torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1)[None].float() / 255.0,
            size=size,
            mode="bilinear",
            align_corners=False,
        )
        for im in images
    ]
    return (torch.cat(resized) - _MEAN) / _STD


class Mask2FormerImage(Workload):
    check_inputs = classmethod(lambda cls, options: check_image_inputs(options))

    name = "image"
    scope = "encoder"  # the model's forward on tensors already resized and normalised

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.images, self._input = images_for(options)

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        batch = [self.images[i % len(self.images)] for i in range(batch_size)]
        pixel_values = to_pixel_values(batch, tuple(self.model.resolution)).to(self.device)
        # Looked up on every call: an execution backend may have replaced the network.
        return lambda: self.model.module(pixel_values)

    def network(self) -> Any:
        from types import SimpleNamespace

        from segbench.backends.slot import NetworkSlot

        return NetworkSlot(self.model, "module", "network", "mask and class logits of every query",
                           flatten=lambda out: (out.masks_queries_logits, out.class_queries_logits),
                           unflatten=lambda t: SimpleNamespace(masks_queries_logits=t[0], class_queries_logits=t[1]),
                           masks="logits")

    def cost_query(self, batch_size: int) -> Query:
        return Query(self.model.spec.name, self.name, batch_size=batch_size,
                     model_size=tuple(self.model.resolution), classes=self.classes)

    @property
    def classes(self) -> int:
        return classes_of(self.model.spec)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "classes": self.classes, "timed": "model forward on preprocessed tensors"}

    def input_info(self) -> dict[str, Any]:
        return dict(self._input)
