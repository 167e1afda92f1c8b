"""YOLO-seg networks from Ultralytics' model YAML (random weights, offline), or a local state dict.

Ultralytics' own `.pt` files pickle whole Python objects, which segbench does not unpickle
(`weights_only=True`): give a state dict instead (`torch.save(YOLO("yolo11n-seg.pt").model.state_dict(),
"yolo11n-seg.pt")`, or safetensors).
"""

from __future__ import annotations

import os
from typing import Any

from segbench.errors import InputError
from segbench.families._shared import weights as W
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec, configured_classes

STRIDE = 32  # the largest stride of the YOLO11 backbone: input sides are multiples of it


def ultralytics() -> Any:
    """The package, imported quietly and offline; a one-line error naming the extra when it is absent.

    Importing Ultralytics replaces `PIL.Image.open` for the whole process with one that, on the first file
    Pillow cannot identify, pip-installs a HEIF plugin and retries. segbench puts Pillow's own back: its
    input checks must not change, nor anything be installed, because a model family was imported."""
    os.environ.setdefault("YOLO_OFFLINE", "1")  # no update checks or font downloads from a benchmark
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    try:
        import ultralytics as package
        from ultralytics.utils import patches
    except ImportError:
        raise InputError("the YOLO-seg models need Ultralytics (AGPL-3.0): pip install 'segbench[yolo]'") from None
    original = getattr(patches, "_image_open", None)
    if original is not None:
        from PIL import Image

        Image.open = original
    return package


def classes_of(spec: ModelSpec) -> int:
    return int(spec.config["classes"])


def with_classes(spec: ModelSpec, classes: int) -> ModelSpec:
    """The same network with a detection head for `classes` classes (a fine-tune on one domain has few)."""
    return configured_classes(spec, classes)


def check_size(spec: ModelSpec, resolution: tuple[int, ...] | None) -> tuple[int, int]:
    size = tuple(resolution or spec.default_resolution)
    if len(size) != 2 or size[0] != size[1] or size[0] < STRIDE or size[0] % STRIDE:
        raise InputError(f"{spec.name} runs square inputs whose side is a multiple of {STRIDE} "
                         f"(e.g. --model-size 640), got {'x'.join(map(str, size))}")
    return size  # type: ignore[return-value]


def build(spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
    ultralytics()
    from ultralytics.nn.tasks import SegmentationModel

    return SegmentationModel(spec.config["yaml"], nc=classes_of(spec), verbose=False)


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    size = check_size(spec, options.resolution)
    weights, found = W.resolve_checkpoint(options, spec.name, spec.config["checkpoint"], None)
    module = build(spec, size)
    W.load_weights(module, weights, found, spec.name)
    notes = [] if size == tuple(spec.default_resolution) else [f"input {size[0]} px instead of the published 640"]
    return LoadedModel(spec=spec, module=module.to(options.device).eval(), weights=weights,
                       checkpoint=str(found) if weights == "pretrained" else None, resolution=size, notes=notes)


def smallest_resolution(spec: ModelSpec) -> tuple[int, int]:
    return (2 * STRIDE, 2 * STRIDE)
