"""The result record: one per measured point (model x workload x precision x batch size).

Records are plain JSON objects in JSON Lines files. `schema_version` lets later versions read
older files; a file from a newer segbench is refused with a clear message (see `store.py`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

# Workload params that describe rather than set the cost; left out of matching so that rewording
# them never breaks a comparison across segbench versions.
DESCRIPTIVE_PARAMS = frozenset({"timed", "flops_counted", "normalisation", "windowing", "memory_bank_dtype", "scope"})

# What a record's `status` may say. A failure is a row, not a crash.
STATUSES = ("ok", "oom", "error", "interrupted", "skipped")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Record:
    """One measured point. Field groups are dicts so each workload can add what it measures."""

    model: str  # registry name, e.g. "sam2.1-tiny"
    workload: str  # image | prompt | auto | video | volume
    precision: str  # fp32 | fp16 | bf16
    batch_size: int  # images per batch; objects for video; sliding-window batch for volume
    device: str  # "cpu", "cuda:0"
    status: str = "ok"
    kind: str = "run"  # run | soak
    weights: str = "random"  # pretrained | random
    checkpoint: str | None = None
    model_family: str = ""
    # What went in: {"source": "synthetic" | path, "key": stable id for matching, "resolution": [h, w], ...}
    input: dict[str, Any] = field(default_factory=dict)
    # Workload parameters that change the cost (model resolution, points per side, roi, overlap, ...).
    params: dict[str, Any] = field(default_factory=dict)
    # Harness settings: warmup, min_iters, min_time_s.
    settings: dict[str, Any] = field(default_factory=dict)
    # Statistics of `samples_s` (see measure/stats.py) plus throughput.
    stats: dict[str, Any] = field(default_factory=dict)
    # Raw per-iteration latency of one step (one batch), seconds, warm-up excluded. Kept for compare.
    samples_s: list[float] = field(default_factory=list)
    # peak_allocated_bytes, peak_reserved_bytes, nvml_used_end_bytes, peak_rss_bytes, ...
    memory: dict[str, Any] = field(default_factory=dict)
    # per_item (FLOPs of one image/frame/volume), achieved_tflops, peak_tflops, fraction_of_peak
    flops: dict[str, Any] = field(default_factory=dict)
    # Workload-specific results: masks produced, steady-state fps, voxels/s, ...
    metrics: dict[str, Any] = field(default_factory=dict)
    # How the network ran: {"label", "backend", "compile", "one_off": {...}, "break_even_items"} (segbench.backends).
    execution: dict[str, Any] = field(default_factory=lambda: {"label": "eager", "backend": "eager", "compile": "off"})
    # Outputs against the fp32 eager reference on the same inputs: rel_error, max_abs_error, mask_iou.
    fidelity: dict[str, Any] = field(default_factory=dict)
    # Telemetry summary (min/median/max per signal, throttle seconds, throttled flag, sidecar path).
    telemetry: dict[str, Any] = field(default_factory=dict)
    # Machine and software fingerprint (records/environment.py).
    environment: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    run_id: str = ""  # groups the records of one `segbench run` invocation
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=_now)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Record":
        known = {f.name for f in dataclasses.fields(cls)}
        missing = [name for name in ("model", "workload", "precision", "batch_size", "device") if name not in data]
        if missing:
            raise ValueError(f"record lacks required field(s): {', '.join(missing)}")
        # Unknown keys from a same-version writer are dropped rather than refused.
        return cls(**{k: v for k, v in data.items() if k in known})

    def params_key(self) -> str:
        """A short digest of the params that change the cost (model size, roi, overlap, points, ...)."""
        settings = {k: v for k, v in sorted(self.params.items()) if k not in DESCRIPTIVE_PARAMS}
        return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]

    def match_key(self) -> tuple:
        """What `compare` matches on: the same work, with the same settings, on possibly different code
        or hardware."""
        return (self.kind, self.model, self.workload, self.precision, int(self.batch_size), self.input.get("key", ""),
                self.execution_label, self.params_key())

    @property
    def execution_label(self) -> str:
        """"eager", "compile", "onnxruntime", ...: records from before execution axes ran eager."""
        return str((self.execution or {}).get("label", "eager"))

    @property
    def hardware(self) -> str:
        return str(self.environment.get("hardware", "unknown"))
