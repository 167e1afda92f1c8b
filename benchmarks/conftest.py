"""pytest-benchmark suite: each workload at --quick size, through segbench's own workload code.

Run:  pytest benchmarks --benchmark-autosave
Gate: pytest benchmarks --benchmark-compare --benchmark-compare-fail=median:10%
Sizes: SEGBENCH_BENCH_DEVICE (default auto), SEGBENCH_BENCH_SAM_SIZE (default 1024, the published size).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from segbench.families import LoadOptions, build_workload, load_model  # noqa: E402
from segbench.families.registry import purpose_of  # noqa: E402
from segbench.measure.device import (  # noqa: E402
    autocast,
    check_precision,
    default_precision,
    resolve_device,
    synchronize,
)
from segbench.measure.harness import MeasureSettings  # noqa: E402
from segbench.workloads import WorkloadOptions  # noqa: E402
from segbench.workload_catalog import QUICK  # noqa: E402

SAM_SIZE = int(os.environ.get("SEGBENCH_BENCH_SAM_SIZE", "1024"))
ROUNDS = int(os.environ.get("SEGBENCH_BENCH_ROUNDS", "3"))


@pytest.fixture(scope="session")
def device() -> torch.device:
    return resolve_device(os.environ.get("SEGBENCH_BENCH_DEVICE", "auto"))


@pytest.fixture(scope="session")
def precision(device) -> str:
    chosen = os.environ.get("SEGBENCH_BENCH_PRECISION") or default_precision(device)
    check_precision(device, chosen)  # bf16 on a pre-Ampere card would otherwise run emulated
    return chosen


_MODELS: dict[tuple, Any] = {}


def loaded(model: str, device: torch.device, purpose: str = "image", resolution=None):
    """Models are cached across benchmarks: building SAM 2.1 is not what is measured."""
    key = (model, str(device), purpose, resolution)
    if key not in _MODELS:
        _MODELS[key] = load_model(model, LoadOptions(device, "auto", None, resolution, purpose=purpose))
    return _MODELS[key]


def run_workload(benchmark, model: str, workload: str, device, precision: str, batch_size: int = 1,
                 resolution=None, **options: Any) -> None:
    """Benchmark one workload's step exactly as `segbench run` times it (same prepare, same autocast)."""
    lm = loaded(model, device, purpose_of(workload, model), resolution)
    # The --quick inputs: 480p clips, a 128x128x64 scan, an 8x8 point grid, unless a test says otherwise.
    quick = {"video_size": QUICK.video_size, "frames": QUICK.frames, "volume": QUICK.volume,
             "points_per_side": QUICK.points_per_side}
    wl = build_workload(workload, lm, device, WorkloadOptions(**{**quick, **options}))
    settings = wl.settings_for(MeasureSettings(warmup=2, min_iters=ROUNDS, min_time_s=0))
    benchmark.extra_info.update(model=model, workload=workload, precision=precision, batch_size=batch_size,
                                weights=lm.weights, device=str(device), item_unit=wl.item_unit,
                                items_per_round=wl.items_per_step(batch_size))
    with torch.inference_mode(), autocast(device, precision):
        step = wl.prepare(batch_size)
        benchmark.pedantic(synced(step, device), rounds=settings.min_iters, warmup_rounds=settings.warmup, iterations=1)


def synced(fn, device: torch.device):
    """pytest-benchmark reads a host clock: wait for the device around each round, as `segbench run` does."""

    def run() -> None:
        synchronize(device)
        fn()
        synchronize(device)

    return run
