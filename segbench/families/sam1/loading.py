"""Building and loading SAM 1 from `segment_anything.modeling`, at any image size.

`sam_model_registry[...]` fixes the image at 1024 px and, given a checkpoint, unpickles it with a plain
`torch.load`. segbench assembles the same modules with the registry's sizes instead, for an image of
`size` px (the encoder's position embedding is `size/16` a side), and loads weights through its own
`weights_only=True` path. A 1024-px checkpoint loaded at another size has its absolute position
embedding and global-attention relative positions resized, as fine-tunes of SAM at 512 px do.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch

from segbench.errors import InputError
from segbench.families._shared import weights as W
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec

PATCH = 16  # ViT patch size: the embedding is size/16 a side
WINDOW = 14  # windowed-attention size of every non-global block
PROMPT_DIM = 256
# segment_anything/build_sam.py, per registry entry: width, depth, heads, global-attention blocks.
ENCODERS: dict[str, dict[str, Any]] = {
    "vit_b": {"embed_dim": 768, "depth": 12, "num_heads": 12, "global_attn_indexes": (2, 5, 8, 11)},
    "vit_l": {"embed_dim": 1024, "depth": 24, "num_heads": 16, "global_attn_indexes": (5, 11, 17, 23)},
    "vit_h": {"embed_dim": 1280, "depth": 32, "num_heads": 16, "global_attn_indexes": (7, 15, 23, 31)},
}
SMALLEST = 128


def check_size(spec: ModelSpec, resolution: tuple[int, ...] | None) -> int:
    size = tuple(resolution or spec.default_resolution)
    if len(size) != 2 or size[0] != size[1] or size[0] < SMALLEST or size[0] % PATCH:
        raise InputError(f"{spec.name} runs square images whose side is a multiple of {PATCH} and >= {SMALLEST} "
                         f"(e.g. --model-size 1024), got {'x'.join(map(str, size))}")
    return int(size[0])


def build(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> torch.nn.Module:
    """SAM 1 with random weights on the CPU, as `_build_sam` assembles it but for `size` px images."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    size = check_size(spec, resolution)
    encoder = ENCODERS.get(spec.config.get("registry", ""))
    if encoder is None:
        raise InputError(f"{spec.name}: unknown SAM 1 registry entry '{spec.config.get('registry')}'")
    grid = size // PATCH
    return Sam(
        image_encoder=ImageEncoderViT(
            img_size=size, patch_size=PATCH, mlp_ratio=4, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            qkv_bias=True, use_rel_pos=True, window_size=WINDOW, out_chans=PROMPT_DIM,
            **{**encoder, "global_attn_indexes": list(encoder["global_attn_indexes"])},
        ),
        prompt_encoder=PromptEncoder(embed_dim=PROMPT_DIM, image_embedding_size=(grid, grid),
                                     input_image_size=(size, size), mask_in_chans=16),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=PROMPT_DIM, mlp_dim=2048, num_heads=8),
            transformer_dim=PROMPT_DIM, iou_head_depth=3, iou_head_hidden_dim=256,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    ).eval()


def build_on_meta(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> torch.nn.Module:
    """The architecture built straight on `meta` (counting FLOPs): no random init of ViT-H's 641M parameters."""
    with torch.device("meta"):
        return build(spec, resolution, purpose)


def fit_to_size(state: dict[str, torch.Tensor], module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """`state` with its size-dependent tensors resized to `module`'s image size: the absolute position
    embedding (bicubic, 2D) and the relative positions of global-attention blocks (linear, 1D)."""
    import torch.nn.functional as F

    own = module.state_dict()
    out = dict(state)
    for key, value in state.items():
        target = own.get(key)
        if target is None or target.shape == value.shape:
            continue
        if key.endswith("pos_embed") and value.dim() == 4:  # (1, H, W, C)
            grid = F.interpolate(value.permute(0, 3, 1, 2).float(), size=tuple(target.shape[1:3]), mode="bicubic",
                                 align_corners=False)
            out[key] = grid.permute(0, 2, 3, 1).to(value.dtype)
        elif key.endswith(("rel_pos_h", "rel_pos_w")) and value.dim() == 2:  # (2L - 1, head_dim)
            line = F.interpolate(value.t()[None].float(), size=target.shape[0], mode="linear", align_corners=False)
            out[key] = line[0].t().to(value.dtype)
    return out


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    size = check_size(spec, options.resolution)
    weights, found = W.resolve_checkpoint(options, spec.name, spec.config["checkpoint"], None)
    module = build(spec, (size, size))
    notes = []
    if size != spec.default_resolution[0]:
        notes.append(f"model resolution {size} differs from the published {spec.default_resolution[0]}")
    if weights == "pretrained":
        assert found is not None
        W.load_into(module, fit_to_size(W.safe_load_state_dict(found), module), spec.name, found)
        if size != spec.default_resolution[0]:
            notes.append(f"position embeddings resized from the checkpoint's {spec.default_resolution[0]} px to {size}")
    return LoadedModel(spec=spec, module=module.to(options.device).eval(), weights=weights,
                       checkpoint=str(found) if weights == "pretrained" else None, resolution=(size, size), notes=notes)


def smallest_resolution(spec: ModelSpec) -> tuple[int, int]:
    """The smallest image the architecture runs (an 8x8 embedding), for tests and quick checks."""
    return (SMALLEST, SMALLEST)
