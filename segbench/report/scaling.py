"""The scaling curve of `segbench fleet throughput`: aggregate items/hour against the number of workers,
beside the ideal (N x one worker), as a table and a figure per model, workload and machine."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from segbench.formatting import fmt_seconds, slug
from segbench.records.schema import Record
from segbench.report.figures import Plot, new_figure, wrap
from segbench.report.frame import machine_label
from segbench.report.plots import finish


def _curves(records: Iterable[Record]) -> dict[tuple, dict[int, Record]]:
    """(machine, model, workload, precision, input) -> workers -> the newest ok record of that count.
    One curve per `fleet throughput` run: the hardware name carries torch's thread count, which is
    each worker's share of the cores and so differs along the curve; the machine is the 1-worker one's."""
    runs: dict[tuple, str] = {}
    curves: dict[tuple, dict[int, Record]] = {}
    for r in sorted(records, key=lambda r: r.created):
        t = r.metrics.get("throughput") if isinstance(r.metrics, dict) else None
        if r.kind != "throughput" or r.status != "ok" or not isinstance(t, dict) or not t.get("items_per_hour"):
            continue
        machine = runs.setdefault((r.run_id, r.model, r.workload), machine_label(r))
        key = (machine, r.model, r.workload, r.precision, str(r.input.get("key", "")))
        curves.setdefault(key, {})[int(t["workers"])] = r
    return curves


def scaling_table(records: Iterable[Record]) -> pd.DataFrame:
    """One row per curve point: workers, what each had, items/hour, efficiency, per-worker latency."""
    rows = []
    for (machine, model, workload, precision, _), points in sorted(_curves(records).items()):
        for workers, r in sorted(points.items()):
            t = r.metrics["throughput"]
            res = t.get("worker_resources") or {}
            per = t.get("per_worker") or []
            eff = t.get("scaling_efficiency")
            rows.append({
                "machine": machine, "model": model, "workload": workload, "precision": precision,
                "workers": workers, "each": "1 GPU" if res.get("gpus") else f"{res.get('cpus', '?')} core(s)",
                "items": t.get("items"), "items/hour": f"{t['items_per_hour']:,.0f} {t.get('item_unit', 'item')}s",
                "scaling efficiency": f"{eff:.2f}" if isinstance(eff, (int, float)) else "—",
                "worker p50": " / ".join(fmt_seconds(w.get("median")) for w in per),
                "worker p90": " / ".join(fmt_seconds(w.get("p90")) for w in per),
                "slowest worker": fmt_seconds(t.get("makespan_s")),
            })
    return pd.DataFrame(rows)


def scaling_plots(records: Iterable[Record]) -> list[Plot]:
    plots = []
    for (machine, model, workload, precision, _), points in sorted(_curves(records).items()):
        workers = sorted(points)
        rates = [points[n].metrics["throughput"]["items_per_hour"] for n in workers]
        unit = points[workers[0]].metrics["throughput"].get("item_unit", "item")
        fig, (ax,) = new_figure(width=8.0, height=4.4)
        ax.plot(workers, rates, marker="o", label="measured")
        if 1 in points:
            base = points[1].metrics["throughput"]["items_per_hour"]
            ax.plot(workers, [n * base for n in workers], linestyle="--", color="grey", label="ideal (N × 1 worker)")
        for n, rate in zip(workers, rates):
            eff = points[n].metrics["throughput"].get("scaling_efficiency")
            if isinstance(eff, (int, float)):
                ax.annotate(f"{eff:.2f}", (n, rate), textcoords="offset points", xytext=(4, -12), fontsize="small")
        ax.set_xticks(workers)
        ax.set_xlabel("workers")
        ax.set_ylabel(f"{unit}s per hour (aggregate)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        plots.append(finish(
            fig, [ax], wrap(f"{workload}: throughput scaling, {model} {precision} — {machine}", 90),
            filename=f"scaling-{slug(workload)}-{slug(model)}-{slug(machine)}.png",
            title=f"{workload}: throughput scaling — {model}, {machine}",
            caption="Aggregate items per hour of one input set sharded over N workers (the whole set over the slowest "
                    "worker's time), the dashed line N × one worker; labels are scaling efficiency.",
            section="scaling"))
    return plots
