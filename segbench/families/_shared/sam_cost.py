"""What the SAM-style still-image workloads cost (image, prompt, automatic masks), built over a
family's counted `encoder` and `decoder` blocks. SAM 2.1 and SAM 1 differ only in what their
predictor caches per image (`embedding_bytes`) and in their name in the notes."""

from __future__ import annotations

import math
from collections.abc import Callable

from segbench.cost.counting import Counts
from segbench.cost.footprint import Footprint, ModelCounts, Query, source_size, upsample
from segbench.families.base import ModelSpec

# Automatic mask generation: masks that survive the IoU/stability filters before NMS, per image,
# on a cluttered scene with a trained SAM 2.1 (sam2 defaults, 32 x 32 grid). An assumption:
# post-processing cost scales with it.
AUTO_KEPT_MASKS = 150


def extra_cached_sizes(spec: ModelSpec) -> list[tuple[int, int]]:
    """512 px beside the published 1024: a size users pick to go faster, and one with a published timing."""
    return [(512, 512)]


def counted_size(spec: ModelSpec, q: Query) -> tuple[int, int]:
    """A square model input: the query's model size, else the published one."""
    if q.model_size:
        return (int(q.model_size[0]), int(q.model_size[0]))
    return tuple(spec.default_resolution)  # type: ignore[return-value]


def still_footprint(q: Query, mc: ModelCounts, embedding_bytes: Callable[[int], float], title: str) -> Footprint:
    """The footprint of an image, prompt or auto step; `embedding_bytes(size)` is what the family's
    predictor keeps per image."""
    return {"image": image, "prompt": prompt, "auto": auto}[q.workload](q, mc, embedding_bytes, title)


def image(q: Query, mc: ModelCounts, embedding_bytes: Callable[[int], float], title: str) -> Footprint:
    s = mc.size[0]
    h, w = source_size(q)
    b = q.batch_size
    enc = mc.block("encoder", q.precision)
    parts = {"encoder": enc.times(b)}
    notes = [f"{title} resizes every image to {s}x{s}; the source size only changes pre-processing"]
    if q.with_prompt:
        parts["decoder"] = mc.block("decoder", q.precision).times(b) + upsample(3 * b, h, w, q.precision)
        notes.append("includes decoding one click per image")
    return Footprint(
        query=q, item_unit="image", items_per_step=b, parts=parts,
        host_pixels=b * h * w, host_mask_pixels=0.0,
        transfer_bytes=b * 3 * s * s * 4,  # the normalised fp32 image goes to the device
        weights_bytes=mc.weights_bytes(q.precision), activation_bytes=enc.peak_bytes * b,
        state_bytes=embedding_bytes(s) * b, host_state_bytes=0.0, params=mc.params, notes=notes,
        decode_pixels=b * h * w,
    )


def prompt(q: Query, mc: ModelCounts, embedding_bytes: Callable[[int], float], title: str) -> Footprint:
    h, w = source_size(q)
    dec = mc.block("decoder", q.precision)
    b = q.batch_size
    # predict(point, 3 masks) then predict(box, 1 mask), each for b objects, upsampled and copied out.
    parts = {"decoder": dec.times(b) + dec.times(b),
             "post": upsample(3 * b, h, w, q.precision) + upsample(b, h, w, q.precision)}
    return Footprint(
        query=q, item_unit="prompt", items_per_step=2 * b, parts=parts,
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=4 * b * h * w * 4,
        weights_bytes=mc.weights_bytes(q.precision),
        activation_bytes=max(dec.peak_bytes * b, 3 * b * h * w * 4.0),
        state_bytes=embedding_bytes(mc.size[0]), host_state_bytes=0.0, params=mc.params,
        notes=["prompts decode against a cached image embedding: the encoder runs once per image (workload 'image')"],
    )


def auto(q: Query, mc: ModelCounts, embedding_bytes: Callable[[int], float], title: str) -> Footprint:
    h, w = source_size(q)
    enc = mc.block("encoder", q.precision)
    dec = mc.block("decoder", q.precision)
    points = q.points_per_side ** 2
    per_batch_points = min(q.points_per_batch, points)
    batches = math.ceil(points / per_batch_points)
    per_batch = dec.times(per_batch_points) + upsample(3 * per_batch_points, h, w, q.precision)
    # Thresholding, stability scores and box extraction pass over the upsampled masks a few times.
    filters = Counts(other_bytes=3 * per_batch_points * h * w * 4 * 4, kernels=40)
    kept = q.kept_masks if q.kept_masks is not None else min(AUTO_KEPT_MASKS, 3 * points)
    return Footprint(
        query=q, item_unit="image", items_per_step=1,
        parts={"encoder": enc, "decoder": (per_batch + filters).times(batches, batched=False)},
        host_pixels=h * w, host_mask_pixels=kept * h * w, transfer_bytes=kept * h * w / 8,
        weights_bytes=mc.weights_bytes(q.precision),
        # The upsampled masks plus their thresholded copies; the memory model's activation factor
        # (fitted to encoders) supplies the rest, so this analytic part is not inflated further here.
        activation_bytes=max(enc.peak_bytes, per_batch.peak_bytes * 1.25),
        state_bytes=embedding_bytes(mc.size[0]), host_state_bytes=kept * h * w, params=mc.params,
        decode_pixels=h * w,
        notes=[(f"automatic masks: {points} grid points in {batches} decoder batch(es) of {per_batch_points}; "
                f"post-processing assumes ~{kept} masks pass the filters")],
    )
