"""Building a plan the way `segbench run` does: the defaults of a full run, or `--quick`'s small ones.

The command line and the Python API both build their plans here, so the same options give the same
points. Anything left as None takes the preset's value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from segbench.bench.plan import Plan, SoakSettings
from segbench.bench.sweeps import migrate
from segbench.errors import InputError
from segbench.measure.harness import MeasureSettings
from segbench.workloads.base import WorkloadOptions
from segbench.workload_catalog import FULL, QUICK

# --quick: small sweeps that finish in minutes on 2 CPU cores, the same models at their published sizes.
QUICK_SETTINGS = MeasureSettings(warmup=2, min_iters=3, min_time_s=1.0)
FULL_SETTINGS = MeasureSettings(warmup=2, min_iters=5, min_time_s=3.0)
QUICK_BATCH_SIZES = (1, 2)
FULL_BATCH_SIZES = (1, 2, 4, 8)
QUICK_DEPTHS = (64, 128, 200)  # a full run takes the device's own (workloads.volume.GPU_DEPTHS on a GPU)


def make_plan(
    models: Sequence[str] = (),
    workloads: Sequence[str] = ("image",),
    *,
    quick: bool = False,
    device: str = "auto",
    precisions: Sequence[str] = ("auto",),
    batch_sizes: Sequence[int] | None = None,
    warmup: int | None = None,
    min_iters: int | None = None,
    min_time_s: float | None = None,
    weights: str = "auto",
    checkpoint: str | None = None,
    resolution: tuple[int, ...] | None = None,
    classes: int | None = None,
    options: dict[str, Any] | None = None,
    max_ram_bytes: int | None = None,
    telemetry_interval_s: float | None = 0.1,
    count_flops: bool = True,
    launcher: str = "process",
    soak: SoakSettings | None = None,
    executions: Sequence[str] = ("eager",),
    family_options: dict[str, Any] | None = None,
    sweeps: dict[str, Sequence[str]] | None = None,
) -> Plan:
    """A plan with every default filled in. `options` holds `WorkloadOptions` fields (inputs, frames,
    volume, points_per_side, ...), `family_options` the options families declare (`text`,
    `vos_optimized`; None values are left out); no `models` means the default model for the workloads."""
    from segbench.families.registry import default_model

    defaults = QUICK if quick else FULL
    settings = QUICK_SETTINGS if quick else FULL_SETTINGS
    known = {f.name for f in fields(WorkloadOptions)}
    given = {k: v for k, v in (options or {}).items() if v is not None}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InputError(f"unknown workload option '{unknown[0]}' (known: {', '.join(sorted(known))})")
    filled = {
        "points_per_side": defaults.points_per_side,
        "points_per_batch": defaults.points_per_batch,
        "frames": defaults.frames,
        "volume": defaults.volume,
        "video_size": defaults.video_size,
        "overlap": defaults.overlap,
        "depths": QUICK_DEPTHS if quick else None,
        **given,
    }
    workloads = list(workloads) or ["image"]
    executions, old_sweeps = migrate(list(executions))  # "eager+offload:video": the label a sweep used to be
    return Plan(
        models=list(models) or [default_model(workloads)],
        workloads=workloads,
        precisions=list(precisions) or ["auto"],
        batch_sizes=list(batch_sizes or (QUICK_BATCH_SIZES if quick else FULL_BATCH_SIZES)),
        device=device,
        weights=weights,
        checkpoint=checkpoint,
        resolution=tuple(resolution) if resolution else None,
        classes=classes,
        settings=MeasureSettings(
            warmup=settings.warmup if warmup is None else warmup,
            min_iters=settings.min_iters if min_iters is None else min_iters,  # 0 is refused, not a default
            min_time_s=settings.min_time_s if min_time_s is None else min_time_s,
        ),
        options=WorkloadOptions(**filled),
        max_ram_bytes=max_ram_bytes,
        telemetry_interval_s=telemetry_interval_s,
        count_flops=count_flops,
        kind="soak" if soak is not None else "run",
        soak=soak,
        launcher=launcher,
        executions=executions or ["eager"],
        sweeps={**old_sweeps, **{axis: list(values) for axis, values in (sweeps or {}).items()}},
        quick=quick,
        family_options={k: v for k, v in (family_options or {}).items() if v is not None},
    )
