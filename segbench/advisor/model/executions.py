"""What a configuration other than eager PyTorch does to a predicted time: the ratio measured beside
eager on a device of the same kind (profile `execution_ratios.yaml`, and the user's own `--from`
records first), for the same model and workload where measured, else the same workload, else any.

No ratio is assumed: where none was measured on the device kind, the prediction stays eager's and
says so. (A GPU's `--compile` is the roofline's fitted compiled parameter instead, fitted to
published compiled runs; a measured GPU ratio takes over once one exists.)
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable
from typing import Any

from segbench.advisor.data.executions import ExecutionRatio, execution_ratios
from segbench.backends.catalog import BACKENDS
from segbench.records.schema import Record

# Eager is the base; a backend that replaces the step (the official loop) is another harness, not a speed-up.
_SKIP = tuple(name for name, b in BACKENDS.items() if b.replaces != "network")


def _per_item(record: Record) -> float | None:
    return (record.stats.get("per_item_latency_s") or {}).get("median") if record.status == "ok" else None


def _same_work(r: Record) -> tuple:
    return (r.model, r.workload, r.precision, int(r.batch_size), r.input.get("key", ""), r.params_key(), r.hardware)


def ratios_from_records(records: Iterable[Record], source: str = "") -> list[ExecutionRatio]:
    """Each compiled or exported record over the eager record of the same work on the same hardware
    measured nearest in time (a run sweeps them together; tune measures them trial after trial).
    Each record's key and time is computed once and the nearest eager run found by bisection: a
    records file of 100,000 lines pairs in about a second."""
    keyed = [(r, _same_work(r), _created(r)) for r in records if r.kind == "run" and _per_item(r)]
    eager: dict[tuple, list[tuple[float, int, Record]]] = {}
    for i, (r, work, when) in enumerate(keyed):
        if r.execution_label == "eager":
            eager.setdefault(work, []).append((when, i, r))
    for runs in eager.values():
        runs.sort(key=lambda t: (t[0], t[1]))
    out = []
    for r, work, when in keyed:
        label = r.execution_label
        if label in _SKIP or "+" in label or work not in eager:  # "+offload:video": a swept option, not a backend
            continue
        base = _nearest(eager[work], when)
        one_off = (r.execution.get("one_off") or {}).get("seconds")
        out.append(ExecutionRatio(
            id=f"{r.model}-{r.workload}-{r.precision}-b{r.batch_size}-{label}-{r.id[:8]}", execution=label,
            device_kind="cpu" if r.device.startswith("cpu") else "gpu", hardware=r.hardware, model=r.model,
            workload=r.workload, precision=r.precision, batch_size=int(r.batch_size),
            eager_seconds_per_item=float(_per_item(base)), seconds_per_item=float(_per_item(r)),
            one_off_s=float(one_off) if one_off else None, rel_error=(r.fidelity or {}).get("rel_error"),
            measured=str(r.created)[:10], records=source))
    return out


def _nearest(runs: list[tuple[float, int, Record]], when: float) -> Record:
    """The run nearest in time in `runs` (sorted by time); of two equally near, the earlier in the file."""
    import bisect

    def first_at(t: float) -> tuple[float, int, Record]:  # runs at one time are in file order
        return runs[bisect.bisect_left(runs, t, key=lambda run: run[0])]

    i = bisect.bisect_left(runs, when, key=lambda t: t[0])
    near = [first_at(runs[j][0]) for j in (i - 1, i) if 0 <= j < len(runs)]
    return min(near, key=lambda t: (abs(t[0] - when), t[1]))[2]


def _created(r: Record) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(r.created)).timestamp()
    except ValueError:
        return 0.0


def ratio_for(execution: str, device_kind: str, model: str, workload: str, precision: str,
              own: Iterable[ExecutionRatio] = ()) -> dict[str, Any] | None:
    """The ratio to apply and its basis, or None where `execution` was never measured on this device kind
    at this precision.
    The user's own records (`own`) are preferred to the shipped profile at the same level of match."""
    # Each ratio is against eager at its own precision: one measured at bf16 says nothing about fp32.
    pool = [r for r in (*own, *execution_ratios())
            if (r.execution, r.device_kind, r.precision) == (execution, device_kind, precision)]
    if not pool:
        return None
    levels = (("this model and workload", lambda r: (r.model, r.workload) == (model, workload)),
              (f"the {workload} workload, other models", lambda r: r.workload == workload),
              ("other models and workloads", lambda r: True))
    for level, keep in levels:
        chosen = [r for r in pool if keep(r)]
        if chosen:
            break
    own_ids = {r.id for r in own}
    if any(r.id in own_ids for r in chosen):
        chosen = [r for r in chosen if r.id in own_ids]
    values = [r.ratio for r in chosen]
    return {"execution": execution, "ratio": round(statistics.median(values), 4),
            "range": [round(min(values), 4), round(max(values), 4)], "points": len(values), "matched": level,
            "rule": f"measured time per item with {execution} over eager's, side by side on a {device_kind}",
            "references": [{"id": r.id, "hardware": r.hardware, "precision": r.precision,
                            "eager_ms": round(r.eager_seconds_per_item * 1e3, 2),
                            "ms": round(r.seconds_per_item * 1e3, 2), "rel_error": r.rel_error,
                            "source": r.records or "execution_ratios.yaml"} for r in chosen[:4]]}
