"""Synthetic result records for the report/compare/export tests (imported by those test files).

Records are built the way `segbench run` writes them (schema.Record, records.store.append_records);
latencies are drawn from a seeded log-normal so every test is deterministic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from segbench.records.schema import Record
from segbench.records.store import append_records

GIB = 1024**3
HARDWARE = "AMD EPYC 9454 (2 threads) / no GPU"


def latency_samples(median_s: float, n: int = 40, *, noise: float = 0.03, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(median_s * np.exp(rng.normal(0.0, noise, size=n)))


def _stats(samples: list[float], items: int, unit: str) -> dict[str, Any]:
    """Shaped as sweep.fill_stats writes them: `items` = the workload's items_per_step(batch size)."""
    arr = np.asarray(samples)

    def summary(a: np.ndarray) -> dict[str, float]:
        q = np.percentile(a, [10, 25, 50, 75, 90, 99])
        return {
            "n": int(a.size), "mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
            "min": float(a.min()), "p10": float(q[0]), "p25": float(q[1]), "median": float(q[2]),
            "p75": float(q[3]), "p90": float(q[4]), "p99": float(q[5]), "max": float(a.max()),
            "iqr": float(q[3] - q[1]), "iqr_rel": float((q[3] - q[1]) / q[2]),
        }

    return {
        "latency_s": summary(arr),
        "per_item_latency_s": summary(arr / items),
        "items_per_s": float(items / np.median(arr)),
        "items_per_step": items,
        "item_unit": unit,
    }


def make_record(
    model: str = "sam2.1-tiny",
    workload: str = "image",
    precision: str = "fp32",
    batch_size: int = 1,
    *,
    median_s: float | None = None,
    samples: list[float] | None = None,
    seed: int = 0,
    status: str = "ok",
    hardware: str = HARDWARE,
    host: str = "bench-1",
    weights: str = "random",
    input_key: str = "synthetic-1024",
    memory: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    unit: str = "image",
    kind: str = "run",
    created: str = "2025-01-01T00:00:00+00:00",
    telemetry: dict[str, Any] | None = None,
    device: str = "cpu",
    input_info: dict[str, Any] | None = None,
    items_per_step: int | None = None,
) -> Record:
    if status == "ok" and samples is None:
        samples = latency_samples(median_s if median_s is not None else 0.05 * batch_size, seed=seed)
    samples = samples or []
    return Record(
        model=model,
        workload=workload,
        precision=precision,
        batch_size=batch_size,
        device=device,
        status=status,
        kind=kind,
        weights=weights,
        input={"source": "synthetic", "key": input_key, **(input_info or {})},
        params=params or {},
        settings={"warmup": 2, "min_iters": 10, "min_time_s": 1.0},
        stats=_stats(samples, items_per_step or batch_size, unit) if samples else {},
        samples_s=samples,
        memory=memory if memory is not None else {"peak_rss_bytes": int(0.5 * GIB + batch_size * 0.1 * GIB)},
        metrics=metrics or {},
        telemetry=telemetry or {},
        environment={
            "hardware": hardware,
            "host": host,
            "git_commit": "0123abcd",
            "versions": {"torch": "2.14.1", "python": "3.11.9"},
            "torch_threads": 2,
        },
        error="CUDA out of memory" if status == "oom" else ("boom" if status == "error" else None),
        run_id="run-test",
        created=created,
    )


def volume_record(
    whd: tuple[int, int, int] = (128, 128, 64),
    depths: dict[int, tuple[str, int | None]] | None = None,
    *,
    peak_kind: str = "gpu_allocated",
    roi: tuple[int, int, int] = (96, 96, 96),
    **kwargs: Any,
) -> Record:
    """A MONAI sliding-window record with the fields workloads/volume.py (SlidingWindowVolume) writes:
    params.volume_whd, input.shape_whd, metrics.memory_by_depth; `depths` = {depth: (status, peak bytes)}."""
    w, h, d = whd
    by_depth = []
    for depth, (status, peak) in sorted((depths or {}).items()):
        entry: dict[str, Any] = {"depth": depth, "voxels": w * h * depth, "windows": 4 * depth // 64 or 1,
                                 "status": status}
        if status == "ok":
            entry["seconds"] = 0.01 * depth
        if status != "skipped":
            entry.update(peak_bytes=peak, peak_kind=peak_kind)
        by_depth.append(entry)
    kwargs.setdefault("model", "monai-unet")
    kwargs.setdefault("median_s", 0.5)
    return make_record(
        workload="volume",
        unit="volume",
        items_per_step=1,
        input_key=f"phantom:{whd}",
        input_info={"source": "phantom", "shape_whd": list(whd), "voxels": w * h * d, "spacing_mm": None},
        params={"resolution": list(roi), "roi": list(roi), "overlap": 0.25, "aggregate_on": "device",
                "blend_mode": "constant", "volume_whd": list(whd), "windows": 4, "network": "unet",
                "out_channels": 14, "normalisation": "clip -1000..1000, scale to 0..1 (before timing)",
                "timed": "sliding_window_inference over the whole volume"},
        metrics={"seconds_per_volume": 0.5, "voxels": w * h * d, "windows": 4,
                 "sw_batch_size": kwargs.get("batch_size", 1), "memory_by_depth": by_depth},
        **kwargs,
    )


def video_record(source_hw: tuple[int, int] = (480, 854), fps_steady: float = 5.0, **kwargs: Any) -> Record:
    """A SAM 2.1 video record as workloads/video.py writes it: the model runs at 1024×1024
    (params.resolution), the clip's own size is input.source_size [h, w], fps in metrics.fps_steady."""
    h, w = source_hw
    return make_record(
        workload="video",
        unit="frame",
        items_per_step=1,
        input_key=f"synthetic:{w}x{h}:16f",
        input_info={"frames": 16, "source_size": [h, w]},
        params={"resolution": [1024, 1024], "frames": 16, "num_maskmem": 7, "prompt": "point",
                "memory_bank_dtype": "bfloat16", "steady_from_frame": 7},
        metrics={"fps_steady": fps_steady, "fps_warmup": fps_steady * 1.5, "frames_run": 16,
                 "steady_state_reached": True, "objects": kwargs.get("batch_size", 1)},
        **kwargs,
    )


def write(path: Path, records: list[Record]) -> Path:
    append_records(path, records)
    return path
