"""SAM 2.1 on still images: the encoder pass, interactive prompts, and automatic masks."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from segbench.cost.footprint import Query
from segbench.families.sam2.loading import feature_sizes
from segbench.workloads.base import Workload, WorkloadOptions, check_prompts_inside
from segbench.workloads.images import check_image_inputs, images_for


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


class _SamStill(Workload):
    check_inputs = classmethod(lambda cls, options: check_image_inputs(options))

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.size = int(model.resolution[0])
        self.images, self._input = images_for(options)
        self.predictor = self._make_predictor()

    def _make_predictor(self):
        return make_predictor(self.model.module, self.size)

    def input_info(self) -> dict[str, Any]:
        return dict(self._input)

    def _batch(self, batch_size: int) -> list[np.ndarray]:
        return [self.images[i % len(self.images)] for i in range(batch_size)]

    def network(self) -> Any:
        return encoder_slot(self.model.module)

    def cost_query(self, batch_size: int) -> Query:
        h, w = self.images[0].shape[:2]
        return Query(self.model.spec.name, self.name, batch_size=batch_size, resolution=(h, w),
                     model_size=(self.size, self.size), points_per_side=self.options.points_per_side,
                     points_per_batch=self.options.points_per_batch)


class SamImage(_SamStill):
    """`set_image` / `set_image_batch`: transforms plus the image encoder, as a labeling tool calls it."""

    name = "image"

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        batch = self._batch(batch_size)
        if batch_size == 1:
            return lambda: self.predictor.set_image(batch[0])
        return lambda: self.predictor.set_image_batch(batch)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "timed": "set_image (transforms + image encoder)"}


class SamPrompt(_SamStill):
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


class SamAuto(_SamStill):
    """SAM2AutomaticMaskGenerator on one image per step.

    With random weights and the default thresholds almost every mask is filtered out, which skips
    most post-processing and understates the cost; "relaxed" mode lets masks through the filters so
    NMS, RLE encoding and hole filling do a realistic amount of work.
    """

    name = "auto"
    RELAXED = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self._masks: list[int] = []
        if model.weights == "random":
            self.notes.append(
                "auto: mask counts come from random weights and are not representative of a trained model"
                + (
                    "; relaxed filters keep post-processing busy"
                    if options.auto_mode == "relaxed"
                    else "; default filters drop nearly every mask, so post-processing cost is understated"
                )
            )

    def _make_predictor(self):
        """The generator builds its own predictor; that one is the workload's (no second copy)."""
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

        thresholds = self.RELAXED if self.options.auto_mode == "relaxed" else {}
        self.generator = SAM2AutomaticMaskGenerator(
            self.model.module,
            points_per_side=self.options.points_per_side,
            points_per_batch=self.options.points_per_batch,
            **thresholds,
        )
        self.generator.predictor._bb_feat_sizes = feature_sizes(self.size)
        return self.generator.predictor

    def supports_batch_size(self, batch_size: int) -> bool:
        return batch_size == 1  # the generator's batch is --points-per-batch

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        image = self.images[0]

        def step() -> None:
            self._masks.append(len(self.generator.generate(image)))

        return step

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "points_per_side": self.options.points_per_side,
            "points_per_batch": self.options.points_per_batch,
            "auto_mode": self.options.auto_mode,
            "timed": "generate(image): encoder, grid decoding and post-processing",
        }

    def metrics(self, measurement) -> dict[str, Any]:
        if not self._masks:
            return {}
        return {
            "masks_median": float(np.median(self._masks)),
            "masks_min": int(min(self._masks)),
            "masks_max": int(max(self._masks)),
            "masks_representative": self.model.weights == "pretrained" and self.options.auto_mode == "default",
        }
