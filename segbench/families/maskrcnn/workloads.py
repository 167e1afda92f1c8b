"""Mask R-CNN as torchvision users run it: the model on a list of image tensors (resize, normalise,
RPN, box and mask heads, masks pasted at the image size, all inside the timed step), and one step of
its training losses with SGD, as torchvision's detection reference scripts train it."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from segbench.families.maskrcnn.loading import classes_of
from segbench.workloads.base import WorkloadOptions
from segbench.workloads.instances import InstanceImage
from segbench.workloads.training import TrainStep


def to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255).to(device)


class MaskRcnnImage(InstanceImage):
    timed = "model(images): transform, RPN, box and mask heads, masks pasted at image size"

    def detect(self, batch_size: int) -> Callable[[], int]:
        batch = [to_tensor(im, self.device) for im in self.batch(batch_size)]
        module = self.model.module.eval()
        return lambda: sum(len(r["boxes"]) for r in module(batch))


class MaskRcnnTrain(TrainStep):
    """The sum of Mask R-CNN's five losses (RPN objectness and boxes, classifier, boxes, masks), then SGD."""

    optimizer = "sgd"
    lr = 0.02
    weight_decay = 1e-4
    what = "the whole network"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        # Not `self.network`: that would hide the workload's network() hook, which the runner calls off fp32.
        self.trained_network = self.copied(model.module).train()

    def trainable_module(self) -> torch.nn.Module:
        return self.trained_network

    def loss_for(self, batch_size: int) -> Callable[[], torch.Tensor]:
        images = [to_tensor(im, self.device) for im in self.batch(batch_size)]
        h, w = self.images[0].shape[:2]
        targets = [{"boxes": torch.from_numpy(t.boxes).to(self.device),
                    "labels": torch.from_numpy(t.labels % classes_of(self.model.spec)).clamp(min=1).to(self.device),
                    "masks": torch.from_numpy(t.masks).to(self.device)}
                   for t in self.targets(batch_size, h, w, classes_of(self.model.spec))]
        network = self.trained_network

        def loss() -> torch.Tensor:
            return sum(network(images, targets).values())

        return loss
