"""Putting an execution configuration in a workload's network slot for one point, and taking it out."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch

from segbench.backends.exported import BackendUnavailable
from segbench.backends.execution import Execution
from segbench.backends.slot import NetworkSlot


class Installed:
    """What sits in the slot during the point; `one_off()` its one-time costs so far."""

    def __init__(self, module: Any = None) -> None:
        self.module = module

    def one_off(self) -> dict[str, Any] | None:
        return self.module.one_off() if self.module is not None else None


def wrapper_for(execution: Execution, original: torch.nn.Module, model_name: str, slot: NetworkSlot,
                precision: str, device: torch.device) -> torch.nn.Module:
    if execution.compile != "off":
        from segbench.backends.compiled import Compiled

        return Compiled(original, execution.compile)
    from segbench.backends.runtimes import OnnxRuntime, OpenVino

    runtime = {"onnxruntime": OnnxRuntime, "openvino": OpenVino}[execution.backend]
    return runtime(original, model_name, slot, precision, device)


@contextmanager
def installed(execution: Execution, slot: NetworkSlot | None, model_name: str, workload: str, precision: str,
              device: torch.device) -> Iterator[Installed]:
    """The slot holds the configuration's network inside the block and its own network after it."""
    if not execution.replaces_network:
        yield Installed()
        return
    if slot is None:
        raise BackendUnavailable(f"{model_name} {workload}: no network that --compile / --backend can replace "
                                 "(they apply to image encoders, Mask2Former and the MONAI networks)")
    original = slot.get()
    wrapper = wrapper_for(execution, original, model_name, slot, precision, device)
    slot.set(wrapper)
    try:
        yield Installed(wrapper)
    finally:
        slot.set(original)
