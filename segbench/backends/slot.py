"""The part of a workload's step an execution backend may replace, and how its outputs compare."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


def as_tensors(out: Any) -> tuple[torch.Tensor, ...]:
    """A network's output as a flat tuple of tensors (a tensor, a tuple/list, or a dict in key order)."""
    if isinstance(out, torch.Tensor):
        return (out,)
    if isinstance(out, dict):
        return tuple(t for v in out.values() for t in as_tensors(v))
    if isinstance(out, (list, tuple)):
        return tuple(t for v in out for t in as_tensors(v))
    return ()


def single(tensors: tuple[torch.Tensor, ...]) -> Any:
    return tensors[0] if len(tensors) == 1 else tensors


@dataclass
class NetworkSlot:
    """`owner.attr` is the network the step calls (looked up on every call, so swapping it works).

    `flatten` turns its output into tensors (what an exported graph returns), `unflatten` the tensors
    back into what the step expects; `masks` says how outputs become masks for the IoU check:
    "logits" (> 0 is foreground), "classes" (argmax over dim 1) or None (embeddings: error only)."""

    owner: Any
    attr: str
    name: str  # e.g. "image_encoder": part of an export's cache key, and what the record says was replaced
    outputs: str  # what is compared, in words
    flatten: Callable[[Any], tuple[torch.Tensor, ...]] = as_tensors
    unflatten: Callable[[tuple[torch.Tensor, ...]], Any] = single
    masks: str | None = None

    def get(self) -> torch.nn.Module:
        return getattr(self.owner, self.attr)

    def set(self, module: Any) -> None:
        setattr(self.owner, self.attr, module)
