"""What a model workload costs: FLOPs, bytes moved, kernel launches and peak memory.

Two layers:

1. Per model, the cost of its building blocks at one model size and batch 1, counted from the
   real architecture on the `meta` device (`metacount.count`): SAM 2.1's image encoder, its
   prompt decoder and one steady-state video tracking step (memory attention over 7 memory
   frames and 16 object pointers, mask decoder, memory encoder); Mask2Former's forward pass;
   a MONAI network on one sliding window. Counted once per fp32 and once with bf16 weights and
   inputs (the half-precision case), and cached in `profiles/footprints.yaml` because building
   SAM 2.1 large takes seconds and a gigabyte (`python -m segbench.advisor.footprint --write`).
2. Per workload, a `Footprint` assembled from those blocks: how many of each run per step and
   what stays resident (weights, the video frames and memory bank, the sliding-window
   aggregation buffers), following what sam2's predictors and MONAI's `sliding_window_inference`
   allocate.

Half precision is counted as under `torch.autocast` (see metacount): weights stay fp32 and
autocast keeps a half copy of each weight for the duration of the autocast region, so half
precision costs 6 bytes per parameter, not 2.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import math
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segbench.advisor.metacount import Counts
from segbench.advisor.profile_yaml import default_path, read_yaml
from segbench.errors import InputError
from segbench.models.registry import MODELS, get_spec
from segbench.workloads.images import DEFAULT_SOURCE_SIZE
from segbench.workloads.registry import WORKLOADS

CACHE_FILE = "footprints.yaml"
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
COUNTED = ("fp32", "half")  # fp32/tf32 use the fp32 counts; fp16/bf16 the half ones

# SAM 2.1 constants from its configs and predictors (sam2 1.1.0).
SAM_MEM_DIM = 64  # memory encoder output channels
SAM_HIDDEN = 256
SAM_NUM_MASKMEM = 7
SAM_MAX_OBJ_PTRS = 16
SAM_LOWRES = 256  # low-res mask side (image_size / 4)
MONAI_OUT_CHANNELS_DEFAULT = 14

# What `check` assumes when the user does not say.
DEFAULT_FRAMES = 300  # a 10 s clip at 30 fps
DEFAULT_VOLUME = (512, 512, 200)  # (w, h, d), a typical abdominal CT
DEFAULT_OVERLAP = 0.25
DEFAULT_POINTS_PER_SIDE = 32
DEFAULT_POINTS_PER_BATCH = 64
# Automatic mask generation: masks that survive the IoU/stability filters before NMS, per image,
# on a cluttered scene with a trained SAM 2.1 (sam2 defaults, 32 x 32 grid). An assumption:
# post-processing cost scales with it.
AUTO_KEPT_MASKS = 150


def _half(precision: str) -> bool:
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision '{precision}'; use fp32, fp16 or bf16")
    return precision in ("fp16", "bf16")


def _size_key(size: tuple[int, ...]) -> str:
    return "x".join(str(int(s)) for s in size)


# ------------------------------------------------------------------------------ per model counts


@dataclass
class ModelCounts:
    """The counted building blocks of one model at one model size (batch 1)."""

    model: str
    size: tuple[int, ...]  # (h, w) for 2D models, (w, h, d) roi for 3D ones
    params: int
    buffer_bytes: int
    blocks: dict[str, dict[str, Counts]]  # "fp32"/"half" -> block name -> Counts
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. out_channels of a 3D net

    def block(self, name: str, precision: str) -> Counts:
        table = self.blocks["half" if _half(precision) else "fp32"]
        if name not in table:
            raise InputError(f"{self.model}: no counted '{name}' block (have: {', '.join(table)})")
        return table[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "buffer_bytes": self.buffer_bytes,
            "extra": dict(self.extra),
            "blocks": {p: {b: c.to_dict() for b, c in t.items()} for p, t in self.blocks.items()},
        }

    @classmethod
    def from_dict(cls, model: str, size: tuple[int, ...], data: dict[str, Any]) -> ModelCounts:
        return cls(
            model=model,
            size=size,
            params=int(data["params"]),
            buffer_bytes=int(data.get("buffer_bytes", 0)),
            blocks={p: {b: Counts.from_dict(c) for b, c in t.items()} for p, t in data["blocks"].items()},
            extra=dict(data.get("extra") or {}),
        )


def _meta_model(name: str, size: tuple[int, ...], purpose: str = "image"):
    from segbench.models.registry import build_on_meta

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = build_on_meta(name, size, purpose)
    return module.requires_grad_(False)  # FlopCounterMode's module hooks trip over leaf views otherwise


def _sam_blocks(module, size: tuple[int, ...], half) -> dict[str, Counts]:
    import torch

    from segbench.advisor.metacount import count

    s = int(size[0])
    dtype = torch.float32
    x = torch.empty(1, 3, s, s, device="meta")
    module.forward_image(x)  # fills sam2's position-encoding caches, as the first real image does
    encoder, backbone = count(lambda: module.forward_image(x), half)
    _, feats, pos, sizes = module._prepare_backbone_features(backbone)
    high_res = [f.permute(1, 2, 0).reshape(1, f.shape[2], *hw) for f, hw in zip(feats[:-1], sizes[:-1])]
    embedding = feats[-1].permute(1, 2, 0).reshape(1, SAM_HIDDEN, *sizes[-1])
    points = (torch.empty(1, 1, 2, device="meta", dtype=dtype), torch.ones(1, 1, dtype=torch.int32, device="meta"))

    def decode():  # SAM2ImagePredictor._predict for one point, three masks
        sparse, dense = module.sam_prompt_encoder(points=points, boxes=None, masks=None)
        return module.sam_mask_decoder(
            image_embeddings=embedding, image_pe=module.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
            multimask_output=True, repeat_image=False, high_res_features=high_res,
        )

    decoder, _ = count(decode, half)

    lowres = s // 4
    feat = s // 16

    def memory(frame: int) -> dict[str, Any]:
        return {
            "maskmem_features": torch.empty(1, SAM_MEM_DIM, feat, feat, device="meta", dtype=dtype),
            "maskmem_pos_enc": [torch.empty(1, SAM_MEM_DIM, feat, feat, device="meta", dtype=dtype)],
            "obj_ptr": torch.empty(1, SAM_HIDDEN, device="meta", dtype=dtype),
            "pred_masks": torch.empty(1, 1, lowres, lowres, device="meta", dtype=dtype),
            "object_score_logits": torch.empty(1, 1, device="meta", dtype=dtype),
        }

    # Steady state: the prompted frame plus enough past frames to fill the memory bank and pointers.
    history = {"cond_frame_outputs": {0: memory(0)},
               "non_cond_frame_outputs": {i: memory(i) for i in range(1, SAM_MAX_OBJ_PTRS + 8)}}
    frame = SAM_MAX_OBJ_PTRS + 8
    video_step, _ = count(lambda: module.track_step(
        frame_idx=frame, is_init_cond_frame=False, current_vision_feats=feats, current_vision_pos_embeds=pos,
        feat_sizes=sizes, point_inputs=None, mask_inputs=None, output_dict=history, num_frames=10 * frame,
    ), half)
    return {"encoder": encoder, "decoder": decoder, "video_step": video_step}


def _forward_block(module, size: tuple[int, ...], half, family: str) -> dict[str, Counts]:
    import torch

    from segbench.advisor.metacount import count

    if family == "mask2former":
        x = torch.empty(1, 3, *size, device="meta")
        counts, _ = count(lambda: module(pixel_values=x), half)
        return {"forward": counts}
    w, h, d = size  # the roi as users write it; arrays are (D, H, W)
    x = torch.empty(1, 1, d, h, w, device="meta")
    counts, _ = count(lambda: module(x), half)
    return {"window": counts}


def count_model(name: str, size: tuple[int, ...] | None = None) -> ModelCounts:
    """Count a registered model's building blocks from its real architecture on `meta` (seconds)."""
    import torch

    spec = get_spec(name)
    size = tuple(int(s) for s in (size or spec.default_resolution))
    module = _meta_model(spec.name, size)
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() * b.element_size() for b in module.buffers())
    blocks: dict[str, dict[str, Counts]] = {}
    for key, half in (("fp32", None), ("half", torch.bfloat16)):
        if spec.family == "sam2":
            blocks[key] = _sam_blocks(module, size, half)
        else:
            blocks[key] = _forward_block(module, size, half, spec.family)
    extra = {}
    if spec.family == "monai":
        extra["out_channels"] = int(spec.config.get("out_channels", MONAI_OUT_CHANNELS_DEFAULT))
    return ModelCounts(spec.name, size, params, buffers, blocks, extra)


