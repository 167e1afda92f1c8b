"""Mask2Former (Swin backbones) through `transformers`, with the published checkpoints' configs built offline."""

from __future__ import annotations

from dataclasses import replace

import torch

from segbench.errors import InputError
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec
from segbench.families._shared.hf_models import load_hf


def build(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> torch.nn.Module:
    """The architecture with random weights (input size does not change Mask2Former's parameters)."""
    from transformers import Mask2FormerForUniversalSegmentation

    return Mask2FormerForUniversalSegmentation(build_config(spec))


def build_config(spec: ModelSpec):
    """The architecture of the published checkpoint, without downloading its config.json."""
    from transformers import Mask2FormerConfig, SwinConfig

    arch = spec.config["architecture"]
    backbone = SwinConfig(
        embed_dim=arch["embed_dim"],
        depths=arch["depths"],
        num_heads=arch["num_heads"],
        window_size=arch["window_size"],
        image_size=arch["pretrain_image_size"],
        drop_path_rate=0.3,
        out_features=["stage1", "stage2", "stage3", "stage4"],
    )
    return Mask2FormerConfig(
        backbone_config=backbone,
        num_queries=arch["num_queries"],
        num_labels=arch["num_labels"],
    )


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    from transformers import Mask2FormerForUniversalSegmentation

    h, w = options.resolution or spec.default_resolution
    if h % 32 or w % 32 or h < 64 or w < 64:
        raise InputError(f"Mask2Former resolution must be multiples of 32 and >= 64, got {w}x{h}")
    module, weights, source = load_hf(spec, options, Mask2FormerForUniversalSegmentation, lambda: build(spec))
    module = module.to(options.device).eval()
    return LoadedModel(
        spec=spec,
        module=module,
        weights=weights,
        checkpoint=source,
        resolution=(int(h), int(w)),
    )


def smallest_resolution(spec: ModelSpec) -> tuple[int, int]:
    """The smallest input the architecture runs (for tests and quick checks of the whole path)."""
    return (64, 64)


def classes_of(spec: ModelSpec) -> int:
    return int(spec.config["architecture"]["num_labels"])


def with_classes(spec: ModelSpec, classes: int) -> ModelSpec:
    """The same architecture with `classes` labels (the class head; the queries stay)."""
    if not 1 <= classes <= 10000:
        raise InputError(f"--classes must be between 1 and 10000, got {classes}")
    architecture = {**spec.config["architecture"], "num_labels": int(classes)}
    return replace(spec, config={**spec.config, "architecture": architecture})
