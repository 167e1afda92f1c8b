"""Execution configurations: which backend runs the slot, and with which torch.compile mode.

A plan holds them as labels ("eager", "compile", "compile:max-autotune", "official", "onnxruntime",
"openvino") so that plans and records stay plain data. "official" is not a runtime but a harness: the
model library's own documented loop (the sam2 README's predictor calls, MONAI's bare
sliding_window_inference) written as a user writes it, timed beside segbench's step of the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from segbench.errors import InputError

BACKENDS = ("eager", "official", "onnxruntime", "openvino")
COMPILE_MODES = ("off", "default", "max-autotune")
EXECUTIONS = ("eager", "compile", "compile:max-autotune", "official", "onnxruntime", "openvino")


# Where SAM 2.1's video predictor keeps a clip (its init_state flags): the memory/speed trade of a
# small GPU as one more swept axis. "video": the decoded frames in host RAM; "state": the memory bank.
OFFLOADS = {"none": (False, False), "video": (True, False), "state": (False, True), "both": (True, True)}
_OFFLOAD_TAG = "+offload:"


@dataclass(frozen=True)
class Execution:
    backend: str = "eager"
    compile: str = "off"
    offload: str = "none"

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
        return self.backend == "official"

    @property
    def replaces_network(self) -> bool:
        """Compiled or exported: the workload's network slot holds something else during the point."""
        return self.compile != "off" or self.backend in ("onnxruntime", "openvino")

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
    if base == "eager":
        return Execution(offload=offload)
    if base in ("compile", "compile:default"):
        return Execution(compile="default", offload=offload)
    if base == "compile:max-autotune":
        return Execution(compile="max-autotune", offload=offload)
    if base in ("official", "onnxruntime", "openvino"):
        return Execution(backend=base, offload=offload)
    raise InputError(f"unknown execution '{label}': use {', '.join(EXECUTIONS)}")


def executions_from(compile_modes: list[str], backends: list[str], offloads: list[str] = ("none",)) -> list[str]:
    """`--compile` x `--backend` x `--offload` as labels: compile applies to eager PyTorch only (an
    exported graph is already compiled by its runtime), so the other backends run once each, uncompiled."""
    for mode in compile_modes:
        if mode not in COMPILE_MODES:
            raise InputError(f"unknown --compile mode '{mode}': use {', '.join(COMPILE_MODES)}")
    for backend in backends:
        if backend not in BACKENDS:
            raise InputError(f"unknown --backend '{backend}': use {', '.join(BACKENDS)}")
    for offload in offloads:
        if offload not in OFFLOADS:
            raise InputError(f"unknown --offload '{offload}': use {', '.join(OFFLOADS)}")
    out = []
    for offload in offloads:
        for backend in backends:
            for mode in (compile_modes if backend == "eager" else ["off"]):
                out.append(Execution(backend, mode, offload).label)
    return list(dict.fromkeys(out))
