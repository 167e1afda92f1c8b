"""Finding and safely loading pretrained weights; deciding between pretrained and random."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Iterable

import torch

from segbench.errors import InputError


def checkpoint_dirs() -> list[Path]:
    """Where local checkpoints are looked for, in order: $SEGBENCH_CHECKPOINTS, ./checkpoints."""
    dirs = []
    if os.environ.get("SEGBENCH_CHECKPOINTS"):
        dirs.append(Path(os.environ["SEGBENCH_CHECKPOINTS"]))
    dirs.append(Path("checkpoints"))
    return dirs


def find_file(filename: str, hf_id: str | None, extra_dirs: Iterable[Path] = ()) -> Path | None:
    """A local copy of `filename`: the checkpoint folders, then the Hugging Face cache (no network)."""
    for directory in [*extra_dirs, *checkpoint_dirs()]:
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    if hf_id:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(hf_id, filename)
            if isinstance(cached, str):
                return Path(cached)
        except Exception:  # no hub library or an unreadable cache: simply not found
            return None
    return None


def download(hf_id: str, filename: str) -> Path | None:
    """Fetch from the Hugging Face hub when the user has network; None when it cannot."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return None
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo_id=hf_id, filename=filename))
    except Exception:
        return None


def safe_load_state_dict(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint without executing code: safetensors, or torch.load(weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"checkpoint is empty: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise InputError(f"refused to load {path}: not a plain-weights checkpoint ({first[:160]})") from None
    except Exception as exc:
        raise InputError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {str(exc)[:160]})") from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]  # the layout of the official SAM 2.1 checkpoints
    elif isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise InputError(f"{path} holds no state dict of tensors")
    return data


def load_into(module: torch.nn.Module, state: dict[str, Any], model_name: str, path: str | Path) -> None:
    """Strictly load `state`; a checkpoint for another architecture is a clear error."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
        if mismatched:
            parts.append(f"{len(mismatched)} shape mismatches (e.g. {mismatched[0]})")
        raise InputError(f"checkpoint {path} does not match {model_name}: {'; '.join(parts)}")
    module.load_state_dict(state, strict=True)


def resolve_checkpoint(options, model_name: str, filename: str, hf_id: str | None) -> tuple[str, Path | None]:
    """(weights to use, checkpoint file) for a single-file checkpoint: --checkpoint, else the local
    folders and cache, else (pretrained only, with network) a download; a clear error when required
    weights are nowhere."""
    found: Path | None = None
    if options.checkpoint:
        found = Path(options.checkpoint)
        if not found.is_file():
            raise InputError(f"checkpoint not found: {found}")
    elif options.weights != "random":
        found = find_file(filename, hf_id)
        if found is None and options.weights == "pretrained" and hf_id:
            found = download(hf_id, filename)
    hint = f"pass --checkpoint PATH to {filename}, put it in ./checkpoints or $SEGBENCH_CHECKPOINTS, or use --weights random"
    return decide(options.weights, found, model_name, hint), found


def load_weights(module: torch.nn.Module, weights: str, found: Path | None, model_name: str) -> None:
    if weights == "pretrained":
        assert found is not None
        load_into(module, safe_load_state_dict(found), model_name, found)


def decide(mode: str, found: Path | str | None, model_name: str, hint: str) -> str:
    """Which weights to use, given the requested mode and what was found locally."""
    if mode == "random":
        return "random"
    if found is not None:
        return "pretrained"
    if mode == "pretrained":
        raise InputError(f"no pretrained weights found for {model_name}: {hint}")
    return "random"
