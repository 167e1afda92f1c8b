"""Mask R-CNN from torchvision with random weights (weights=None, weights_backbone=None), or a local
state dict (torchvision's own .pth files are plain state dicts and load with weights_only=True)."""

from __future__ import annotations

from typing import Any

from segbench.errors import InputError
from segbench.families._shared import weights as W
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec, configured_classes


def classes_of(spec: ModelSpec) -> int:
    return int(spec.config["classes"])


def with_classes(spec: ModelSpec, classes: int) -> ModelSpec:
    """The same network with box and mask heads for `classes` classes, background included."""
    return configured_classes(spec, classes, lowest=2, why=" (background counts as one)")


def short_side(spec: ModelSpec, resolution: tuple[int, ...] | None) -> int:
    side = int((resolution or spec.default_resolution)[0])
    if side < 64:
        raise InputError(f"{spec.name}: the short side must be at least 64 px (--model-size {side})")
    return side


def build(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
    from torchvision.models.detection import maskrcnn_resnet50_fpn_v2

    return maskrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=classes_of(spec),
                                    min_size=short_side(spec, resolution), max_size=int(spec.config["max_size"]))


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    side = short_side(spec, options.resolution)
    weights, found = W.resolve_checkpoint(options, spec.name, spec.config["checkpoint"], None)
    module = build(spec, (side,))
    W.load_weights(module, weights, found, spec.name)
    notes = [] if side == spec.default_resolution[0] else [f"short side {side} px instead of the published 800"]
    return LoadedModel(spec=spec, module=module.to(options.device).eval(), weights=weights,
                       checkpoint=str(found) if weights == "pretrained" else None,
                       resolution=(side, int(spec.config["max_size"])), notes=notes)


def smallest_resolution(spec: ModelSpec) -> tuple[int, int]:
    return (128, 128)


def resized(spec: ModelSpec, source: tuple[int, int], side: int) -> tuple[int, int]:
    """(h, w) the network runs at for a source image: torchvision's resize to the short side (capped by
    max_size on the long side), padded to a multiple of 32."""
    h, w = source
    scale = min(side / min(h, w), int(spec.config["max_size"]) / max(h, w))

    def pad(v: float) -> int:
        return int(-(-int(v * scale) // 32) * 32)

    return pad(h), pad(w)
