"""Records -> one flat pandas table (one row per record) that plots and tables read from.

Every field is looked up tolerantly: a record from an older writer, a failed point or a workload
that does not measure something gives NaN/None there, never an exception.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from segbench.formatting import is_number
from segbench.records.schema import Record

# Which memory figure stands for "peak memory", best first. Reserved is what has to fit under
# the device's capacity (the caching allocator holds it), so it is compared with the ceiling.
MEMORY_SOURCES = (
    ("peak_reserved_bytes", "torch reserved"),
    ("peak_allocated_bytes", "torch allocated"),
    ("nvml_used_end_bytes", "NVML used at the end"),
    ("peak_rss_bytes", "process RSS"),
)
# `metrics.memory_by_depth[].peak_kind` (workloads/volume.py) in the same words as MEMORY_SOURCES.
PEAK_KIND_LABELS = {"gpu_allocated": "torch allocated", "host_rss": "process RSS"}

COLUMNS = [
    "id", "run_id", "created", "kind", "model", "workload", "precision", "batch_size", "device",
    "status", "weights", "input_key", "execution", "params_key", "hardware", "host", "git_commit", "torch_threads", "error",
    "n_samples", "lat_median_s", "lat_mean_s", "lat_p10_s", "lat_p90_s", "lat_iqr_rel",
    "item_median_s", "items_per_s", "item_unit", "mem_bytes", "mem_source", "device_total_bytes",
    "fps_steady", "fps_warmup", "resolution_label", "resolution_pixels", "volume_depth",
    "seconds_per_volume", "memory_by_depth", "throttled", "series",
]
# The columns of `depth_frame`: one row per (record, depth) of the memory-vs-depth runs.
DEPTH_COLUMNS = [
    "id", "created", "kind", "hardware", "model", "workload", "precision", "batch_size", "input_key", "execution",
    "params_key",
    "device_total_bytes", "depth", "status", "mem_bytes", "mem_source", "seconds",
]


def _num(value: Any) -> float:
    return float(value) if is_number(value) else np.nan


def _latency(record: Record) -> dict[str, float]:
    """Batch latency statistics: from `stats` when present, else computed from the raw samples."""
    lat = record.stats.get("latency_s") if isinstance(record.stats.get("latency_s"), dict) else {}
    samples = np.asarray([s for s in record.samples_s if is_number(s)], dtype=float)
    out = {
        "lat_median_s": _num(lat.get("median")),
        "lat_mean_s": _num(lat.get("mean")),
        "lat_p10_s": _num(lat.get("p10")),
        "lat_p90_s": _num(lat.get("p90")),
        "lat_iqr_rel": _num(lat.get("iqr_rel")),
        "n_samples": float(lat["n"]) if is_number(lat.get("n")) else float(samples.size),
    }
    if samples.size:
        fallbacks = {
            "lat_median_s": np.median(samples),
            "lat_mean_s": samples.mean(),
            "lat_p10_s": np.percentile(samples, 10),
            "lat_p90_s": np.percentile(samples, 90),
        }
        for key, value in fallbacks.items():
            if np.isnan(out[key]):
                out[key] = float(value)
        if np.isnan(out["lat_iqr_rel"]) and out["lat_median_s"] > 0:
            q75, q25 = np.percentile(samples, [75, 25])
            out["lat_iqr_rel"] = float((q75 - q25) / out["lat_median_s"])
    return out


def _memory(record: Record) -> tuple[float, str | None]:
    for key, label in MEMORY_SOURCES:
        if is_number(record.memory.get(key)):
            return float(record.memory[key]), label
    return np.nan, None


def parse_resolution(value: Any) -> tuple[str | None, float]:
    """(label, pixel count) from 1024, [h, w], (h, w) or "HxW"; (None, nan) when unreadable."""
    if is_number(value):
        return f"{int(value)}×{int(value)}", float(value) ** 2
    if isinstance(value, str) and "x" in value.lower():
        parts = value.lower().split("x")
        try:
            value = [int(p) for p in parts]
        except ValueError:
            return value, np.nan
    if isinstance(value, (list, tuple)) and len(value) >= 2 and all(is_number(v) for v in value[:2]):
        h, w = int(value[0]), int(value[1])
        return f"{h}×{w}", float(h * w)
    return None, np.nan


def _volume_depth(record: Record) -> float:
    """Slices of the scan run: `params.volume_whd` / `input.shape_whd` as workloads/volume.py writes them."""
    volume = record.params.get("volume_whd", record.input.get("shape_whd"))
    if isinstance(volume, (list, tuple)) and len(volume) == 3 and is_number(volume[2]):
        return float(volume[2])
    return np.nan


def _source_resolution(record: Record, metrics: dict[str, Any]) -> Any:
    """What the input measured (video: the clip's own [h, w], not the model's 1024×1024), else the
    model's resolution."""
    for value in (record.input.get("source_size"), metrics.get("source_resolution")):
        if value is not None:
            return value
    return record.params.get("resolution", record.input.get("resolution"))


def _items_per_s(stats: dict[str, Any], median_s: float) -> float:
    """Stored throughput, else items per step over the median step (an older writer): a prompt step
    holds 2 items per batch and a video/volume step 1, so batch size is not the item count."""
    if is_number(stats.get("items_per_s")):
        return float(stats["items_per_s"])
    if is_number(stats.get("items_per_step")) and median_s > 0:
        return float(stats["items_per_step"]) / median_s
    return np.nan


