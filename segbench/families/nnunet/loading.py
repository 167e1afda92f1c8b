"""nnU-Net v2's 3D U-Net (`PlainConvUNet` from dynamic-network-architectures) built from a plans file.

A model's "resolution" is its sliding window, W x H x D: by default the plans' patch size (nnU-Net
writes it z, y, x). `--classes` sets the output channels (background included, as nnU-Net counts).
"""

from __future__ import annotations

from typing import Any

import torch

from segbench.errors import InputError
from segbench.families._shared import weights as W
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec, configured_classes
from segbench.families.nnunet.plans_file import divisor, plans_source, read_plans
from segbench.inputs.parsing import WHD


def plans_of(spec: ModelSpec) -> dict[str, Any]:
    return read_plans(plans_source(spec.config["plans"]), spec.config.get("configuration", "3d_fullres"))


def plain_conv_unet(plans: dict[str, Any], classes: int) -> torch.nn.Module:
    """The network nnU-Net's `get_network_from_plans` builds for these plans: PlainConvUNet with one
    input channel (CT), `classes` outputs, no deep supervision (inference), He-initialised."""
    from dynamic_network_architectures.architectures.unet import PlainConvUNet

    if not isinstance(classes, int) or classes < 1:
        raise InputError(f"an nnU-Net needs at least 1 output class, got {classes!r}")
    network = PlainConvUNet(
        input_channels=1,
        n_stages=plans["n_stages"],
        features_per_stage=plans["features_per_stage"],
        conv_op=torch.nn.Conv3d,
        kernel_sizes=plans["kernel_sizes"],
        strides=plans["strides"],
        n_conv_per_stage=plans["n_conv_per_stage"],
        num_classes=classes,
        n_conv_per_stage_decoder=plans["n_conv_per_stage_decoder"],
        conv_bias=bool(plans.get("conv_bias", True)),
        norm_op=getattr(torch.nn, plans["norm_op"]),
        norm_op_kwargs=dict(plans.get("norm_op_kwargs") or {}),
        nonlin=getattr(torch.nn, plans["nonlin"]),
        nonlin_kwargs=dict(plans.get("nonlin_kwargs") or {}),
        deep_supervision=False,
    )
    network.apply(network.initialize)  # nnU-Net's InitWeights_He(1e-2), as get_network_from_plans does
    return network


def classes_of(spec: ModelSpec) -> int:
    return int(spec.config["out_channels"])


def with_classes(spec: ModelSpec, classes: int) -> ModelSpec:
    """The same network with `classes` output channels (TotalSegmentator: 117 structures + background)."""
    return configured_classes(spec, classes, key="out_channels", highest=1024)


def build(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> torch.nn.Module:
    """The architecture with random weights on the CPU; the window does not change its parameters."""
    return plain_conv_unet(plans_of(spec), classes_of(spec))


def check_roi(spec: ModelSpec, roi: tuple[int, ...]) -> WHD:
    """The window (W, H, D) this network runs, or an InputError: each side a positive multiple of its
    axis's total stride, and more than one voxel left at the deepest level (instance norm needs two)."""
    plans = plans_of(spec)
    try:
        w, h, d = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise InputError(f"{spec.name}: the window (roi) must be W x H x D, got {roi!r}") from None
    need = list(reversed(divisor(plans)))  # plans are (z, y, x); the window is (w, h, d)
    sides = (w, h, d)
    deepest = 1
    for v, k in zip(sides, need):
        deepest *= v // k if v > 0 else 0
    if any(v < k or v % k for v, k in zip(sides, need)) or deepest < 2:
        raise InputError(f"{spec.name}: roi {w}x{h}x{d} does not fit the network: every side must be a multiple of "
                         f"{'x'.join(map(str, need))} and the window larger than that (its plans' patch: "
                         f"{'x'.join(map(str, reversed(plans['patch_size'])))}, e.g. --roi "
                         f"{'x'.join(map(str, reversed(plans['patch_size'])))})")
    return WHD(w, h, d)


def default_roi(spec: ModelSpec) -> WHD:
    return WHD(*reversed(plans_of(spec)["patch_size"]))


def _roi(spec: ModelSpec, resolution: tuple[int, ...] | None) -> WHD:
    if resolution is None:
        return check_roi(spec, default_roi(spec))
    if len(resolution) != 3:
        raise InputError(f"{spec.name} is a 3D network: give its window size with --roi WxHxD, not --model-size")
    return check_roi(spec, resolution)


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    roi = _roi(spec, options.resolution)
    plans = plans_of(spec)
    weights, found = W.resolve_checkpoint(options, spec.name, spec.config.get("checkpoint", f"{spec.name}.pt"), None)
    module = plain_conv_unet(plans, classes_of(spec))
    # nnU-Net's checkpoint_final.pth pickles its trainer state; segbench reads a plain state dict
    # (torch.save(ckpt["network_weights"], path), or safetensors) with weights_only=True.
    W.load_weights(module, weights, found, spec.name)
    notes = [f"plans: {plans['where']}"]
    if tuple(roi) != tuple(default_roi(spec)):
        notes.append(f"window {roi} differs from the plans' patch {default_roi(spec)}")
    return LoadedModel(spec=spec, module=module.to(options.device).eval(), weights=weights,
                       checkpoint=str(found) if weights == "pretrained" else None, resolution=tuple(roi), notes=notes)


def smallest_resolution(spec: ModelSpec) -> tuple[int, int, int]:
    """The smallest window the network runs: one stride-product a side, twice that in depth (two voxels
    at the deepest level), for tests and quick checks."""
    kw, kh, kd = reversed(divisor(plans_of(spec)))
    return (kw, kh, 2 * kd)
