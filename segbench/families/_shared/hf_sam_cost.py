"""What SAM-style transformers models cost (EdgeTAM, SAM 3), counted on `meta`.

The image model's vision encoder is counted on its own. The video tracker is counted by running its
real inference session on `meta` frames: a clip propagated until the memory bank is full, once with
one object and once with two; the difference is one object's tracking (memory attention, mask
decoder, memory encoder), the rest the frame's vision encoder. What the session keeps per frame and
object after that (memory features, masks, object pointers) is read off the session itself, so the
longest clip that fits follows the library's own storage, not a formula.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from segbench.cost.counting import Counts, count
from segbench.cost.footprint import Footprint, ModelCounts, Query, source_size, upsample
from segbench.families.base import ModelSpec
from segbench.families.registry import build_on_meta

STEADY = 10  # frames propagated before counting one: past every tracker's 7-frame memory bank


def counted_size(spec: ModelSpec, q: Query) -> tuple[int, int]:
    if q.model_size:
        return (int(q.model_size[0]), int(q.model_size[0]))
    return tuple(spec.default_resolution)  # type: ignore[return-value]


def _minus(a: Counts, b: Counts) -> Counts:
    """The work `a` does beyond `b` (one more object tracked); the peak is `a`'s."""
    values = {f.name: max(0.0, getattr(a, f.name) - getattr(b, f.name)) for f in fields(Counts)}
    values["peak_bytes"] = a.peak_bytes
    return Counts(**values)


def _bytes(value: Any) -> int:
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_bytes(v) for v in value)
    return 0


def _session(spec: ModelSpec, size: int, tracker: Any, objects: int, frames: int) -> Any:
    """A tracker session on `meta` frames with `objects` clicked on frame 0, the prompt decoded."""
    import torch

    from segbench.families._shared.hf_sam import video_processor

    processor = video_processor(spec.config, size)
    session = processor.init_video_session(inference_device="meta")
    for _ in range(frames):
        session.add_new_frame(torch.empty(3, size, size, device="meta"))
    points = [[[[size / 4 + 8 * i, size / 4]] for i in range(objects)]]
    processor.add_inputs_to_inference_session(session, frame_idx=0, obj_ids=list(range(1, objects + 1)),
                                              input_points=points, input_labels=[[[1]] * objects],
                                              original_size=(size, size))
    tracker(inference_session=session, frame_idx=0)
    return session


def _tracker(spec: ModelSpec, size: int) -> Any:
    tracker = build_on_meta(spec, (size, size), "video")
    tracker.requires_grad_(False)  # FlopCounterMode's module hooks trip over leaf views otherwise
    return tracker


def _steady_frame(spec: ModelSpec, size: int, tracker: Any, objects: int, half: Any) -> Counts:
    session = _session(spec, size, tracker, objects, STEADY + 2)
    frames = iter(tracker.propagate_in_video_iterator(session, start_frame_idx=0))
    for _ in range(STEADY):
        next(frames)
    counts, _ = count(lambda: next(frames), half)
    return counts


def video_blocks(spec: ModelSpec, size: int, half: Any) -> dict[str, Counts]:
    """"video_frame": a steady frame's work besides its objects (the vision encoder), "video_step": one object's."""
    tracker = _tracker(spec, size)
    one = _steady_frame(spec, size, tracker, 1, half)
    two = _steady_frame(spec, size, tracker, 2, half)
    step = _minus(two, one)
    return {"video_frame": _minus(one, step), "video_step": step}


def video_extra(spec: ModelSpec, size: int) -> dict[str, Any]:
    """The tracker's parameters, and the bytes its session keeps per frame (the frame itself) and per
    frame and object (its outputs), read off a meta session before and after one propagated frame."""
    import torch

    tracker = _tracker(spec, size)
    session = _session(spec, size, tracker, 1, STEADY + 2)
    frames = iter(tracker.propagate_in_video_iterator(session, start_frame_idx=0))
    for _ in range(STEADY):
        next(frames)
    before = _bytes(session.output_dict_per_obj)
    next(frames)
    per_object = _bytes(session.output_dict_per_obj) - before
    frame = 3 * size * size * torch.finfo(torch.float32).bits // 8  # the processed frame the session stores
    return {"tracker_params": sum(p.numel() for p in tracker.parameters()), "frame_bytes": frame,
            "state_bytes_per_object_frame": per_object, "num_maskmem": int(tracker.config.num_maskmem)}


def encoder_block(module: Any, spec: ModelSpec, size: int, half: Any) -> tuple[Counts, int]:
    """(the vision encoder's counts, bytes of the features it returns: what a predictor caches per image)."""
    import torch

    x = torch.empty(1, 3, size, size, device="meta")
    encode = getattr(module, spec.config["encode"])
    counts, out = count(lambda: encode(pixel_values=x), half)
    return counts, _bytes(out)


def image_footprint(q: Query, mc: ModelCounts, unit: str = "image") -> Footprint:
    s = mc.size[0]
    h, w = source_size(q)
    b = q.batch_size
    enc = mc.block("encoder", q.precision)
    return Footprint(
        query=q, item_unit=unit, items_per_step=b, parts={"encoder": enc.times(b)},
        host_pixels=b * h * w, host_mask_pixels=0.0, transfer_bytes=b * 3 * s * s * 4,
        weights_bytes=mc.weights_bytes(q.precision), activation_bytes=enc.peak_bytes * b,
        state_bytes=float(mc.extra["embedding_bytes"]) * b, host_state_bytes=0.0, params=mc.params,
        notes=[f"{q.model} resizes every image to {s}x{s}; the source size only changes pre-processing"],
        decode_pixels=b * h * w,
    )


def video_footprint(q: Query, mc: ModelCounts) -> Footprint:
    """One steady frame: the vision encoder, every object's tracking, masks upsampled to the clip size; the
    session keeps every frame (fp32, at the model's size) and every frame's outputs per object."""
    s = mc.size[0]
    h, w = source_size(q)
    b, frames = q.batch_size, q.frames
    base, step = mc.block("video_frame", q.precision), mc.block("video_step", q.precision)
    frame_bytes = float(mc.extra["frame_bytes"])
    per_object = float(mc.extra["state_bytes_per_object_frame"]) * b
    on_device = (0.0 if q.offload_video_to_cpu else frame_bytes) + (0.0 if q.offload_state_to_cpu else per_object)
    on_host = (frame_bytes if q.offload_video_to_cpu else 0.0) + (per_object if q.offload_state_to_cpu else 0.0)
    params = int(mc.extra["tracker_params"])
    weights = mc.weights_bytes(q.precision) * params / max(1, mc.params)
    notes = [f"the session keeps all {frames} frames at {s}x{s} fp32 ({frame_bytes / 2**20:.0f} MiB each)"
             + (" in host RAM (offload video)" if q.offload_video_to_cpu else " on the device")
             + f" and {per_object / 2**20:.2f} MiB of outputs per frame for {b} object(s): memory grows with the clip"]
    return Footprint(
        query=q, item_unit="frame", items_per_step=1,
        parts={"encoder": base, "tracking": step.times(b), "post": upsample(b, h, w, q.precision)},
        host_pixels=h * w, host_mask_pixels=0.0, transfer_bytes=b * h * w,
        weights_bytes=weights, activation_bytes=max(base.peak_bytes, step.peak_bytes * b),
        state_bytes=frames * on_device, host_state_bytes=frames * (on_host + 3 * h * w),
        growth_bytes_per_frame=on_device, frames=frames, params=params, notes=notes, decode_pixels=h * w,
    )
