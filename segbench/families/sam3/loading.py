"""SAM 3's architecture from transformers' configs at a chosen input size, random weights offline, or
`from_pretrained` on a local directory (`--checkpoint DIR`, the Hugging Face cache of facebook/sam3)."""

from __future__ import annotations

from typing import Any

from segbench.errors import InputError
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec
from segbench.families._shared.hf_models import load_square, transformers_class

# The ViT's patches are 14 px and its windowed layers attend within 24 x 24 patches: sides must tile them.
STEP = 14 * 24


def size_of(spec: ModelSpec, resolution: tuple[int, ...] | None) -> int:
    size = int(resolution[0]) if resolution else int(spec.default_resolution[0])
    if (resolution and len(set(resolution)) != 1) or size < STEP or size % STEP:
        raise InputError(f"SAM 3 runs square inputs whose side is a multiple of {STEP} (e.g. --model-size 1008), "
                         f"got {'x'.join(map(str, resolution or (size,)))}")
    return size


def build_config(spec: ModelSpec, size: int, purpose: str) -> Any:
    """The published architecture (transformers' defaults are facebook/sam3's), its input side set to `size`."""
    if purpose == "video":
        config = transformers_class("Sam3TrackerVideoConfig")()
        config.image_size = size
        config.prompt_encoder_config.image_size = size
    else:
        config = transformers_class("Sam3Config")()
    config.vision_config.backbone_config.image_size = size  # its rotary positions are laid out for this side
    return config


def build(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
    kind = "video" if purpose == "video" else "image"
    config = build_config(spec, size_of(spec, resolution), kind)
    return transformers_class(spec.config[f"{kind}_model"])(config)


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    size = size_of(spec, options.resolution)
    return load_square(spec, options, size, lambda purpose: build(spec, (size, size), purpose))


def smallest_resolution(spec: ModelSpec) -> tuple[int, int]:
    return (STEP, STEP)


def build_on_meta(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
    """The architecture straight on `meta` (counting needs no weights; building 840M of them takes seconds)."""
    import torch

    with torch.device("meta"):
        return build(spec, resolution, purpose)
