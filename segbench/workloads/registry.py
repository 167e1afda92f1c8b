"""Which workload class serves which (workload, model family)."""

from __future__ import annotations

import importlib

import torch

from segbench.errors import InputError
from segbench.models.base import LoadedModel
from segbench.workloads.base import Workload, WorkloadOptions

# workload -> family -> "module:Class"; loaded lazily so one workload's imports don't burden another.
WORKLOADS: dict[str, dict[str, str]] = {
    "image": {
        "sam2": "segbench.workloads.sam_image:SamImage",
        "mask2former": "segbench.workloads.mask2former_image:Mask2FormerImage",
    },
    "prompt": {"sam2": "segbench.workloads.sam_image:SamPrompt"},
    "auto": {"sam2": "segbench.workloads.sam_image:SamAuto"},
    "video": {"sam2": "segbench.workloads.video:SamVideo"},
    "volume": {
        "monai": "segbench.workloads.volume:SlidingWindowVolume",
        "sam2": "segbench.workloads.volume:SamVolume",
    },
}


def _class(name: str, family: str) -> type[Workload] | None:
    target = WORKLOADS.get(name, {}).get(family)
    if target is None:
        return None
    module_name, cls_name = target.split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def check_inputs(name: str, family: str, options: WorkloadOptions) -> None:
    cls = _class(name, family)
    if cls is not None:
        cls.check_inputs(options)


def purpose_of(name: str, family: str) -> str:
    """What the model must be built for to serve this workload ("image" or "video")."""
    cls = _class(name, family)
    return cls.purpose if cls is not None else "image"


def build_workload(name: str, model: LoadedModel, device: torch.device, options: WorkloadOptions) -> Workload:
    families = WORKLOADS.get(name)
    if families is None:
        raise InputError(f"unknown workload '{name}' (known: {', '.join(WORKLOADS)})")
    cls = _class(name, model.spec.family)
    if cls is None or name not in model.spec.workloads:
        raise InputError(
            f"{model.spec.name} does not support the '{name}' workload (it supports: {', '.join(model.spec.workloads)})"
        )
    return cls(model, device, options)
