"""`segbench soak`: sustained load with throughput windows and a throttling verdict."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from segbench import limits as L
from segbench.cli.output import console, emit_json, err_console, sigterm_as_interrupt
from segbench.cli.params import FiniteRange
from segbench.cli.plan_options import build_plan, hardware_label, output_path
from segbench.cli.progress import ProgressObserver
from segbench.cli.run_options import shared_options
from segbench.errors import InputError


@click.command()
@shared_options
@click.option(
    "--minutes",
    type=FiniteRange(*L.SOAK_MINUTES),
    default=10.0,
    show_default=True,
    help="How long to keep the load on.",
)
@click.option(
    "--window",
    "window_s",
    type=FiniteRange(*L.SOAK_WINDOW_S),
    default=None,
    help="Seconds per throughput window (default 30; --quick 5). The first window is warm-up.",
)
@click.option(
    "--max-temp", type=FiniteRange(*L.SOAK_MAX_TEMP_C), default=None, help="Stop early when any sensor reaches this (C)."
)
@click.option(
    "--batch-size",
    type=click.IntRange(*L.BATCH_SIZE),
    default=1,
    show_default=True,
    help="Images per step (objects for video, windows for volume).",
)
def soak(**kw: Any) -> None:
    """Keep one workload running and say whether this machine throttles under sustained load."""
    from segbench.bench.plan import SoakSettings, validate
    from segbench.bench.runner import execute

    kw["batch_sizes"] = [kw.pop("batch_size")]
    kw["launcher"] = "inline"  # one model, watched as it heats up: no process to isolate it from
    plan = build_plan(kw)
    if len(plan.models) != 1 or len(plan.workloads) != 1 or len(plan.precisions) != 1:
        raise InputError("soak runs one model, one workload and one precision at a time")
    plan.kind = "soak"
    plan.soak = SoakSettings(
        minutes=kw["minutes"], window_s=kw["window_s"] or (5.0 if kw["quick"] else 30.0), max_temp_c=kw["max_temp"]
    )
    validate(plan)
    output = output_path(kw)
    err_console.print(f"[bold]segbench soak[/] {plan.soak.minutes:g} min on {hardware_label(plan)} → {output}")
    with sigterm_as_interrupt(), ProgressObserver() as observer:
        (record,) = execute(plan, output, observer)
    if kw["as_json"]:
        emit_json(record.to_dict())
        return
    verdict = record.metrics["verdict"]
    table = Table(title=f"soak: {record.model} {record.workload} {record.precision} b{record.batch_size}")
    table.add_column("window")
    table.add_column(f"{record.stats.get('item_unit', 'item')}/s", justify="right")
    for i, window in enumerate(record.metrics["windows"], start=1):
        table.add_row(
            f"{i} ({window['t_start']:.0f}-{window['t_end']:.0f} s)" + (" warm-up" if i == 1 else ""),
            f"{window['items_per_s']:.3f}",
        )
    console().print(table)
    drift = verdict.get("throughput_drift_pct")
    peak = verdict.get("peak_temperature_c")
    console().print(f"verdict: [bold]{verdict['verdict']}[/] — {verdict['reason']}")
    console().print(
        f"throughput drift {drift if drift is not None else '-'} %, clock drift "
        f"{verdict.get('clock_drift_pct') if verdict.get('clock_drift_pct') is not None else '-'} %, "
        f"peak temperature {f'{peak:.0f} C' if peak is not None else 'n/a (no sensor)'}, "
        f"throttled {verdict.get('throttled_s', 0):.1f} s; stopped by {record.metrics['stop_reason']}"
    )
    for note in verdict.get("notes", []):
        console().print(f"[dim]note:[/] {note}")
