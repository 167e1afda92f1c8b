"""The SAM-style still-image workloads: the encoder pass (`set_image`), prompts decoded on a cached
embedding, and automatic masks. SAM 2.1 and SAM 1 serve them with their own predictors and
generators, through the hooks `SamStill` names."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from segbench.cost.footprint import Query
from segbench.workloads.base import Workload, WorkloadOptions, check_prompts_inside
from segbench.workload_catalog import AUTO_MASKS_SOURCE
from segbench.workloads.images import check_image_inputs, images_for


class SamStill(Workload):
    """What the SAM-style still-image workloads share. A family's subclass gives its library's parts:
    `new_predictor()` (SAM2ImagePredictor, SamPredictor, ...), `network()` (the image-encoder slot) and,
    for automatic masks, `generator_class(keep)` and optionally `adapt_generator(generator)`."""

    check_inputs = classmethod(lambda cls, options: check_image_inputs(options))

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.size = int(model.resolution[0])
        self.images, self._input = images_for(options)
        self.predictor = self._make_predictor()

    def _make_predictor(self):
        return self.new_predictor()

    def new_predictor(self) -> Any:
        """A predictor of the family's library, with set_image / set_image_batch / predict."""
        raise NotImplementedError

    def input_info(self) -> dict[str, Any]:
        return dict(self._input)

    def _batch(self, batch_size: int) -> list[np.ndarray]:
        return [self.images[i % len(self.images)] for i in range(batch_size)]

    def network(self) -> Any:
        """The family's image-encoder slot (`segbench.backends.NetworkSlot`)."""
        raise NotImplementedError

    def cost_query(self, batch_size: int) -> Query:
        h, w = self.images[0].shape[:2]
        return Query(self.model.spec.name, self.name, batch_size=batch_size, resolution=(h, w),
                     model_size=(self.size, self.size), points_per_side=self.options.points_per_side,
                     points_per_batch=self.options.points_per_batch)


class StillImage(SamStill):
    """`set_image` / `set_image_batch`: transforms plus the image encoder, as a labeling tool calls it."""

    name = "image"

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        batch = self._batch(batch_size)
        if batch_size == 1:
            return lambda: self.predictor.set_image(batch[0])
        return lambda: self.predictor.set_image_batch(batch)

    def official(self, batch_size: int) -> Callable[[], Any]:
        # segbench's batch-1 step is this same call; the loop is here to show that it is.
        predictor, batch = self.new_predictor(), self._batch(batch_size)

        def loop() -> None:
            for image in batch:
                predictor.set_image(image)

        return loop

    def params(self) -> dict[str, Any]:
        return {**super().params(), "timed": "set_image (transforms + image encoder)"}


