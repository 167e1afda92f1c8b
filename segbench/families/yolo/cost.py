"""What YOLO-seg costs: its network counted on `meta` at the input size, for inference (no autograd)
and for a training forward (autograd keeps its activations). Counted in train mode: the eval head's box
decoding asks for data-dependent values `meta` cannot give, and it is a sliver of the work."""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts, count, trainable_input
from segbench.cost.footprint import Footprint, ModelCounts, Query, source_size
from segbench.cost.training import train_footprint, whole_network
from segbench.families.base import ModelSpec

# Post-processing per image: detections kept after NMS whose masks are assembled at the input size.
# An assumption for a trained model on a photo of a narrow domain; random weights keep almost none.
KEPT_DETECTIONS = 20
OPTIMIZER = "adamw"


STRIDE = 32  # YOLO's largest stride: letterboxed sides are padded to a multiple of it


def counted_size(spec: ModelSpec, q: Query) -> tuple[int, ...]:
    """The network input: training runs square crops; `predict` letterboxes each source image to the
    smallest stride-32 rectangle that holds it at `imgsz` (a 768x1024 photo runs at 480x640, not 640x640)."""
    h, w = q.model_size or spec.default_resolution
    if q.workload == "train":
        return (h, w)
    sh, sw = source_size(q)
    side = max(h, w)
    scale = min(side / sh, side / sw)
    return tuple(min(side, -(-round(n * scale) // STRIDE) * STRIDE) for n in (sh, sw))


def extra_cached_sizes(spec: ModelSpec) -> list[tuple[int, ...]]:
    """What `predict` runs a default-sized photo at, so the common query needs no counting."""
    return [counted_size(spec, Query(spec.name, "image"))]


counted_extra = whole_network  # the fine-tune trains every parameter


def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    import torch

    module.train()
    h, w = size
    forward, _ = count(lambda: module(torch.empty(1, 3, h, w, device="meta")), half)
    trained, _ = count(lambda: module(trainable_input(1, 3, h, w)), half, grad=True)
    return {"forward": forward, "train_forward": trained}


def footprint(q: Query, mc: ModelCounts) -> Footprint:
    h, w = mc.size
    if q.workload == "train":
        return train_footprint(q, mc, mc.block("train_forward", q.precision), trainable=int(mc.extra["trainable_params"]),
                               optimizer=OPTIMIZER, input_bytes=3 * h * w * 4.0)
    fwd = mc.block("forward", q.precision)
    b = q.batch_size
    sh, sw = source_size(q)
    # NMS over the candidate boxes, then each kept mask: prototypes x coefficients, cropped, upsampled.
    post = Counts(flops=b * KEPT_DETECTIONS * 32 * (h // 4) * (w // 4) * 2,
                  other_bytes=b * KEPT_DETECTIONS * (h * w * 4 * 3), kernels=40)
    return Footprint(
        query=q, item_unit="image", items_per_step=b, parts={"forward": fwd.times(b), "post": post},
        host_pixels=b * sh * sw, host_mask_pixels=0.0, transfer_bytes=b * 3 * h * w * 4,
        weights_bytes=mc.weights_bytes(q.precision), activation_bytes=fwd.peak_bytes * b,
        state_bytes=0.0, host_state_bytes=0.0, params=mc.params,
        notes=[f"{q.model} letterboxes images to {w}x{h}; post-processing assumes {KEPT_DETECTIONS} kept detections"],
        decode_pixels=b * sh * sw,
    )
