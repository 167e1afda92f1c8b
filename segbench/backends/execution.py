"""Execution configurations: which backend runs the slot, and with which torch.compile mode.

A plan holds them as labels ("eager", "compile", "compile:max-autotune", "onnxruntime", "openvino")
so that plans and records stay plain data.
"""

from __future__ import annotations

from dataclasses import dataclass

from segbench.errors import InputError

BACKENDS = ("eager", "onnxruntime", "openvino")
COMPILE_MODES = ("off", "default", "max-autotune")
EXECUTIONS = ("eager", "compile", "compile:max-autotune", "onnxruntime", "openvino")


@dataclass(frozen=True)
class Execution:
    backend: str = "eager"
    compile: str = "off"

    @property
    def label(self) -> str:
        if self.compile != "off":
            return "compile" if self.compile == "default" else f"compile:{self.compile}"
        return self.backend

    @property
    def is_reference(self) -> bool:
        """Eager PyTorch, uncompiled: what every other configuration is checked against (at fp32)."""
        return self.backend == "eager" and self.compile == "off"

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "backend": self.backend, "compile": self.compile}


def parse_execution(label: str) -> Execution:
    if label == "eager":
        return Execution()
    if label in ("compile", "compile:default"):
        return Execution(compile="default")
    if label == "compile:max-autotune":
        return Execution(compile="max-autotune")
    if label in ("onnxruntime", "openvino"):
        return Execution(backend=label)
    raise InputError(f"unknown execution '{label}': use {', '.join(EXECUTIONS)}")


def executions_from(compile_modes: list[str], backends: list[str]) -> list[str]:
    """`--compile` x `--backend` as labels: compile applies to eager PyTorch only (an exported graph
    is already compiled by its runtime), so the other backends run once each, uncompiled."""
    for mode in compile_modes:
        if mode not in COMPILE_MODES:
            raise InputError(f"unknown --compile mode '{mode}': use {', '.join(COMPILE_MODES)}")
    for backend in backends:
        if backend not in BACKENDS:
            raise InputError(f"unknown --backend '{backend}': use {', '.join(BACKENDS)}")
    out = []
    for backend in backends:
        for mode in (compile_modes if backend == "eager" else ["off"]):
            out.append(Execution(backend, mode).label)
    return list(dict.fromkeys(out))
