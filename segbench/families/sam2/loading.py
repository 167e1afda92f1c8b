"""Building and loading SAM 2.1 through the `sam2` package and its bundled Hydra configs."""

from __future__ import annotations

import torch

from segbench.errors import InputError
from segbench.families._shared import weights as W
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec

# SAM 2.1's image encoder downsamples by 16 and the predictor caches three feature levels.
_BACKBONE_STRIDE = 16


def build(spec: ModelSpec, resolution: tuple[int, ...] | None, purpose: str = "image",
          vos_optimized: bool = False) -> torch.nn.Module:
    """The architecture with random weights, on the CPU (sam2's Hiera cannot be built on `meta`).
    `vos_optimized`: sam2's SAM2VideoPredictorVOS, which torch.compiles its image encoder, memory
    attention and memory encoder (compiled on the first frames, so the warm-up holds the compile)."""
    from sam2.build_sam import build_sam2, build_sam2_video_predictor

    size = _size(spec, resolution)
    overrides = [] if size == 1024 else [f"++model.image_size={size}"]
    if purpose == "video":
        return build_sam2_video_predictor(spec.config["config"], None, device="cpu", hydra_overrides_extra=overrides,
                                          vos_optimized=vos_optimized)
    return build_sam2(spec.config["config"], None, device="cpu", hydra_overrides_extra=overrides)


def _size(spec: ModelSpec, resolution: tuple[int, ...] | None) -> int:
    size = int(resolution[0]) if resolution else int(spec.default_resolution[0])
    if size % (2 * _BACKBONE_STRIDE) or size < 128:
        raise InputError(f"SAM 2.1 resolution must be a multiple of {2 * _BACKBONE_STRIDE} and >= 128, got {size}")
    return size


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    size = _size(spec, options.resolution)
    notes = []
    if size != spec.default_resolution[0]:
        notes.append(f"model resolution {size} differs from the published {spec.default_resolution[0]}")
    vos = options.family_options.get("vos_optimized", False) and options.purpose == "video"
    if vos:
        notes.append("vos_optimized: sam2 compiles the video predictor on its first frames (warm-up holds the "
                     "compile time)")

    weights, found = W.resolve_checkpoint(options, spec.name, spec.config["checkpoint"], spec.config["hf_id"])
    # Build on the CPU, load weights, then move: the same order as sam2's own builder.
    module = build(spec, (size, size), options.purpose, vos)
    W.load_weights(module, weights, found, spec.name)
    module = module.to(options.device).eval()
    return LoadedModel(
        spec=spec,
        module=module,
        weights=weights,
        checkpoint=str(found) if weights == "pretrained" else None,
        resolution=(size, size),
        notes=notes,
    )


def feature_sizes(size: int) -> list[tuple[int, int]]:
    """The high-res feature sizes SAM2ImagePredictor caches; sam2 hard-codes them for 1024."""
    return [(size // 4, size // 4), (size // 8, size // 8), (size // 16, size // 16)]


def smallest_resolution(spec: ModelSpec) -> tuple[int, int]:
    """The smallest input the architecture runs (for tests and quick checks of the whole path)."""
    return (128, 128)
