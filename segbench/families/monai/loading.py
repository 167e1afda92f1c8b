"""MONAI 3D segmentation networks, built from MONAI with random or loaded weights.

The architectures are the ones medical users run: the UNet of MONAI's tutorials (five levels,
16-256 channels, two residual units), SwinUNETR in its BTCV configuration (feature size 48,
14 organ classes) and the SegResNet of the model zoo's whole-body CT bundle (105 classes). A
model's "resolution" here is its sliding-window size (roi), W x H x D.
"""

from __future__ import annotations

from typing import Any

import torch

from segbench.errors import InputError
from segbench.families._shared import weights as W
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec, configured_classes
from segbench.inputs.parsing import WHD

# Architecture kwargs per network, as data; a spec may override any of them in config["architecture"].
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "unet": {"channels": (16, 32, 64, 128, 256), "strides": (2, 2, 2, 2), "num_res_units": 2},
    # BTCV: SwinUNETR(in_channels=1, out_channels=14, feature_size=48); `img_size` is gone from MONAI >= 1.5,
    # gradient checkpointing (use_checkpoint) changes nothing at inference and is left off.
    "swinunetr": {"feature_size": 48},
    # wholeBody_ct_segmentation bundle (configs/inference.json); its dropout does nothing at inference.
    "segresnet": {"init_filters": 32, "blocks_down": (1, 2, 2, 4), "blocks_up": (1, 1, 1)},
}


def _network(spec: ModelSpec) -> str:
    network = spec.config.get("network", "")
    if network not in ARCHITECTURES:
        raise InputError(f"{spec.name}: unknown MONAI network '{network}' (known: {', '.join(ARCHITECTURES)})")
    return network


def _arch(spec: ModelSpec) -> dict[str, Any]:
    return {**ARCHITECTURES[_network(spec)], **spec.config.get("architecture", {})}


def roi_divisor(spec: ModelSpec) -> int:
    """Every window side must be a multiple of this: the UNet halves it once per stride, SwinUNETR 5 times."""
    if _network(spec) == "swinunetr":
        return 2**5
    if _network(spec) == "segresnet":
        return 2 ** (len(_arch(spec)["blocks_down"]) - 1)
    divisor = 1
    for stride in _arch(spec)["strides"]:
        divisor *= int(stride)
    return divisor


def check_roi(spec: ModelSpec, roi: tuple[int, int, int]) -> WHD:
    """The window size (W, H, D) this network can run, or an InputError saying why not.

    Every side must be a positive multiple of the divisor, and not all of them equal to it: the
    deepest level would then be a single voxel, which instance normalisation refuses.
    """
    divisor = roi_divisor(spec)
    try:
        w, h, d = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise InputError(f"{spec.name}: the window (roi) must be W x H x D, got {roi!r}") from None
    sides = (w, h, d)
    if any(v < divisor or v % divisor for v in sides) or all(v == divisor for v in sides):
        raise InputError(
            f"{spec.name}: roi {w}x{h}x{d} does not fit the network: every side must be a multiple of {divisor} "
            f"and the window larger than {divisor}x{divisor}x{divisor} (e.g. --roi 96x96x96)"
        )
    return WHD(w, h, d)


def build(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> torch.nn.Module:
    """The architecture with random weights on the CPU; the window size does not change its parameters."""
    from monai.networks.nets import SegResNet, SwinUNETR, UNet

    arch = _arch(spec)
    out_channels = int(spec.config["out_channels"])
    network = _network(spec)
    if network == "unet":
        return UNet(spatial_dims=3, in_channels=1, out_channels=out_channels, **arch)
    if network == "segresnet":
        return SegResNet(spatial_dims=3, in_channels=1, out_channels=out_channels, **arch)
    return SwinUNETR(in_channels=1, out_channels=out_channels, spatial_dims=3, **arch)


def _roi(spec: ModelSpec, resolution: tuple[int, ...] | None) -> WHD:
    if resolution is None:
        return check_roi(spec, spec.default_resolution)  # type: ignore[arg-type]
    if len(resolution) != 3:
        raise InputError(f"{spec.name} is a 3D network: give its window size with --roi WxHxD, not --model-size")
    return check_roi(spec, resolution)  # type: ignore[arg-type]


def checkpoint_name(spec: ModelSpec) -> str:
    """The file looked for in ./checkpoints and $SEGBENCH_CHECKPOINTS when no --checkpoint is given."""
    return spec.config.get("checkpoint", f"{spec.name}.pt")


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    roi = _roi(spec, options.resolution)
    weights, found = W.resolve_checkpoint(options, spec.name, checkpoint_name(spec), None)
    module = build(spec, tuple(roi))
    W.load_weights(module, weights, found, spec.name)
    module = module.to(options.device).eval()
    notes = []
    if tuple(roi) != tuple(spec.default_resolution):
        notes.append(f"window {roi} differs from the published {WHD(*spec.default_resolution)}")
    return LoadedModel(
        spec=spec,
        module=module,
        weights=weights,
        checkpoint=str(found) if weights == "pretrained" else None,
        resolution=tuple(roi),
        notes=notes,
    )


def smallest_resolution(spec: ModelSpec) -> tuple[int, int, int]:
    """The smallest window the network runs: twice its divisor on every side (for tests and quick checks)."""
    side = 2 * roi_divisor(spec)
    return (side, side, side)


def classes_of(spec: ModelSpec) -> int:
    return int(spec.config["out_channels"])


def with_classes(spec: ModelSpec, classes: int) -> ModelSpec:
    """The same network with `classes` output channels (a whole-body CT model labels 105-117 structures)."""
    return configured_classes(spec, classes, key="out_channels", highest=1024)
