"""Models from `transformers`: a local Hugging Face directory, the local cache, or (with network and
`--weights pretrained`) the hub; else the architecture from its config with random weights.

`from_pretrained` prefers safetensors and falls back to a `weights_only` torch.load, so loading
never runs pickled code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segbench.errors import InputError
from segbench.families._shared import weights as W
from segbench.families.base import LoadedModel, LoadOptions, ModelSpec


def transformers_class(name: str) -> Any:
    """A class `transformers` exports, by name (model specs name theirs as data)."""
    import transformers

    return getattr(transformers, name)


def pretrained_source(hf_id: str, options: LoadOptions) -> tuple[str | None, bool]:
    """(directory or hub id for from_pretrained, whether it is local), or (None, True) when there is none."""
    if options.checkpoint:
        path = Path(options.checkpoint)
        if not (path / "config.json").is_file():
            raise InputError(f"{path} is not a Hugging Face model directory (no config.json)")
        return str(path), True
    if W.find_file("config.json", hf_id) is not None:
        return hf_id, True
    if options.weights == "pretrained" and os.environ.get("HF_HUB_OFFLINE") != "1":
        return hf_id, False  # from_pretrained will try the network; a failure becomes a clear error below
    return None, True


def load_hf(spec: ModelSpec, options: LoadOptions, model_class: Any, build: Callable[[], Any],
            hf_id: str | None = None) -> tuple[Any, str, str | None]:
    """(module on the CPU, "pretrained" | "random", where the weights came from) for a transformers model."""
    hf_id = hf_id or spec.config["hf_id"]
    source, local = (None, True) if options.weights == "random" else pretrained_source(hf_id, options)
    hint = f"pass --checkpoint DIR (a saved {hf_id}), have it in the Hugging Face cache, or use --weights random"
    weights = W.decide(options.weights, source, spec.name, hint)
    if weights == "random":
        return build(), weights, None
    try:
        return model_class.from_pretrained(source, local_files_only=local), weights, source
    except OSError as exc:
        raise InputError(f"could not load pretrained {spec.name} from {source}: {str(exc).splitlines()[0]}") from None


def load_square(spec: ModelSpec, options: LoadOptions, size: int, build: Callable[[str], Any]) -> LoadedModel:
    """A SAM-style transformers model at `size` x `size`: `build(purpose)` makes the architecture with random
    weights; pretrained weights come from the spec's image or video model class (they share one checkpoint)."""
    purpose = "video" if options.purpose == "video" else "image"
    model_class = transformers_class(spec.config[f"{purpose}_model"])
    module, weights, source = load_hf(spec, options, model_class, lambda: build(purpose))
    notes = []
    if size != spec.default_resolution[0]:
        if weights == "pretrained":
            raise InputError(f"pretrained {spec.name} runs at {spec.default_resolution[0]} px only, got --model-size {size}")
        notes.append(f"model resolution {size} differs from the published {spec.default_resolution[0]}")
    return LoadedModel(spec=spec, module=module.to(options.device).eval(), weights=weights, checkpoint=source,
                       resolution=(size, size), notes=notes)
