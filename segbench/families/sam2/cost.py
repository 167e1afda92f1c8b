"""What SAM 2.1 workloads cost: its blocks counted on `meta`, and per workload what runs and stays.

Blocks (batch 1, one model size): the image encoder, the prompt decoder for one click with three
masks, and one steady-state video tracking step (memory attention over 7 memory frames and 16
object pointers, mask decoder, memory encoder). Footprints follow what sam2 1.1.0's predictors
allocate: `SAM2ImagePredictor` caches the embedding and high-res features; `init_state` keeps
every frame resized to the model input in fp32 plus a bf16 memory bank per object.
"""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts, count, trainable_input
from segbench.cost.footprint import Footprint, ModelCounts, Query, source_size, upsample
from segbench.cost.training import train_footprint
from segbench.families._shared.sam_cost import counted_size, extra_cached_sizes, still_footprint  # noqa: F401 - hooks
from segbench.families.base import ModelSpec
from segbench.workload_catalog import FULL
from segbench.workloads.training import OBJECTS_PER_IMAGE

# SAM 2.1 constants from its configs and predictors (sam2 1.1.0).
MEM_DIM = 64  # memory encoder output channels
HIDDEN = 256
NUM_MASKMEM = 7
MAX_OBJ_PTRS = 16
def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    import torch

    s = int(size[0])
    dtype = torch.float32
    x = torch.empty(1, 3, s, s, device="meta")
    module.forward_image(x)  # fills sam2's position-encoding caches, as the first real image does
    encoder, backbone = count(lambda: module.forward_image(x), half)
    _, feats, pos, sizes = module._prepare_backbone_features(backbone)
    high_res = [f.permute(1, 2, 0).reshape(1, f.shape[2], *hw) for f, hw in zip(feats[:-1], sizes[:-1])]
    embedding = feats[-1].permute(1, 2, 0).reshape(1, HIDDEN, *sizes[-1])
    points = (torch.empty(1, 1, 2, device="meta", dtype=dtype), torch.ones(1, 1, dtype=torch.int32, device="meta"))

    def decode():  # SAM2ImagePredictor._predict for one point, three masks
        sparse, dense = module.sam_prompt_encoder(points=points, boxes=None, masks=None)
        return module.sam_mask_decoder(
            image_embeddings=embedding, image_pe=module.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
            multimask_output=True, repeat_image=False, high_res_features=high_res,
        )

    decoder, _ = count(decode, half)

    def decode_trained():  # the fine-tune's decoder pass: a box per object, autograd recording
        boxes = (torch.empty(OBJECTS_PER_IMAGE, 2, 2, device="meta"),
                 torch.ones(OBJECTS_PER_IMAGE, 2, dtype=torch.int32, device="meta"))
        sparse, dense = module.sam_prompt_encoder(points=boxes, boxes=None, masks=None)
        return module.sam_mask_decoder(
            image_embeddings=trainable_input(*embedding.shape), image_pe=module.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=False,
            repeat_image=True, high_res_features=[trainable_input(*f.shape) for f in high_res],
        )

    decoder_train, _ = count(decode_trained, half, grad=True)
    lowres, feat = s // 4, s // 16

    def memory() -> dict[str, Any]:
        return {
            "maskmem_features": torch.empty(1, MEM_DIM, feat, feat, device="meta", dtype=dtype),
            "maskmem_pos_enc": [torch.empty(1, MEM_DIM, feat, feat, device="meta", dtype=dtype)],
            "obj_ptr": torch.empty(1, HIDDEN, device="meta", dtype=dtype),
            "pred_masks": torch.empty(1, 1, lowres, lowres, device="meta", dtype=dtype),
            "object_score_logits": torch.empty(1, 1, device="meta", dtype=dtype),
        }

    # Steady state: the prompted frame plus enough past frames to fill the memory bank and pointers.
    history = {"cond_frame_outputs": {0: memory()},
               "non_cond_frame_outputs": {i: memory() for i in range(1, MAX_OBJ_PTRS + 8)}}
    frame = MAX_OBJ_PTRS + 8
    video_step, _ = count(lambda: module.track_step(
        frame_idx=frame, is_init_cond_frame=False, current_vision_feats=feats, current_vision_pos_embeds=pos,
        feat_sizes=sizes, point_inputs=None, mask_inputs=None, output_dict=history, num_frames=10 * frame,
    ), half)
    return {"encoder": encoder, "decoder": decoder, "video_step": video_step, "decoder_train": decoder_train}


def counted_extra(module: Any, spec: ModelSpec) -> dict[str, Any]:
    """What the fine-tune trains: the prompt encoder and the mask decoder."""
    trained = (module.sam_prompt_encoder, module.sam_mask_decoder)
    return {"trainable_params": sum(p.numel() for part in trained for p in part.parameters())}


