"""torch.compile of the slot's network; the first call per input shape (where compiling happens) is
timed apart from the steady state."""

from __future__ import annotations

import time
from typing import Any

import torch


class Compiled(torch.nn.Module):
    def __init__(self, module: torch.nn.Module, mode: str) -> None:
        super().__init__()
        self.inner = module
        self.compiled = torch.compile(module, mode=None if mode == "default" else mode)
        self.mode = mode
        self.first_calls: dict[tuple, float] = {}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        shape = tuple(tuple(a.shape) for a in args if isinstance(a, torch.Tensor))
        if shape in self.first_calls:
            return self.compiled(*args, **kwargs)
        t0 = time.perf_counter()
        out = self.compiled(*args, **kwargs)
        self.first_calls[shape] = time.perf_counter() - t0
        return out

    def one_off(self) -> dict[str, Any]:
        return {"kind": "compile", "seconds": sum(self.first_calls.values()), "shapes": len(self.first_calls),
                "detail": f"torch.compile mode={self.mode}: first call per input shape (compiling plus one run)"}
