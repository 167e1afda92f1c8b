"""What Mask R-CNN costs: counted on `meta` part by part, because its proposal and detection counts
are data-dependent (NMS, sampling) and `meta` tensors have no values. The heads are counted at the
counts torchvision's defaults fix: 1000 proposals and 100 detections per image at inference; 512
sampled proposals per image, a quarter of them positive (the mask head's), in training."""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts, count, trainable_input
from segbench.cost.footprint import Footprint, ModelCounts, Query, source_size
from segbench.cost.training import kept, train_footprint, whole_network
from segbench.families.base import ModelSpec
from segbench.families.maskrcnn.loading import resized

PROPOSALS, DETECTIONS = 1000, 100  # rpn post_nms_top_n_test, box_detections_per_img
TRAIN_ROIS, TRAIN_MASKS = 512, 128  # box_batch_size_per_image, x box_positive_fraction 0.25
CHANNELS = 256  # FPN channels
OPTIMIZER = "sgd"


def counted_size(spec: ModelSpec, q: Query) -> tuple[int, ...]:
    side = int((q.model_size or spec.default_resolution)[0])
    if q.resolution is None and side == spec.default_resolution[0]:
        return tuple(spec.default_resolution)
    return resized(spec, source_size(q), side)


counted_extra = whole_network  # the fine-tune trains every parameter


def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    import torch

    h, w = size
    heads = module.roi_heads

    def passes(x: Any, rois: int, masks: int, grad: bool) -> list[Counts]:
        def pooled(n: int, side: int) -> Any:
            return trainable_input(n, CHANNELS, side, side) if grad else torch.empty(n, CHANNELS, side, side, device="meta")

        backbone, features = count(lambda: module.backbone(x), half, grad=grad)
        rpn, _ = count(lambda: module.rpn.head(list(features.values())), half, grad=grad)
        box, _ = count(lambda: heads.box_predictor(heads.box_head(pooled(rois, 7))), half, grad=grad)
        mask, _ = count(lambda: heads.mask_predictor(heads.mask_head(pooled(masks, 14))), half, grad=grad)
        return [backbone, rpn, box, mask]

    module.eval()
    forward = passes(torch.empty(1, 3, h, w, device="meta"), PROPOSALS, DETECTIONS, False)
    module.train()
    trained = passes(trainable_input(1, 3, h, w), TRAIN_ROIS, TRAIN_MASKS, True)
    total = Counts()
    for part in forward:
        total = total + part
    return {"forward": total, "train_forward": kept(*trained)}


def footprint(q: Query, mc: ModelCounts) -> Footprint:
    h, w = mc.size
    sh, sw = source_size(q)
    if q.workload == "train":
        return train_footprint(q, mc, mc.block("train_forward", q.precision), trainable=int(mc.extra["trainable_params"]),
                               optimizer=OPTIMIZER, input_bytes=3 * sh * sw * 4.0 + 4 * sh * sw,
                               notes=[f"heads counted at {TRAIN_ROIS} sampled proposals and {TRAIN_MASKS} masks per image"])
    fwd = mc.block("forward", q.precision)
    b = q.batch_size
    # Resize and normalise on the device, then each detection's 28x28 mask pasted into a full-size image.
    pre = Counts(other_bytes=b * 3 * (sh * sw + h * w) * 4 * 2, kernels=6 * b)
    post = Counts(other_bytes=b * DETECTIONS * sh * sw * 4 * 2, kernels=b * DETECTIONS * 3)
    return Footprint(
        query=q, item_unit="image", items_per_step=b, parts={"forward": fwd.times(b), "pre": pre, "post": post},
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=b * 3 * sh * sw * 4,
        weights_bytes=mc.weights_bytes(q.precision),
        activation_bytes=fwd.peak_bytes * b + b * DETECTIONS * sh * sw * 4,
        state_bytes=0.0, host_state_bytes=0.0, params=mc.params,
        notes=[f"{q.model} runs at {w}x{h}; heads counted at {PROPOSALS} proposals and {DETECTIONS} detections per image"],
        decode_pixels=b * sh * sw, non_model_parts=("pre", "post"),
    )
