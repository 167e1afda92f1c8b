"""The `train` workload: one fine-tuning step (forward, loss, backward, optimiser step) at batch size
B on synthetic images with synthetic instance masks, timed by the same harness as inference.

A family supplies the model copy it trains and the loss of one batch; this module makes the data,
the optimiser and the step, and reports what the step held: the loss (finite or not) and the bytes
of optimiser state and gradients measured from the tensors themselves. The model is copied, so the
inference workloads of the same run still time the weights they were given.
"""

from __future__ import annotations

import copy
import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from segbench.cost.training import OPTIMIZER_STATES
from segbench.workloads.base import WorkloadOptions
from segbench.workloads.images import ImageBatches

OBJECTS_PER_IMAGE = 4  # instances drawn on each synthetic image: a typical labeled photo of a narrow domain

@dataclass(frozen=True)
class Instances:
    """One image's targets: boxes (N, 4) x0 y0 x1 y1 in pixels, labels (N,), masks (N, H, W) 0/1."""

    boxes: np.ndarray
    labels: np.ndarray
    masks: np.ndarray


def synthetic_instances(h: int, w: int, objects: int, classes: int, rng: np.random.Generator) -> Instances:
    """Elliptical objects inside random boxes: shapes a mask loss has to work for, made in milliseconds."""
    boxes, masks = [], []
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(objects):
        bw, bh = rng.uniform(0.15, 0.45) * w, rng.uniform(0.15, 0.45) * h
        x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        cx, cy = x0 + bw / 2, y0 + bh / 2
        masks.append((((xx - cx) / (bw / 2)) ** 2 + ((yy - cy) / (bh / 2)) ** 2 <= 1).astype(np.uint8))
        boxes.append((x0, y0, x0 + bw, y0 + bh))
    labels = rng.integers(1, max(2, classes), size=objects)
    return Instances(np.asarray(boxes, dtype=np.float32), labels.astype(np.int64), np.stack(masks))


def make_optimizer(name: str, params: list[torch.nn.Parameter], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    assert name in OPTIMIZER_STATES, name
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def loss_scaler(device: torch.device) -> torch.amp.GradScaler | None:
    """A dynamic loss scaler under fp16 autocast, as AMP trains in fp16 (small gradients underflow
    fp16 without it); None otherwise: bf16 has fp32's exponent range and needs none."""
    if _autocast_dtype(device.type) == torch.float16:
        return torch.amp.GradScaler(device.type)
    return None


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast computes in on this device type now; None where it is off."""
    if hasattr(torch, "get_autocast_dtype"):  # torch 2.4+
        return torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else None
    if device_type == "cpu":  # torch 2.3
        return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
    return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None


def tensor_bytes(tensors: Any) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


class TrainStep(ImageBatches):
    """A family's fine-tuning step. Subclasses set `optimizer`, `lr`, `weight_decay` and `what`, and
    implement `trainable_module()` and `loss_for(batch_size)`."""

    name = "train"
    grad = True
    optimizer = "adamw"
    lr = 1e-4
    weight_decay = 1e-4
    what = ""  # what the step trains, for the record

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.rng = np.random.default_rng(options.seed)
        self._losses: list[float] = []
        self._state_bytes: dict[str, int] = {}
        self._optimizer: torch.optim.Optimizer | None = None
        self._scaler: torch.amp.GradScaler | None = None
        self._skipped = 0  # optimiser steps the loss scaler skipped (fp16 gradients overflowed)
        if model.weights == "random":
            self.notes.append("train: random weights and synthetic masks: the step's cost is real, its loss is not "
                              "a training curve")

    def copied(self, module: torch.nn.Module) -> torch.nn.Module:
        """A copy to train, so later workloads of the run time the weights they were given."""
        return copy.deepcopy(module).to(self.device)

    @abstractmethod
    def trainable_module(self) -> torch.nn.Module:
        """The (copied) module whose parameters the optimiser updates; parameters outside it are frozen."""

    @abstractmethod
    def loss_for(self, batch_size: int) -> Callable[[], torch.Tensor]:
        """Inputs and targets for one batch, made now; the returned call runs the forward and the loss."""

    def targets(self, batch_size: int, h: int, w: int, classes: int) -> list[Instances]:
        return [synthetic_instances(h, w, OBJECTS_PER_IMAGE, classes, self.rng) for _ in range(batch_size)]

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        loss_of = self.loss_for(batch_size)
        trained = [p for p in self.trainable_module().parameters() if p.requires_grad]
        optimizer = make_optimizer(self.optimizer, trained, self.lr, self.weight_decay)
        self._optimizer = optimizer
        self._losses = []
        scaler = self._scaler = loss_scaler(self.device)
        self._skipped = 0
        device_type = self.device.type

        def step() -> None:
            loss = loss_of()  # forward and loss under the point's autocast, as the AMP recipe has it
            with torch.autocast(device_type, enabled=False):  # backward and step outside it, the same
                if scaler is None:
                    loss.backward()
                    optimizer.step()
                else:
                    scale = scaler.get_scale()
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)  # skipped where fp16 gradients overflowed
                    scaler.update()
                    self._skipped += int(scaler.get_scale() < scale)
            # Measured before zeroing: the step's peak holds gradients and optimiser state together.
            # Again after a step the loss scaler skipped: it made no optimiser state.
            if not self._state_bytes.get("optimizer_state_bytes"):
                self._state_bytes = {
                    "gradient_bytes": tensor_bytes(p.grad for p in trained),
                    "optimizer_state_bytes": tensor_bytes(v for s in optimizer.state.values() for v in s.values()),
                }
            optimizer.zero_grad(set_to_none=True)
            self._losses.append(float(loss.detach()))

        return step

    def release(self) -> None:
        self._optimizer = None

    def trainable_params(self) -> int:
        return sum(p.numel() for p in self.trainable_module().parameters() if p.requires_grad)

    def input_info(self) -> dict[str, Any]:
        return {**super().input_info(), "targets": f"synthetic: {OBJECTS_PER_IMAGE} elliptical instances per image"}

    def params(self) -> dict[str, Any]:
        return {**super().params(), "optimizer": self.optimizer, "trainable_params": self.trainable_params(),
                "objects_per_image": OBJECTS_PER_IMAGE,
                "timed": f"{self.what}: forward, loss, backward and {self.optimizer} step on device tensors "
                         "(no data loading or augmentation)"}

    def metrics(self, measurement) -> dict[str, Any]:
        if not self._losses:
            return {}
        scaling = {} if self._scaler is None else {"loss_scale": self._scaler.get_scale(),
                                                    "optimizer_steps_skipped": self._skipped}
        return {"loss_first": self._losses[0], "loss_last": self._losses[-1],
                "loss_finite": all(math.isfinite(v) for v in self._losses), **self._state_bytes, **scaling}
