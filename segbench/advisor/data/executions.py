"""Measured execution ratios (profile `execution_ratios.yaml`): how much faster (or slower) a
configuration other than eager PyTorch ran than eager on the same machine, inputs and precision,
measured side by side. Written by `python -m segbench.maintenance ratios RECORDS...` from `run` or
`tune` records; read here only. `check --compile` / `check --backend` on a device kind these were
measured on apply them (`advisor.model.executions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from segbench.profiles import profile_path
from segbench.profiles.reading import Entry, read_yaml, section_list, top_level

FILE = "execution_ratios.yaml"
_FIELDS = ("id", "execution", "device_kind", "hardware", "model", "workload", "precision", "batch_size",
           "eager_seconds_per_item", "seconds_per_item", "ratio", "one_off_s", "rel_error", "measured", "records")


@dataclass(frozen=True)
class ExecutionRatio:
    """One configuration's time per item over eager's, the two measured beside each other."""

    id: str
    execution: str  # compile | compile:max-autotune | onnxruntime | openvino
    device_kind: str  # cpu | gpu
    hardware: str
    model: str
    workload: str
    precision: str
    batch_size: int
    eager_seconds_per_item: float
    seconds_per_item: float
    one_off_s: float | None = None
    rel_error: float | None = None
    measured: str = ""
    records: str = ""  # the records file (or run) it came from

    @property
    def ratio(self) -> float:
        return self.seconds_per_item / self.eager_seconds_per_item

    def to_dict(self) -> dict:
        return {"id": self.id, "execution": self.execution, "device_kind": self.device_kind,
                "hardware": self.hardware, "model": self.model, "workload": self.workload,
                "precision": self.precision, "batch_size": self.batch_size,
                "eager_seconds_per_item": self.eager_seconds_per_item, "seconds_per_item": self.seconds_per_item,
                "ratio": round(self.ratio, 4), "one_off_s": self.one_off_s, "rel_error": self.rel_error,
                "measured": self.measured, "records": self.records}


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[ExecutionRatio, ...]:
    data = top_level(read_yaml(path), path, ("ratios",), ("method",))
    out = []
    for i, raw in enumerate(section_list(data, "ratios", path)):
        e = Entry.listed(raw, path, "ratios", i, _FIELDS, key="id")
        out.append(ExecutionRatio(
            id=e.text("id"), execution=e.text("execution"), device_kind=e.choice("device_kind", ("cpu", "gpu")),
            hardware=e.text("hardware"), model=e.text("model"), workload=e.text("workload"),
            precision=e.text("precision"), batch_size=e.integer("batch_size"),
            eager_seconds_per_item=e.number("eager_seconds_per_item", minimum=1e-9),
            seconds_per_item=e.number("seconds_per_item", minimum=1e-9),
            one_off_s=e.number("one_off_s", required=False), rel_error=e.number("rel_error", required=False),
            measured=e.text("measured", required=False) or "", records=e.text("records", required=False) or ""))
    return tuple(out)


def execution_ratios() -> tuple[ExecutionRatio, ...]:
    return _load(profile_path(FILE))
