"""What a backend is: a small descriptor, one per file in this folder, read by the catalog.

A descriptor states a backend's rules once (the precisions and devices it runs here, what it replaces,
the pip extra it needs) and how it builds its runtime; `run`, `tune`, `check` and the CLI ask it
instead of repeating them. It imports no torch and no runtime at import time, so the CLI can list the
backends cheaply.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segbench.errors import SegbenchError

ALL_PRECISIONS = ("fp32", "bf16", "fp16")
ALL_DEVICES = ("cpu", "cuda", "mps")
REPLACES = ("nothing", "network", "step")


class BackendUnavailable(SegbenchError):
    """A backend that cannot run this point here (not installed, wrong device or precision): the
    point becomes a failed row and the sweep goes on."""


@dataclass(frozen=True)
class Backend:
    """One way of running a workload.

    `replaces`: "nothing" (eager PyTorch, the reference), "network" (the network slot a workload
    exposes holds this backend's module during the point), or "step" (the library's own loop runs in
    place of segbench's step). `runtime(precision, device)` builds, for a "network" backend, the
    adapter that loads and runs an exported graph (`segbench.backends.exported.Runtime`)."""

    name: str
    help: str  # one line: what the CLI says about it
    replaces: str = "network"
    precisions: tuple[str, ...] = ALL_PRECISIONS
    devices: tuple[str, ...] = ALL_DEVICES  # device types it runs on here
    precision_note: str = ""  # why a precision is refused, where it is
    extra: str = ""  # `pip install 'segbench[extra]'`
    modules: tuple[str, ...] = ()  # importable modules the extra provides
    runtime: Callable[[str, Any], Any] | None = None

    def __post_init__(self) -> None:
        if self.replaces not in REPLACES:
            raise ValueError(f"backend {self.name}: replaces must be one of {REPLACES}, not {self.replaces!r}")
        if self.replaces == "network" and self.runtime is None:
            raise ValueError(f"backend {self.name}: a backend that replaces the network needs a runtime")

    # -- rules ------------------------------------------------------------------------------------
    def refusal(self, precision: str | None = None, device_type: str | None = None) -> str | None:
        """Why this backend does not run `precision` on `device_type` here (None: it does); either may
        be left out to ask about the other alone."""
        if precision is not None and precision not in self.precisions:
            note = f" ({self.precision_note})" if self.precision_note else ""
            return (f"{self.name} runs {'/'.join(self.precisions)} graphs only{note}, not {precision}: "
                    f"use --precision {self.precisions[0]} with --backend {self.name}")
        if device_type is not None and device_type not in self.devices:
            return f"the {self.name} backend runs on {'/'.join(self.devices)} here, not {device_type}"
        return None

    def runs(self, precision: str | None = None, device_type: str | None = None) -> bool:
        return self.refusal(precision, device_type) is None

    def installed(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in self.modules)

    def require(self) -> None:
        """BackendUnavailable naming the extra when one of its modules is missing."""
        for module in self.modules:
            if importlib.util.find_spec(module) is None:
                raise BackendUnavailable(f"{module} is not installed: pip install 'segbench[{self.extra}]'")

    # -- building ---------------------------------------------------------------------------------
    def wrap(self, original: Any, model_name: str, slot: Any, precision: str, device: Any) -> Any:
        """The module that sits in `slot` for one point (a "network" backend only): checked against
        the rules, its modules found, then the exported graph run by this backend's runtime."""
        if self.replaces != "network":
            raise ValueError(f"backend {self.name} replaces {self.replaces}, not a network slot")
        why = self.refusal(precision, device.type)
        if why:
            raise BackendUnavailable(why)
        self.require()
        from segbench.backends.exported import Exported

        return Exported(original, model_name, slot, precision, device, self.runtime(precision, device))
