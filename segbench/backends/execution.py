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


# Where SAM 2.1's video predictor keeps a clip (its init_state flags): the memory/speed trade of a
# small GPU as one more swept axis. "video": the decoded frames in host RAM; "state": the memory bank.
OFFLOADS = {"none": (False, False), "video": (True, False), "state": (False, True), "both": (True, True)}
_OFFLOAD_TAG = "+offload:"


def labels() -> tuple[str, ...]:
    """Every execution label, one spelling each."""
    return ("eager", "compile", "compile:max-autotune", *(n for n in catalog.names() if n != "eager"))


@dataclass(frozen=True)
class Execution:
    backend: str = "eager"
    compile: str = "off"
    offload: str = "none"

    @property
    def descriptor(self) -> Backend:
        return catalog.get(self.backend)

    @property
    def label(self) -> str:
        if self.compile != "off":
            base = "compile" if self.compile == "default" else f"compile:{self.compile}"
        else:
            base = self.backend
        return base if self.offload == "none" else f"{base}{_OFFLOAD_TAG}{self.offload}"

    @property
    def is_reference(self) -> bool:
        """Eager PyTorch, uncompiled, nothing offloaded: what every other configuration is checked against (at fp32)."""
        return self.backend == "eager" and self.compile == "off" and self.offload == "none"

    @property
    def is_official(self) -> bool:
        """The library's own loop in place of segbench's step (eager PyTorch, nothing replaced)."""
        return self.descriptor.replaces == "step"

    @property
    def replaces_network(self) -> bool:
        """Compiled or exported: the workload's network slot holds something else during the point."""
        return self.compile != "off" or self.descriptor.replaces == "network"

    @property
    def offload_flags(self) -> tuple[bool, bool]:
        """(offload_video_to_cpu, offload_state_to_cpu)."""
        return OFFLOADS[self.offload]

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "backend": self.backend, "compile": self.compile, "offload": self.offload}


def parse_execution(label: str) -> Execution:
    base, tagged, offload = label.partition(_OFFLOAD_TAG)
    if tagged and offload not in set(OFFLOADS) - {"none"}:  # one spelling per configuration: "eager", not "eager+offload:none"
        raise InputError(f"unknown offload '{offload}' in '{label}': use {', '.join(o for o in OFFLOADS if o != 'none')}")
    offload = offload or "none"
    if base in ("compile", "compile:default"):
        return Execution(compile="default", offload=offload)
    if base == "compile:max-autotune":
        return Execution(compile="max-autotune", offload=offload)
    if base in catalog.BACKENDS:
        return Execution(backend=base, offload=offload)
    raise InputError(f"unknown execution '{label}': use {', '.join(labels())}")


def executions_from(compile_modes: list[str], backends: list[str], offloads: list[str] = ("none",)) -> list[str]:
    """`--compile` x `--backend` x `--offload` as labels: compile applies to eager PyTorch only (an
    exported graph is already compiled by its runtime), so the other backends run once each, uncompiled."""
    for mode in compile_modes:
        if mode not in COMPILE_MODES:
            raise InputError(f"unknown --compile mode '{mode}': use {', '.join(COMPILE_MODES)}")
    for backend in backends:
        catalog.get(backend)
    for offload in offloads:
        if offload not in OFFLOADS:
            raise InputError(f"unknown --offload '{offload}': use {', '.join(OFFLOADS)}")
    out = []
    for offload in offloads:
        for backend in backends:
            for mode in (compile_modes if backend == "eager" else ["off"]):
                out.append(Execution(backend, mode, offload).label)
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