def embedding_bytes(s: int) -> float:
    """The cached image embedding and high-res features SAM2ImagePredictor keeps per image (fp32)."""
    return (HIDDEN * (s // 16) ** 2 + 64 * (s // 8) ** 2 + 32 * (s // 4) ** 2) * 4.0


def footprint(q: Query, mc: ModelCounts) -> Footprint:
    if q.workload in ("image", "prompt", "auto"):
        return still_footprint(q, mc, embedding_bytes, "SAM 2.1")
    return {"video": _video, "volume": _volume, "train": _train}[q.workload](q, mc)


def _train(q: Query, mc: ModelCounts) -> Footprint:
    """The mask-decoder fine-tune: every image of the batch through the frozen encoder, then its boxes decoded
    with autograd, the loss at the decoder's low resolution, backward and AdamW over the decoder."""
    s = mc.size[0]
    fp = train_footprint(q, mc, mc.block("decoder_train", q.precision), trainable=int(mc.extra["trainable_params"]),
                         optimizer="adamw", frozen=mc.block("encoder", q.precision), input_bytes=3 * s * s * 4.0,
                         notes=[f"{OBJECTS_PER_IMAGE} box prompts per image; the frozen encoder runs on every image"])
    fp.state_bytes += embedding_bytes(s) * q.batch_size
    fp.host_pixels = q.batch_size * source_size(q)[0] * source_size(q)[1]  # set_image_batch's transforms
    return fp


def _video_memory(mc: ModelCounts, objects: int, frames: int, q: Query) -> tuple[float, float, float]:
    """(device state, host state, device growth per frame) of sam2's video inference state."""
    s = mc.size[0]
    frame_bytes = 3 * s * s * 4  # init_state keeps every frame resized to s x s, fp32
    per_object = MEM_DIM * (s // 16) ** 2 * 2 + (s // 4) ** 2 * 4 + HIDDEN * 4 + 8  # bf16 memory, mask, ptr
    frames_bytes = frames * frame_bytes
    bank_bytes = frames * objects * per_object
    device = (0 if q.offload_video_to_cpu else frames_bytes) + (0 if q.offload_state_to_cpu else bank_bytes)
    host = (frames_bytes if q.offload_video_to_cpu else 0) + (bank_bytes if q.offload_state_to_cpu else 0)
    growth = (0 if q.offload_video_to_cpu else frame_bytes) + (0 if q.offload_state_to_cpu else objects * per_object)
    return device, host, growth


def _video(q: Query, mc: ModelCounts, frames: int | None = None, frame_hw: tuple[int, int] | None = None,
           unit: str = "frame") -> Footprint:
    h, w = frame_hw or source_size(q)
    frames = frames or q.frames
    b = q.batch_size
    enc = mc.block("encoder", q.precision)
    step = mc.block("video_step", q.precision)
    state, host, growth = _video_memory(mc, b, frames, q)
    s = mc.size[0]
    notes = [f"{frames} {unit}s kept by init_state at {s}x{s} fp32 ({3 * s * s * 4 / 2**20:.0f} MiB each)"
             + (" in host RAM (offload_video_to_cpu)" if q.offload_video_to_cpu else " on the GPU")]
    return Footprint(
        query=q, item_unit=unit, items_per_step=1,
        parts={"encoder": enc, "tracking": step.times(b), "post": upsample(b, h, w, q.precision)},
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=b * h * w,  # masks copied out as booleans
        weights_bytes=mc.weights_bytes(q.precision), activation_bytes=max(enc.peak_bytes, step.peak_bytes * b),
        state_bytes=state + embedding_bytes(s), host_state_bytes=host + frames * 3 * h * w,
        growth_bytes_per_frame=growth, frames=frames, params=mc.params, notes=notes,
        # The pipeline reads every frame from the clip's files once (init_state decodes the folder).
        decode_pixels=h * w if unit == "frame" else 0.0, decode_voxels=h * w if unit == "slice" else 0.0,
    )


def _volume(q: Query, mc: ModelCounts) -> Footprint:
    w, h, d = q.volume or FULL.volume
    fp = _video(q, mc, frames=d, frame_hw=(h, w), unit="slice")
    fp.notes.append(f"SAM 2.1 on a volume: its {d} slices propagated as video frames")
    return fp


def host_transform() -> Any:
    """What `set_image` does to every image on the host before the encoder: SAM2Transforms at 1024
    (to tensor, resize, normalise). The calibration times it per source pixel."""
    from sam2.utils.transforms import SAM2Transforms

    return SAM2Transforms(resolution=1024, mask_threshold=0.0)