def _depth_runs(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    runs = metrics.get("memory_by_depth")
    return [r for r in runs if isinstance(r, dict) and is_number(r.get("depth"))] if isinstance(runs, list) else []


def machine_label(record: Record) -> str:
    """The machine a record ran on, as the report names it: its hardware, and for a fleet record the
    kind of node it ran on where the hardware name does not already say it (several kinds of node
    can share one hardware name: custom resources standing in for GPU kinds, CPU-only nodes)."""
    hardware = record.hardware
    fleet = record.environment.get("fleet") if isinstance(record.environment, dict) else None
    kind = str(fleet.get("kind") or "") if isinstance(fleet, dict) else ""
    if not kind or kind == "any" or re.search(rf"(?<!\w){re.escape(kind)}(?!\w)", hardware, re.IGNORECASE):
        return hardware
    return f"{hardware} · kind {kind}"


def spec_peak(record: Record) -> float:
    """The spec-sheet peak (TFLOP/s) of the record's GPU at its precision; NaN off a catalogued GPU.
    Looked up here, not by the runner: the runner records what it measured and does not import the advisor."""
    if not str(record.device).startswith("cuda"):
        return float("nan")
    from segbench.advisor import spec_peak_tflops

    env = record.environment if isinstance(record.environment, dict) else {}
    return _num(spec_peak_tflops(str(env.get("hardware", "")), str(record.precision)))


def record_row(record: Record) -> dict[str, Any]:
    env = record.environment if isinstance(record.environment, dict) else {}
    stats = record.stats if isinstance(record.stats, dict) else {}
    per_item = stats.get("per_item_latency_s") if isinstance(stats.get("per_item_latency_s"), dict) else {}
    metrics = record.metrics if isinstance(record.metrics, dict) else {}
    mem_bytes, mem_source = _memory(record)
    res_label, res_pixels = parse_resolution(_source_resolution(record, metrics))
    row: dict[str, Any] = {
        "id": record.id,
        "run_id": record.run_id,
        "created": record.created,
        "kind": record.kind,
        "model": str(record.model),
        "workload": str(record.workload),
        "precision": str(record.precision),
        "batch_size": int(record.batch_size),
        "device": str(record.device),
        "status": str(record.status),
        "weights": str(record.weights),
        "input_key": str(record.input.get("key", "")),
        "execution": record.execution_label,
        # The settings part of Record.match_key(): two rows are the same point only if these agree too.
        "params_key": record.params_key(),
        "hardware": machine_label(record),
        "host": str(env.get("host", "unknown")),
        "git_commit": str(env.get("git_commit") or "unknown"),
        "torch_threads": env.get("torch_threads"),
        "error": record.error,
        "item_median_s": _num(per_item.get("median")),
        "item_unit": str(stats.get("item_unit") or "item"),
        "mem_bytes": mem_bytes,
        "mem_source": mem_source,
        "device_total_bytes": _num(record.memory.get("device_total_bytes")),
        "fps_steady": _num(metrics.get("fps_steady")),
        "fps_warmup": _num(metrics.get("fps_warmup")),
        "resolution_label": res_label,
        "resolution_pixels": res_pixels,
        "volume_depth": _volume_depth(record),
        "seconds_per_volume": _num(metrics.get("seconds_per_volume")),
        "memory_by_depth": _depth_runs(metrics),
        "throttled": bool(record.telemetry.get("throttled")) if isinstance(record.telemetry, dict) else False,
        # Beside the measured peak the record holds: the data sheet's, where the GPU catalog has the device.
        "spec_peak_tflops": spec_peak(record),
    }
    row.update(_latency(record))
    row["items_per_s"] = _items_per_s(stats, row["lat_median_s"])
    row["series"] = f"{row['model']} {row['precision']}"
    return row


def records_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per record, columns as in `COLUMNS`; sorted for stable tables and plots."""
    frame = pd.DataFrame([record_row(r) for r in records], columns=COLUMNS)
    if frame.empty:
        return frame
    return frame.sort_values(["hardware", "workload", "model", "precision", "batch_size", "created"]).reset_index(
        drop=True
    )


def depth_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The volume workload's memory-vs-depth runs (`metrics.memory_by_depth`), one row per depth,
    with the record's point columns; `status` and `mem_bytes` are the depth's own."""
    rows = []
    for record in frame.to_dict("records"):
        runs = record["memory_by_depth"]
        if not runs and record["status"] == "oom" and math.isfinite(record["volume_depth"]):
            # The timed run itself ran out of memory: an OOM at the scan's own depth.
            runs = [{"depth": record["volume_depth"], "status": "oom"}]
        for run in runs:
            rows.append({
                **{c: record[c] for c in DEPTH_COLUMNS if c in record and c not in ("status", "mem_bytes", "mem_source")},
                "depth": float(run["depth"]),
                "status": str(run.get("status", "unknown")),
                "mem_bytes": _num(run.get("peak_bytes")),
                "mem_source": PEAK_KIND_LABELS.get(str(run.get("peak_kind")), run.get("peak_kind")),
                "seconds": _num(run.get("seconds")),
            })
    return pd.DataFrame(rows, columns=DEPTH_COLUMNS)


def ok_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "ok"]
