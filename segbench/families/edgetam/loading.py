"""EdgeTAM's image model and video tracker from transformers' configs with the checkpoint's RepViT-M1
encoder (timm, built offline without pretrained weights), or `from_pretrained` on a local directory."""

from __future__ import annotations

from typing import Any

from segbench.errors import InputError
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec
from segbench.families._shared.hf_models import load_square, transformers_class


def _timm() -> None:
    try:
        import timm  # noqa: F401
    except ImportError:
        raise InputError("EdgeTAM's image encoder needs timm: pip install 'segbench[models]'") from None


def size_of(spec: ModelSpec, resolution: tuple[int, ...] | None) -> int:
    # The memory attention's rotary positions and the perceiver are laid out for 64 x 64 features.
    size = int(resolution[0]) if resolution else int(spec.default_resolution[0])
    if size != spec.default_resolution[0] or (resolution and len(set(resolution)) != 1):
        raise InputError(f"EdgeTAM runs at {spec.default_resolution[0]}x{spec.default_resolution[0]} only, "
                         f"got {'x'.join(map(str, resolution or (size,)))}")
    return size


def build_config(spec: ModelSpec, purpose: str) -> Any:
    vision = transformers_class("EdgeTamConfig")().vision_config
    vision.backbone_config.architecture = spec.config["backbone"]
    if purpose == "video":
        return transformers_class("EdgeTamVideoConfig")(vision_config=vision.to_dict())
    return transformers_class("EdgeTamConfig")(vision_config=vision.to_dict())


def build(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
    _timm()
    size_of(spec, resolution)
    kind = "video" if purpose == "video" else "image"
    return transformers_class(spec.config[f"{kind}_model"])(build_config(spec, kind))


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    size = size_of(spec, options.resolution)
    return load_square(spec, options, size, lambda purpose: build(spec, (size, size), purpose))


def smallest_resolution(spec: ModelSpec) -> tuple[int, int]:
    return tuple(spec.default_resolution)  # type: ignore[return-value]
