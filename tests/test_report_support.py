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


def _stats(samples: list[float], batch: int, unit: str) -> dict[str, Any]:
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
        "per_item_latency_s": summary(arr / batch),
        "items_per_s": float(batch / np.median(arr)),
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
        input={"source": "synthetic", "key": input_key},
        params=params or {},
        settings={"warmup": 2, "min_iters": 10, "min_time_s": 1.0},
        stats=_stats(samples, batch_size, unit) if samples else {},
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


def write(path: Path, records: list[Record]) -> Path:
    append_records(path, records)
    return path


def test_support_records_round_trip(tmp_path: Path) -> None:
    from segbench.records.store import read_records

    path = write(tmp_path / "r.jsonl", [make_record(), make_record(status="oom", batch_size=64)])
    back = read_records([path])
    assert [r.status for r in back] == ["ok", "oom"]
    assert back[0].stats["latency_s"]["n"] == 40 and len(back[0].samples_s) == 40
