"""`check --from results/...`: sharpen a prediction with a run measured on the user's own machine.

The model predicts the measured configuration on the machine that ran it; the ratio measured /
predicted is what the model got wrong for this model and workload (implementation details,
drivers, the machine's real clocks), and the target prediction is multiplied by it. Between
devices of the same kind (GPU -> GPU) the whole ratio carries over; from a CPU run to a GPU only
its square root does, since much of a CPU's error (threading, oneDNN) does not exist on a GPU.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any

from segbench.advisor.data.catalog import CPUSpec, GPUSpec, load_catalog
from segbench.advisor.model.roofline import Params, predict
from segbench.advisor.targets import this_cpu_spec
from segbench.cost.footprint import Query
from segbench.families.costs import footprint
from segbench.errors import InputError
from segbench.records.schema import Record
from segbench.records.store import read_records

CROSS_KIND_WEIGHT = 0.5


def _record_spec(record: Record) -> GPUSpec | CPUSpec:
    """The catalog spec of the device a record was measured on."""
    catalog = load_catalog()
    hardware = str(record.environment.get("hardware", ""))
    if record.device.startswith("cuda"):
        try:
            return catalog.match(hardware).spec
        except InputError:
            raise InputError(f"--from: the record was measured on '{hardware}', which is not in the GPU catalog; "
                             "add it to profiles/gpus.yaml to scale from it") from None
    cpu_model = str((record.environment.get("cpu") or {}).get("model_name") or "") or None
    threads = int(record.environment.get("torch_threads") or 1)
    # The same rule as `check --gpu this-cpu`: the roofline the run measured, else the calibration CPU's
    # measured rates scaled, else an estimate from the core count.
    roofline = record.environment.get("roofline") if isinstance(record.environment.get("roofline"), dict) else None
    return this_cpu_spec(catalog, cpu_model, threads, label="measured CPU", roofline=roofline).spec


def _record_query(record: Record, like: Query) -> Query:
    params = record.params or {}
    size = params.get("resolution") or params.get("model_resolution")
    source = record.input.get("source_size")
    metrics = record.metrics or {}
    roi = params.get("roi")
    volume = record.input.get("shape_whd") or params.get("volume")
    return dataclasses.replace(
        like,
        precision=record.precision,
        batch_size=int(record.batch_size),
        model_size=tuple(size) if size else None,
        resolution=tuple(source) if source else like.resolution,
        frames=int(metrics.get("frames") or like.frames),
        points_per_side=int(params.get("points_per_side") or like.points_per_side),
        roi=tuple(roi) if roi else like.roi,
        volume=tuple(volume) if volume else like.volume,
        aggregate_on=str(params.get("aggregate_on") or like.aggregate_on),
    )


def scale_from_results(paths: tuple[str, ...], query: Query, target: GPUSpec | CPUSpec, params: Params,
                       records: list[Record] | None = None) -> tuple[float, dict[str, Any]]:
    """(factor for the target's time per item, the basis to show) from the best matching record of
    `paths` (`records`: those files already read)."""
    records = [r for r in (read_records(paths) if records is None else records) if r.status == "ok" and r.kind == "run"]
    # Eager runs only: a compiled or exported record scales by its own ratio (check --compile/--backend).
    same = [r for r in records if r.model == query.model and r.workload == query.workload
            and r.execution_label == "eager"]
    if not same:
        have = sorted({f"{r.model}/{r.workload}/{r.execution_label}" for r in records}) or ["no successful records"]
        raise InputError(f"--from: no successful eager {query.model} {query.workload} run in {', '.join(paths)} "
                         f"(it has: {', '.join(have[:6])})")
    # Prefer the same precision, then the same batch size, then the most recent.
    same.sort(key=lambda r: (r.precision != query.precision, int(r.batch_size) != query.batch_size, r.created),
              reverse=False)
    best = [r for r in same if (r.precision, r.batch_size) == (same[0].precision, same[0].batch_size)]
    record = max(best, key=lambda r: r.created)
    per_item = (record.stats.get("per_item_latency_s") or {}).get("median")
    if not per_item:
        raise InputError(f"--from: record {record.id} has no per-item latency")
    spec = _record_spec(record)
    there = predict(footprint(_record_query(record, query)), spec, params).per_item_s
    ratio = per_item / there
    weight = 1.0 if isinstance(spec, type(target)) else CROSS_KIND_WEIGHT
    factor = math.exp(weight * math.log(ratio))
    return factor, {
        "record": record.id,
        "measured_on": spec.name,
        "precision": record.precision,
        "batch_size": int(record.batch_size),
        "measured_ms": round(per_item * 1e3, 2),
        "model_predicted_there_ms": round(there * 1e3, 2),
        "ratio": float(f"{ratio:.4g}"),  # significant digits: a ratio may be 0.0123 or 81.2
        "applied_factor": round(factor, 3),
        "rule": "measured / predicted on the measuring device, applied in full between devices of the same kind, "
                "as its square root from a CPU to a GPU (or back)",
        "samples": len(record.samples_s),
        "spread_pct": round(statistics.pstdev(record.samples_s) / statistics.mean(record.samples_s) * 100, 1)
        if len(record.samples_s) > 1 else None,
    }