class StillPrompt(SamStill):
    """One point and one box prompt per object, decoded against a cached image embedding."""

    name = "prompt"
    item_unit = "prompt"

    def network(self) -> Any:
        return None  # the timed step never runs the encoder (its embedding is cached)

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        image = self.images[0]
        h, w = image.shape[:2]
        check_prompts_inside(self.options, h, w)
        self.predictor.set_image(image)  # the embedding is cached once, as in an annotation tool
        points, boxes = self._prompts(batch_size, h, w)
        labels = np.ones((batch_size, 1), dtype=np.int64)
        self._last: dict[str, Any] = {}

        def step() -> None:
            self.predictor.predict(point_coords=points, point_labels=labels, multimask_output=True)
            masks, _, _ = self.predictor.predict(box=boxes, multimask_output=False)
            self._last["mask_shape"] = list(masks.shape)

        return step

    def _prompts(self, batch_size: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's prompts, cycled to fill the batch; else random ones on the image."""
        rng = np.random.default_rng(self.options.seed)
        if self.options.points:
            points = np.array([self.options.points[i % len(self.options.points)] for i in range(batch_size)])
        else:
            points = rng.uniform([0, 0], [w - 1, h - 1], size=(batch_size, 2))
        if self.options.boxes:
            boxes = np.array([self.options.boxes[i % len(self.options.boxes)] for i in range(batch_size)])
        else:
            corners = rng.uniform([0, 0], [w / 2, h / 2], size=(batch_size, 2))
            boxes = np.concatenate([corners, corners + [w / 3, h / 3]], axis=1)
        return points[:, None, :], boxes

    def items_per_step(self, batch_size: int) -> int:
        return 2 * batch_size  # a point prompt and a box prompt per object

    def params(self) -> dict[str, Any]:
        return {**super().params(), "timed": "predict(point) + predict(box) on a cached embedding"}


def generator_keeping(keep: int | None, base: type):
    """`base` (a SAM-style automatic mask generator), or (keep=N) one that keeps only the N
    highest-scoring masks of each crop after its NMS: the generators have no such option, and what
    they keep is what their output stage (RLE decoding, areas, boxes, one record per mask) works on."""
    if keep is None:
        return base

    class TopMasks(base):  # type: ignore[misc, valid-type]
        def _process_crop(self, *args: Any, **kwargs: Any):
            data = super()._process_crop(*args, **kwargs)
            self.candidates = getattr(self, "candidates", 0) + len(data["iou_preds"])
            if len(data["iou_preds"]) > keep:
                data.filter(torch.topk(data["iou_preds"], keep).indices)
            return data

    return TopMasks


class StillAuto(SamStill):
    """A SAM-style automatic mask generator on one image per step.

    With random weights the generator's default thresholds drop almost every mask, and the masks
    that remain are so alike that its NMS collapses them to one: the output stage (decoding each mask
    at image size, its area and box) then does next to nothing, where a cluttered real scene keeps
    about a hundred. "relaxed" mode (the default) states that load instead: the score filters and
    NMS let every candidate through, and the `auto_masks` highest-scoring are kept.
    """

    name = "auto"
    RELAXED = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self._masks: list[int] = []
        self._candidates: list[int] = []
        if model.weights == "random":
            self.notes.append(
                "auto: mask counts come from random weights and are not representative of a trained model"
                + (
                    f"; relaxed filters keep the {self.keep} highest-scoring masks, as a cluttered scene would"
                    if self.relaxed
                    else "; default filters drop nearly every mask, so post-processing cost is understated"
                )
            )

    @property
    def relaxed(self) -> bool:
        return self.options.auto_mode == "relaxed"

    @property
    def keep(self) -> int | None:
        return self.options.auto_masks if self.relaxed else None

    def generator_class(self, keep: int | None) -> type:
        """The family's generator class, keeping the `keep` best masks (`generator_keeping`)."""
        raise NotImplementedError

    def adapt_generator(self, generator: Any) -> None:
        """Fit a built generator to the model size, where its library assumes one (default: nothing)."""

    def _generator(self, keep: int | None):
        generator = self.generator_class(keep)(
            self.model.module,
            points_per_side=self.options.points_per_side,
            points_per_batch=self.options.points_per_batch,
            **(self.RELAXED if self.relaxed else {}),
        )
        self.adapt_generator(generator)
        return generator

    def _make_predictor(self):
        """The generator builds its own predictor; that one is the workload's (no second copy)."""
        self.generator = self._generator(self.keep)
        return self.generator.predictor

    def supports_batch_size(self, batch_size: int) -> bool:
        return batch_size == 1  # the generator's batch is --points-per-batch

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        return self._generate(self.generator)

    official_same_work = False  # in relaxed mode it keeps every candidate; segbench keeps --auto-masks

    def official_params(self) -> dict[str, Any]:
        return {**super().official_params(), "auto_masks": None, "auto_masks_means": None}

    def official(self, batch_size: int) -> Callable[[], Any]:
        return self._generate(self._generator(None))

    def _generate(self, generator) -> Callable[[], None]:
        image = self.images[0]
        self._masks, self._candidates = [], []  # this point's counts only (the workload serves every point)

        def step() -> None:
            generator.candidates = 0  # counted by a generator that keeps the top masks
            self._masks.append(len(generator.generate(image)))
            self._candidates.append(generator.candidates)

        return step

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "points_per_side": self.options.points_per_side,
            "points_per_batch": self.options.points_per_batch,
            "auto_mode": self.options.auto_mode,
            "auto_masks": self.keep,
            "auto_masks_means": AUTO_MASKS_SOURCE if self.relaxed else None,
            "timed": "generate(image): encoder, grid decoding and post-processing",
        }

    def metrics(self, measurement) -> dict[str, Any]:
        if not self._masks:
            return {}
        return {
            "masks_median": float(np.median(self._masks)),
            "masks_min": int(min(self._masks)),
            "masks_max": int(max(self._masks)),
            # Masks that passed the filters and NMS before the top-N cut (0: not counted, no cut).
            "candidates_median": float(np.median(self._candidates)) if any(self._candidates) else None,
            "masks_representative": self.model.weights == "pretrained" and self.options.auto_mode == "default",
        }
