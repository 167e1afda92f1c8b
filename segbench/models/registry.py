"""The model registry: the one place to add a model name."""

from __future__ import annotations

import difflib
import importlib

import torch

from segbench.errors import InputError
from segbench.models.base import WEIGHT_MODES, LoadedModel, LoadOptions, ModelSpec

IMAGE_WORKLOADS = ("image", "prompt", "auto", "video", "volume")
# family -> module with `load(spec, options) -> LoadedModel`
FAMILIES = {
    "sam2": "segbench.models.sam",
    "mask2former": "segbench.models.mask2former",
    "monai": "segbench.models.monai3d",
}


def _sam(size: str, short: str, hf: str, desc: str) -> ModelSpec:
    return ModelSpec(
        name=f"sam2.1-{size}",
        family="sam2",
        workloads=IMAGE_WORKLOADS,
        default_resolution=(1024, 1024),
        description=desc,
        config={
            "config": f"configs/sam2.1/sam2.1_hiera_{short}.yaml",
            "checkpoint": f"sam2.1_hiera_{hf.replace('-', '_')}.pt",
            "hf_id": f"facebook/sam2.1-hiera-{hf}",
        },
    )


_SWIN_T = {
    "embed_dim": 96,
    "depths": [2, 2, 6, 2],
    "num_heads": [3, 6, 12, 24],
    "window_size": 7,
    "pretrain_image_size": 224,
}
_SWIN_L = {
    "embed_dim": 192,
    "depths": [2, 2, 18, 2],
    "num_heads": [6, 12, 24, 48],
    "window_size": 12,
    "pretrain_image_size": 384,
}


def _m2f(
    name: str, hf_id: str, swin: dict, queries: int, labels: int, resolution: tuple[int, int], desc: str
) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="mask2former",
        workloads=("image",),
        default_resolution=resolution,
        description=desc,
        config={"hf_id": hf_id, "architecture": {**swin, "num_queries": queries, "num_labels": labels}},
    )


# COCO images (480x640) resized to a short side of 800 and padded to /32, as the panoptic configs evaluate.
_COCO_SIZE = (800, 1088)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        _sam("tiny", "t", "tiny", "SAM 2.1 Hiera-T (38.9M params)"),
        _sam("small", "s", "small", "SAM 2.1 Hiera-S (46M params)"),
        _sam("base-plus", "b+", "base-plus", "SAM 2.1 Hiera-B+ (80.8M params)"),
        _sam("large", "l", "large", "SAM 2.1 Hiera-L (224.4M params)"),
        _m2f(
            "mask2former-swin-tiny",
            "facebook/mask2former-swin-tiny-ade-semantic",
            _SWIN_T,
            100,
            150,
            (512, 512),
            "Mask2Former Swin-T, ADE20K semantic (512x512 crops)",
        ),
        _m2f(
            "mask2former-swin-large",
            "facebook/mask2former-swin-large-ade-semantic",
            _SWIN_L,
            100,
            150,
            (640, 640),
            "Mask2Former Swin-L, ADE20K semantic (640x640 crops)",
        ),
        _m2f(
            "mask2former-swin-tiny-coco",
            "facebook/mask2former-swin-tiny-coco-panoptic",
            _SWIN_T,
            100,
            133,
            _COCO_SIZE,
            "Mask2Former Swin-T, COCO panoptic (short side 800)",
        ),
        _m2f(
            "mask2former-swin-large-coco",
            "facebook/mask2former-swin-large-coco-panoptic",
            _SWIN_L,
            200,
            133,
            _COCO_SIZE,
            "Mask2Former Swin-L, COCO panoptic (short side 800, 200 queries)",
        ),
        ModelSpec(
            "monai-unet",
            "monai",
            ("volume",),
            (96, 96, 96),
            "MONAI 3D UNet (5 levels, 16-256 channels)",
            {"network": "unet", "out_channels": 14},
        ),
        ModelSpec(
            "monai-swinunetr",
            "monai",
            ("volume",),
            (96, 96, 96),
            "MONAI SwinUNETR (feature size 48, BTCV)",
            {"network": "swinunetr", "out_channels": 14},
        ),
    ]
}


def default_model(workloads: list[str] | tuple[str, ...]) -> str:
    """What runs when no --model is given: MONAI's UNet for volumes, else SAM 2.1 tiny."""
    return "monai-unet" if workloads and all(w == "volume" for w in workloads) else "sam2.1-tiny"


def model_names(workload: str | None = None) -> list[str]:
    return [n for n, s in MODELS.items() if workload is None or workload in s.workloads]


def get_spec(name: str) -> ModelSpec:
    spec = MODELS.get(name) or MODELS.get(name.strip().lower())
    if spec is None:
        near = difflib.get_close_matches(name.lower(), list(MODELS), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise InputError(f"unknown model '{name}'{hint} (known: {', '.join(MODELS)})")
    return spec


def _family(spec: ModelSpec):
    return importlib.import_module(FAMILIES[spec.family])


def load_model(name: str, options: LoadOptions) -> LoadedModel:
    """Build a registered model (pretrained or random weights) on `options.device`."""
    spec = get_spec(name)
    if options.weights not in WEIGHT_MODES:
        raise InputError(f"--weights must be one of {', '.join(WEIGHT_MODES)}, got '{options.weights}'")
    return _family(spec).load(spec, options)


def build_on_meta(name: str, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> torch.nn.Module:
    """The architecture with parameters on the `meta` device: for counting FLOPs and bytes without compute."""
    spec = get_spec(name)
    return _family(spec).build(spec, resolution, purpose).to("meta").eval()
