"""Execution configurations: which backend runs the workload (`segbench.backends.catalog`), and with
which torch.compile mode; and putting one in a workload's network slot for a point.

A plan holds them as labels ("eager", "compile", "compile:max-autotune", "official", "onnxruntime",
"openvino") so that plans and records stay plain data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from segbench.backends import catalog
from segbench.backends.base import Backend, BackendUnavailable
from segbench.errors import InputError

COMPILE_MODES = ("off", "default", "max-autotune")


def labels() -> tuple[str, ...]:
    """Every execution label, one spelling each."""
    return ("eager", "compile", "compile:max-autotune", *(n for n in catalog.names() if n != "eager"))


@dataclass(frozen=True)
class Execution:
    """How the workload runs: a backend, and a torch.compile mode for eager PyTorch. What a workload
    sweeps on its own (a tracker's offload) is not part of it (`segbench.bench.sweeps`)."""

    backend: str = "eager"
    compile: str = "off"

    @property
    def descriptor(self) -> Backend:
        return catalog.get(self.backend)

    @property
    def label(self) -> str:
        if self.compile != "off":
            return "compile" if self.compile == "default" else f"compile:{self.compile}"
        return self.backend

    @property
    def is_reference(self) -> bool:
        """Eager PyTorch, uncompiled: what every other configuration is checked against (at fp32)."""
        return self.backend == "eager" and self.compile == "off"

    @property
    def is_official(self) -> bool:
        """The library's own loop in place of segbench's step (eager PyTorch, nothing replaced)."""
        return self.descriptor.replaces == "step"

    @property
    def replaces_network(self) -> bool:
        """Compiled or exported: the workload's network slot holds something else during the point."""
        return self.compile != "off" or self.descriptor.replaces == "network"

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "backend": self.backend, "compile": self.compile}


def parse_execution(label: str) -> Execution:
    if label in ("compile", "compile:default"):
        return Execution(compile="default")
    if label == "compile:max-autotune":
        return Execution(compile="max-autotune")
    if label in catalog.BACKENDS:
        return Execution(backend=label)
    raise InputError(f"unknown execution '{label}': use {', '.join(labels())}")


def executions_from(compile_modes: list[str], backends: list[str]) -> list[str]:
    """`--compile` x `--backend` as labels: compile applies to eager PyTorch only (an exported graph is
    already compiled by its runtime), so the other backends run once each, uncompiled."""
    for mode in compile_modes:
        if mode not in COMPILE_MODES:
            raise InputError(f"unknown --compile mode '{mode}': use {', '.join(COMPILE_MODES)}")
    for backend in backends:
        catalog.get(backend)
    out = [Execution(backend, mode).label for backend in backends
           for mode in (compile_modes if backend == "eager" else ["off"])]
    return list(dict.fromkeys(out))


# -- in the slot, for one point ------------------------------------------------------------------------


class Installed:
    """What sits in the slot during the point; `one_off()` its one-time costs so far."""

    def __init__(self, module: Any = None) -> None:
        self.module = module

    def one_off(self) -> dict[str, Any] | None:
        return self.module.one_off() if self.module is not None else None


def wrapper_for(execution: Execution, original: Any, model_name: str, slot: Any, precision: str, device: Any) -> Any:
    if execution.compile != "off":
        from segbench.backends.compiled import Compiled

        return Compiled(original, execution.compile)
    return execution.descriptor.wrap(original, model_name, slot, precision, device)


@contextmanager
def installed(execution: Execution, slot: Any, model_name: str, workload: str, precision: str,
              device: Any) -> Iterator[Installed]:
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
