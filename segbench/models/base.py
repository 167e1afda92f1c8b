"""The fixed interface every model family adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

WEIGHT_MODES = ("auto", "pretrained", "random")


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: a name users type and how its family builds it (configs as data)."""

    name: str
    family: str  # "sam2" | "mask2former" | "monai"
    workloads: tuple[str, ...]
    # (h, w) for 2D models, (w, h, d) roi for 3D models: the size the published model runs at.
    default_resolution: tuple[int, ...]
    description: str
    # Family-specific build data: config file, checkpoint file name, Hugging Face id, architecture kwargs.
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadOptions:
    device: torch.device
    weights: str = "auto"  # auto | pretrained | random
    checkpoint: str | None = None  # a .pt file (SAM 2.1, MONAI) or a Hugging Face directory (Mask2Former)
    resolution: tuple[int, ...] | None = None  # None: the spec's default
    purpose: str = "image"  # "image" or "video": SAM 2.1 builds a different predictor for video


@dataclass
class LoadedModel:
    spec: ModelSpec
    module: torch.nn.Module
    weights: str  # what was actually used: "pretrained" | "random"
    checkpoint: str | None
    resolution: tuple[int, ...]
    notes: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())
