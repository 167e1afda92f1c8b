"""YOLO-seg as users run it: `model.predict` on images (letterbox, network, NMS and mask assembly,
all inside the timed step), and one step of Ultralytics' own segmentation loss with AdamW."""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch

from segbench.families.yolo.loading import classes_of, ultralytics
from segbench.workloads.base import WorkloadOptions
from segbench.workloads.instances import InstanceImage
from segbench.workloads.training import TrainStep

MASK_RATIO = 4  # Ultralytics' training masks are a quarter of the input side (mask_ratio=4)


class YoloImage(InstanceImage):
    """`YOLO.predict` on a batch of images at the model's input size, default thresholds."""

    timed = "YOLO.predict: letterbox, network, NMS and mask assembly"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        ultralytics()
        from ultralytics import YOLO

        self.wrapper = YOLO(model.spec.config["yaml"], task="segment", verbose=False)
        # predict() fuses conv and batch norm in place: a copy keeps the loaded model for other workloads.
        self.wrapper.model = copy.deepcopy(model.module)
        if model.weights == "random":
            self.notes.append("image: random weights find almost no objects at the default confidence, so NMS and "
                              "mask assembly are nearly free here; with trained weights they cost more")

    def detect(self, batch_size: int) -> Callable[[], int]:
        batch = self.batch(batch_size)
        device = "cpu" if self.device.type == "cpu" else str(self.device)
        size = int(self.model.resolution[0])
        return lambda: sum(len(r.boxes) for r in self.wrapper.predict(batch, imgsz=size, device=device, verbose=False))


class YoloTrain(TrainStep):
    """Ultralytics' segmentation loss (box, mask, class, DFL) on a letterboxed batch, then AdamW, the
    optimiser Ultralytics' `optimizer=auto` picks for a fine-tune of a few thousand iterations."""

    optimizer = "adamw"
    weight_decay = 5e-4
    what = "the whole network"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        ultralytics()
        from ultralytics.cfg import get_cfg

        # Not `self.network`: that would hide the workload's network() hook, which the runner calls off fp32.
        self.trained_network = self.copied(model.module).train()
        self.trained_network.args = get_cfg()  # the default hyperparameters the loss reads (box, cls, dfl gains)
        # optimizer=auto: lr = 0.002 * 5 / (4 + classes)
        self.lr = round(0.002 * 5 / (4 + classes_of(model.spec)), 6)

    def trainable_module(self) -> torch.nn.Module:
        return self.trained_network

    def loss_for(self, batch_size: int) -> Callable[[], torch.Tensor]:
        side = int(self.model.resolution[0])
        targets = self.targets(batch_size, side, side, classes_of(self.model.spec))
        images = torch.from_numpy(np.stack([_square(im, side) for im in self.batch(batch_size)]))
        small = side // MASK_RATIO
        masks = np.zeros((batch_size, small, small), dtype=np.float32)
        rows = []
        for i, t in enumerate(targets):
            for k, (box, label, mask) in enumerate(zip(t.boxes, t.labels, t.masks)):
                masks[i][mask[::MASK_RATIO, ::MASK_RATIO][:small, :small] > 0] = k + 1  # overlap_mask: indices
                x0, y0, x1, y1 = box / side
                rows.append((i, label % classes_of(self.model.spec), (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0))
        table = torch.tensor(rows, dtype=torch.float32)
        batch = {"img": images.permute(0, 3, 1, 2).float().div(255).to(self.device),
                 "batch_idx": table[:, 0].to(self.device), "cls": table[:, 1:2].to(self.device),
                 "bboxes": table[:, 2:].to(self.device), "masks": torch.from_numpy(masks).to(self.device)}
        network = self.trained_network

        def loss() -> torch.Tensor:
            total, _ = network.loss(batch)
            return total.sum()

        return loss


def _square(image: np.ndarray, side: int) -> np.ndarray:
    """The image resized to side x side, as a training loader's letterbox-and-augment ends up (outside the step)."""
    import cv2

    return cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR)