# ------------------------------------------------------------------------------ the cache

# What `--write` counts: every registered model at its published size, SAM 2.1 also at 512 px
# (a size users pick to go faster, and one with a published timing).
CACHED_SIZES: dict[str, list[tuple[int, ...]]] = {name: [spec.default_resolution] for name, spec in MODELS.items()}
for _name, _spec in MODELS.items():
    if _spec.family == "sam2":
        CACHED_SIZES[_name] = [(1024, 1024), (512, 512)]

_memo: dict[tuple[str, tuple[int, ...]], ModelCounts] = {}
_cache_loaded: dict[str, dict[tuple[str, tuple[int, ...]], ModelCounts]] = {}


def cache_path() -> Path:
    return default_path(CACHE_FILE)


def load_cache(path: Path | None = None) -> dict[tuple[str, tuple[int, ...]], ModelCounts]:
    """{(model, size): ModelCounts} from the cache file; an absent file is an empty cache."""
    path = Path(path) if path else cache_path()
    key = str(path)
    if key in _cache_loaded:
        return _cache_loaded[key]
    out: dict[tuple[str, tuple[int, ...]], ModelCounts] = {}
    if path.exists():
        data = read_yaml(path) or {}
        if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
            raise InputError(f"{path}: expected a 'models:' mapping; regenerate it with "
                             "python -m segbench.advisor.footprint --write")
        for model, sizes in data["models"].items():
            for size_text, entry in (sizes or {}).items():
                try:
                    size = tuple(int(v) for v in str(size_text).split("x"))
                    out[(str(model), size)] = ModelCounts.from_dict(str(model), size, entry)
                except (KeyError, TypeError, ValueError) as exc:
                    raise InputError(f"{path}: models: {model}: {size_text}: malformed entry ({exc}); "
                                     "regenerate it with python -m segbench.advisor.footprint --write") from None
    _cache_loaded[key] = out
    return out


