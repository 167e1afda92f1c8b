"""The `image` workload of an instance-segmentation model: a batch of images through the library's own
inference call, post-processing (NMS, mask assembly) inside the timed step, detections counted."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch

from segbench.cost.footprint import Query
from segbench.families.registry import default_classes
from segbench.workloads.base import Workload, WorkloadOptions
from segbench.workloads.images import check_image_inputs, images_for


class InstanceImage(Workload):
    """Subclasses set `timed` and implement `detect(batch_size)`: the step, returning detections made."""

    check_inputs = classmethod(lambda cls, options: check_image_inputs(options))
    name = "image"
    timed = ""

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.images, self._input = images_for(options)
        self._detections: list[int] = []

    @abstractmethod
    def detect(self, batch_size: int) -> Any:
        """Inputs for one batch, made now; the returned call runs inference and returns the detections made."""

    def prepare(self, batch_size: int) -> Any:
        run = self.detect(batch_size)

        def step() -> None:
            self._detections.append(run())

        return step

    def batch(self, batch_size: int) -> list[np.ndarray]:
        return [self.images[i % len(self.images)] for i in range(batch_size)]

    def cost_query(self, batch_size: int) -> Query:
        return Query(self.model.spec.name, self.name, batch_size=batch_size, model_size=tuple(self.model.resolution),
                     resolution=tuple(self.images[0].shape[:2]))

    def params(self) -> dict[str, Any]:
        return {**super().params(), "classes": default_classes(self.model.spec), "timed": self.timed}

    def input_info(self) -> dict[str, Any]:
        return dict(self._input)

    def metrics(self, measurement) -> dict[str, Any]:
        return {"detections_median": float(np.median(self._detections))} if self._detections else {}
