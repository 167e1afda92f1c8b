"""The `image` workload of an instance-segmentation model: a batch of images through the library's own
inference call, post-processing (NMS, mask assembly) inside the timed step, detections counted."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch

from segbench.workloads.base import WorkloadOptions
from segbench.workloads.images import ImageBatches


class InstanceImage(ImageBatches):
    """Subclasses set `timed` and implement `detect(batch_size)`: the step, returning detections made."""

    name = "image"
    timed = ""

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self._detections: list[int] = []

    @abstractmethod
    def detect(self, batch_size: int) -> Any:
        """Inputs for one batch, made now; the returned call runs inference and returns the detections made."""

    def prepare(self, batch_size: int) -> Any:
        run = self.detect(batch_size)

        def step() -> None:
            self._detections.append(run())

        return step

    def params(self) -> dict[str, Any]:
        return {**super().params(), "classes": self.model.classes, "timed": self.timed}

    def metrics(self, measurement) -> dict[str, Any]:
        return {"detections_median": float(np.median(self._detections))} if self._detections else {}