def model_counts(name: str, size: tuple[int, ...] | None = None) -> ModelCounts:
    """The cached counts where present, else counted now (and kept for this process)."""
    spec = get_spec(name)
    size = tuple(int(s) for s in (size or spec.default_resolution))
    cached = load_cache().get((spec.name, size))
    if cached is not None:
        return cached
    if (spec.name, size) not in _memo:
        _memo[(spec.name, size)] = count_model(spec.name, size)
    return _memo[(spec.name, size)]


def write_cache(path: Path | None = None, models: list[str] | None = None, log=print) -> Path:
    """Count every model at its cached sizes and write the YAML cache atomically."""
    import yaml

    from segbench.records.atomic import atomic_write_text

    path = Path(path) if path else cache_path()
    table: dict[str, dict[str, Any]] = {}
    for name in models or list(MODELS):
        for size in CACHED_SIZES[name]:
            try:
                counts = count_model(name, size)
            except Exception as exc:  # noqa: BLE001 - a family whose adapter breaks must not block the others
                log(f"skipped {name} at {_size_key(size)}: {type(exc).__name__}: {exc}")
                continue
            table.setdefault(name, {})[_size_key(size)] = counts.to_dict()
            log(f"counted {name} at {_size_key(size)}: {counts.params / 1e6:.1f} M params")
    versions = {}
    for pkg in ("torch", "sam2", "transformers", "monai"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    header = (
        "# Counted FLOPs, bytes moved, kernels and activation peaks per model building block, batch 1.\n"
        "# Generated by `python -m segbench.advisor.footprint --write` from the real architectures on\n"
        "# torch's meta device (no weights, no compute); do not edit by hand.\n"
        "# Units: flops (multiply-add = 2), bytes, kernels (non-view aten ops). 'half' = bf16/fp16.\n"
    )
    body = yaml.safe_dump({"generated": _dt.date.today().isoformat(), "versions": versions, "models": table},
                          sort_keys=True, width=120)
    atomic_write_text(path, header + body)
    _cache_loaded.pop(str(path), None)
    return path


# ------------------------------------------------------------------------------ workloads


@dataclass(frozen=True)
class Query:
    """One configuration to predict: what `check` asks about."""

    model: str
    workload: str
    precision: str = "fp32"
    batch_size: int = 1  # images per batch; objects for video; windows per forward for volume
    resolution: tuple[int, int] | None = None  # (h, w) of source images / video frames
    model_size: tuple[int, ...] | None = None  # None: the model's published size
    frames: int = DEFAULT_FRAMES  # video clip length
    volume: tuple[int, int, int] | None = None  # (w, h, d)
    roi: tuple[int, int, int] | None = None  # (w, h, d); None: the model's
    overlap: float = DEFAULT_OVERLAP
    aggregate_on: str = "device"  # volume: "device" or "cpu"
    points_per_side: int = DEFAULT_POINTS_PER_SIDE
    points_per_batch: int = DEFAULT_POINTS_PER_BATCH
    offload_video_to_cpu: bool = False
    offload_state_to_cpu: bool = False
    with_prompt: bool = False  # image: also decode one click per image (what "SAM on images" papers time)
    kept_masks: int | None = None  # auto: masks that pass the filters; None: AUTO_KEPT_MASKS


@dataclass
class Footprint:
    """The cost of one step of a workload and the memory it holds."""

    query: Query
    item_unit: str  # image | prompt | frame | slice | volume
    items_per_step: int
    parts: dict[str, Counts]  # device work per step by stage ("encoder", "tracking", "post", ...)
    host_pixels: float  # source pixels converted/resized on the host per step (sam2 transforms)
    host_mask_pixels: float  # mask pixels post-processed on the host per step (auto: RLE, NMS)
    transfer_bytes: float  # host <-> device copies per step
    weights_bytes: float
    activation_bytes: float  # transient peak of one step
    state_bytes: float  # resident on the device besides weights (frames, memory bank, buffers)
    host_state_bytes: float  # resident in host RAM because of offloading / CPU aggregation
    growth_bytes_per_frame: float = 0.0  # video: device memory added per frame
    frames: int = 0  # video: frames (or slices) held in the inference state
    params: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def device(self) -> Counts:
        total = Counts()
        for part in self.parts.values():
            total = total + part
        return total

    @property
    def peak_bytes(self) -> float:
        return self.weights_bytes + self.activation_bytes + self.state_bytes


def _weights(counts: ModelCounts, precision: str) -> float:
    # fp32 master weights; under autocast also a cached half copy of each weight.
    return counts.params * (6 if _half(precision) else 4) + counts.buffer_bytes


def _elem(precision: str) -> int:
    return 2 if _half(precision) else 4


def footprint(q: Query) -> Footprint:
    """The footprint of one step of `q` (see the module docstring for what each workload holds)."""
    spec = get_spec(q.model)
    if q.workload not in WORKLOADS:
        raise InputError(f"unknown workload '{q.workload}' (known: {', '.join(WORKLOADS)})")
    if q.workload not in spec.workloads:
        raise InputError(f"{spec.name} does not support the '{q.workload}' workload "
                         f"(it supports: {', '.join(spec.workloads)})")
    if q.batch_size < 1:
        raise InputError(f"batch size must be 1 or more, got {q.batch_size}")
    _half(q.precision)
    if spec.family == "sam2":
        builder = {"image": _sam_image, "prompt": _sam_prompt, "auto": _sam_auto, "video": _sam_video,
                   "volume": _sam_volume}[q.workload]
    elif spec.family == "mask2former":
        builder = _m2f_image
    else:
        builder = _monai_volume
    return builder(q)


def _source(q: Query) -> tuple[int, int]:
    return tuple(q.resolution) if q.resolution else DEFAULT_SOURCE_SIZE  # type: ignore[return-value]


def _sam_size(q: Query) -> tuple[int, int]:
    if q.model_size:
        return (int(q.model_size[0]), int(q.model_size[0]))
    return tuple(get_spec(q.model).default_resolution)  # type: ignore[return-value]


def _embedding_bytes(s: int) -> float:
    """The cached image embedding and high-res features SAM2ImagePredictor keeps per image (fp32)."""
    return (SAM_HIDDEN * (s // 16) ** 2 + 64 * (s // 8) ** 2 + 32 * (s // 4) ** 2) * 4.0


def _upsample(masks: float, h: int, w: int, precision: str) -> Counts:
    """Bilinear upsampling of low-res mask logits to the source size (sam2 postprocess_masks)."""
    return Counts(other_bytes=masks * h * w * _elem(precision) * 1.25, kernels=1, peak_bytes=masks * h * w * 4)


def _sam_image(q: Query) -> Footprint:
    mc = model_counts(q.model, _sam_size(q))
    s = mc.size[0]
    h, w = _source(q)
    b = q.batch_size
    enc = mc.block("encoder", q.precision)
    parts = {"encoder": enc.times(b)}
    notes = [f"SAM 2.1 resizes every image to {s}x{s}; the source size only changes pre-processing"]
    if q.with_prompt:
        parts["decoder"] = mc.block("decoder", q.precision).times(b) + _upsample(3 * b, h, w, q.precision)
        notes.append("includes decoding one click per image")
    return Footprint(
        query=q, item_unit="image", items_per_step=b, parts=parts,
        host_pixels=b * h * w, host_mask_pixels=0.0,
        transfer_bytes=b * 3 * s * s * 4,  # the normalised fp32 image goes to the device
        weights_bytes=_weights(mc, q.precision), activation_bytes=enc.peak_bytes * b,
        state_bytes=_embedding_bytes(s) * b, host_state_bytes=0.0, params=mc.params, notes=notes,
    )


def _sam_prompt(q: Query) -> Footprint:
    mc = model_counts(q.model, _sam_size(q))
    h, w = _source(q)
    dec = mc.block("decoder", q.precision)
    b = q.batch_size
    # predict(point, 3 masks) then predict(box, 1 mask), each for b objects, upsampled and copied out.
    parts = {"decoder": dec.times(b) + dec.times(b),
             "post": _upsample(3 * b, h, w, q.precision) + _upsample(b, h, w, q.precision)}
    return Footprint(
        query=q, item_unit="prompt", items_per_step=2 * b, parts=parts,
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=4 * b * h * w * 4,
        weights_bytes=_weights(mc, q.precision),
        activation_bytes=max(dec.peak_bytes * b, 3 * b * h * w * 4.0),
        state_bytes=_embedding_bytes(mc.size[0]), host_state_bytes=0.0, params=mc.params,
        notes=["prompts decode against a cached image embedding: the encoder runs once per image (workload 'image')"],
    )


def _sam_auto(q: Query) -> Footprint:
    mc = model_counts(q.model, _sam_size(q))
    h, w = _source(q)
    enc = mc.block("encoder", q.precision)
    dec = mc.block("decoder", q.precision)
    points = q.points_per_side ** 2
    per_batch_points = min(q.points_per_batch, points)
    batches = math.ceil(points / per_batch_points)
    per_batch = dec.times(per_batch_points) + _upsample(3 * per_batch_points, h, w, q.precision)
    # Thresholding, stability scores and box extraction pass over the upsampled masks a few times.
    filters = Counts(other_bytes=3 * per_batch_points * h * w * 4 * 4, kernels=40)
    kept = q.kept_masks if q.kept_masks is not None else min(AUTO_KEPT_MASKS, 3 * points)
    return Footprint(
        query=q, item_unit="image", items_per_step=1,
        parts={"encoder": enc, "decoder": (per_batch + filters).times(batches, batched=False)},
        host_pixels=h * w, host_mask_pixels=kept * h * w, transfer_bytes=kept * h * w / 8,
        weights_bytes=_weights(mc, q.precision),
        # The upsampled masks plus their thresholded copies; the memory model's activation factor
        # (fitted to encoders) supplies the rest, so this analytic part is not inflated further here.
        activation_bytes=max(enc.peak_bytes, per_batch.peak_bytes * 1.25),
        state_bytes=_embedding_bytes(mc.size[0]), host_state_bytes=kept * h * w, params=mc.params,
        notes=[(f"automatic masks: {points} grid points in {batches} decoder batch(es) of {per_batch_points}; "
                f"post-processing assumes ~{kept} masks pass the filters")],
    )


def _video_memory(mc: ModelCounts, objects: int, frames: int, q: Query) -> tuple[float, float, float]:
    """(device state, host state, device growth per frame) of sam2's video inference state."""
    s = mc.size[0]
    frame_bytes = 3 * s * s * 4  # init_state keeps every frame resized to s x s, fp32
    per_object = SAM_MEM_DIM * (s // 16) ** 2 * 2 + (s // 4) ** 2 * 4 + SAM_HIDDEN * 4 + 8  # bf16 memory, mask, ptr
    frames_bytes = frames * frame_bytes
    bank_bytes = frames * objects * per_object
    device = (0 if q.offload_video_to_cpu else frames_bytes) + (0 if q.offload_state_to_cpu else bank_bytes)
    host = (frames_bytes if q.offload_video_to_cpu else 0) + (bank_bytes if q.offload_state_to_cpu else 0)
    growth = (0 if q.offload_video_to_cpu else frame_bytes) + (0 if q.offload_state_to_cpu else objects * per_object)
    return device, host, growth


def _sam_video(q: Query, frames: int | None = None, frame_hw: tuple[int, int] | None = None,
               unit: str = "frame") -> Footprint:
    mc = model_counts(q.model, _sam_size(q))
    h, w = frame_hw or (tuple(q.resolution) if q.resolution else (1080, 1920))
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
        parts={"encoder": enc, "tracking": step.times(b), "post": _upsample(b, h, w, q.precision)},
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=b * h * w,  # masks copied out as booleans
        weights_bytes=_weights(mc, q.precision), activation_bytes=max(enc.peak_bytes, step.peak_bytes * b),
        state_bytes=state + _embedding_bytes(s), host_state_bytes=host + frames * 3 * h * w,
        growth_bytes_per_frame=growth, frames=frames, params=mc.params, notes=notes,
    )


def _sam_volume(q: Query) -> Footprint:
    w, h, d = q.volume or DEFAULT_VOLUME
    fp = _sam_video(q, frames=d, frame_hw=(h, w), unit="slice")
    fp.notes.append(f"SAM 2.1 on a volume: its {d} slices propagated as video frames")
    return fp


def _m2f_image(q: Query) -> Footprint:
    spec = get_spec(q.model)
    size = tuple(q.model_size or spec.default_resolution)
    mc = model_counts(q.model, size)
    fwd = mc.block("forward", q.precision)
    h, w = size
    b = q.batch_size
    return Footprint(
        query=q, item_unit="image", items_per_step=b, parts={"forward": fwd.times(b)},
        host_pixels=b * h * w, host_mask_pixels=0.0, transfer_bytes=b * 3 * h * w * 4,
        weights_bytes=_weights(mc, q.precision), activation_bytes=fwd.peak_bytes * b,
        state_bytes=0.0, host_state_bytes=0.0, params=mc.params,
        notes=[f"{spec.name} runs at {w}x{h}; images are resized to it"],
    )


def windows(volume: tuple[int, int, int], roi: tuple[int, int, int], overlap: float) -> int:
    """How many windows MONAI's sliding_window_inference visits over a (w, h, d) volume."""
    from segbench.workloads.volume import count_windows

    return count_windows(tuple(reversed(volume)), tuple(reversed(roi)), overlap)


def _monai_volume(q: Query) -> Footprint:
    spec = get_spec(q.model)
    roi = tuple(q.roi or q.model_size or spec.default_resolution)
    mc = model_counts(q.model, roi)
    volume = tuple(q.volume or DEFAULT_VOLUME)
    n = windows(volume, roi, q.overlap)  # type: ignore[arg-type]
    b = min(q.batch_size, n)
    forwards = math.ceil(n / b)
    win = mc.block("window", q.precision)
    out_ch = int(mc.extra.get("out_channels", MONAI_OUT_CHANNELS_DEFAULT))
    voxels = float(volume[0] * volume[1] * volume[2])
    roi_vox = float(roi[0] * roi[1] * roi[2])
    # Each window's output is weighted and added into the output and count buffers (fp32, as the input).
    aggregate = Counts(other_bytes=n * (out_ch + 1) * roi_vox * 4 * 3, kernels=4 * n)
    buffers = (out_ch + 1) * voxels * 4
    on_cpu = q.aggregate_on == "cpu"
    transfer = voxels * 4 + (n * out_ch * roi_vox * 4 if on_cpu else buffers)
    notes = [f"{n} windows of {roi[0]}x{roi[1]}x{roi[2]} ({q.overlap:.0%} overlap), {b} per forward",
             f"aggregation buffers ({out_ch} classes + count map, fp32): {buffers / 2**30:.2f} GiB "
             + ("in host RAM (--aggregate-on cpu)" if on_cpu else "on the GPU")]
    return Footprint(
        query=q, item_unit="volume", items_per_step=1,
        parts={"network": win.times(b).times(forwards, batched=False), "aggregate": aggregate},
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=transfer,
        weights_bytes=_weights(mc, q.precision), activation_bytes=win.peak_bytes * b + roi_vox * 4 * b,
        state_bytes=voxels * 4 + (0 if on_cpu else buffers), host_state_bytes=voxels * 4 + (buffers if on_cpu else 0),
        params=mc.params, notes=notes,
    )


# ------------------------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segbench.advisor.footprint",
                                     description="Count model building blocks on the meta device.")
    parser.add_argument("--write", action="store_true", help=f"regenerate profiles/{CACHE_FILE}")
    parser.add_argument("--model", action="append", help="only these models (repeatable)")
    parser.add_argument("--show", metavar="MODEL", help="print one model's counts")
    args = parser.parse_args(argv)
    if args.write:
        path = write_cache(models=args.model)
        print(f"wrote {path}")
        return 0
    if args.show:
        counts = model_counts(args.show)
        print(f"{counts.model} at {_size_key(counts.size)}: {counts.params / 1e6:.2f} M params")
        for precision, table in counts.blocks.items():
            for name, c in table.items():
                print(f"  {precision:5} {name:11} {c.flops / 1e9:9.1f} GFLOP  {c.kernels:6.0f} kernels  "
                      f"{(c.compute_bytes + c.other_bytes) / 1e9:7.2f} GB moved  peak {c.peak_bytes / 2**20:8.1f} MiB")
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
