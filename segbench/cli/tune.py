"""`segbench tune`: the fastest configuration within a fidelity bound on this machine."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from segbench.cli.family_flags import given_family_options, with_family_flags
from segbench.cli.output import console, emit_json, err_console, fmt_seconds, sigterm_as_interrupt
from segbench.cli.params import INT_LIST, MODEL_SIZE, SHARE, FiniteRange, parse_name_list
from segbench.cli.plan_options import output_path, with_point_timeout
from segbench.cli.progress import ProgressObserver
from segbench.cli.results_table import fidelity_text
from segbench.cli.run_options import POINT_TIMEOUT_OPTION
from segbench.errors import EXIT_FAILED, InputError
from segbench.inputs.parsing import parse_resolution, parse_roi, parse_volume_shape


@click.command()
@click.option("-m", "--model", "model", required=True, help="The model to tune (one).")
@click.option("-w", "--workload", "workload", default="image", show_default=True, help="The workload (one).")
@click.option("--max-error", type=SHARE, default="2%", show_default=True,
              help="Largest relative error of the network's outputs against fp32 eager, e.g. 2% or 0.02.")
@click.option("--min-iou", type=SHARE, default="0.99", show_default=True,
              help="Smallest mask IoU against fp32 eager, where the outputs are masks.")
@click.option("--minutes", type=FiniteRange(0.1, 24 * 60), default=10.0, show_default=True,
              help="Time budget: trials not started by then are listed as not tried.")
@click.option("--batch-sizes", type=INT_LIST, default="1,2,4", show_default=True,
              help="Batch sizes the fastest configuration is tried at.")
@click.option("--no-compile", is_flag=True, help="Leave torch.compile out (its first call takes minutes on a CPU).")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N.")
@click.option("--weights", type=click.Choice(["auto", "pretrained", "random"]), default="auto", show_default=True)
@click.option("--checkpoint", type=click.Path(dir_okay=True), default=None, help="Pretrained weights for the model.")
@click.option("--model-size", type=MODEL_SIZE, default=None, help="Model input size (default: the model's).")
@click.option("--resolution", default=None, help="Size of synthetic images: 480p | 720p | 1080p | WxH.")
@click.option("--volume", "volume_shape", default=None, help="volume: synthetic phantom size WxHxD.")
@click.option("--roi", default=None, help="volume: sliding-window size WxHxD.")
@click.option("--quick", is_flag=True, help="Short measurements and --quick's small inputs (minutes on 2 cores).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Results file for every trial (default: a new file in results/).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@with_family_flags
@POINT_TIMEOUT_OPTION
def tune(**kw: Any) -> None:
    """Search precision x compile x backend x batch size for the fastest faithful configuration."""
    from segbench.bench.presets import make_plan
    from segbench.bench.tune import Bound
    from segbench.bench.tune import tune as search

    models, workloads = parse_name_list([kw["model"]]), parse_name_list([kw["workload"]])
    if len(models) != 1 or len(workloads) != 1:
        raise InputError("tune takes one --model and one --workload")
    options = {"source_size": parse_resolution(kw["resolution"]) if kw["resolution"] else None,
               "volume": parse_volume_shape(kw["volume_shape"]) if kw["volume_shape"] else None,
               "roi": parse_roi(kw["roi"]) if kw["roi"] else None}
    plan = make_plan(models, workloads, quick=kw["quick"], options=options, device=kw["device"], weights=kw["weights"],
                     checkpoint=kw["checkpoint"], resolution=kw["model_size"], launcher="process",
                     min_iters=2 if kw["quick"] else None, min_time_s=0.0 if kw["quick"] else None,
                     warmup=1 if kw["quick"] else None, telemetry_interval_s=None,
                     family_options=given_family_options(kw))
    with_point_timeout(plan, kw)
    output = output_path(kw)
    bound = Bound(max_error=kw["max_error"], min_iou=kw["min_iou"])
    err_console.print(f"[bold]segbench tune[/] {plan.models[0]} {plan.workloads[0]} → {output}")
    with sigterm_as_interrupt(), ProgressObserver() as observer:
        result = search(plan, output, bound=bound, minutes=kw["minutes"], batch_sizes=tuple(kw["batch_sizes"]),
                        compile_trials=not kw["no_compile"], observer=observer)
    weights = result.baseline.record.weights if result.baseline and result.baseline.record else plan.weights
    inputs = _input_flags(kw)
    if kw["as_json"]:
        emit_json(result.to_dict(weights, inputs))
    else:
        _render(result, weights, inputs)
        err_console.print(f"{sum(t.record is not None for t in result.trials)} trial record(s) written to {output}")
    if not result.baseline_ran:  # nothing was tuned: a failure, whatever else ran
        raise click.exceptions.Exit(EXIT_FAILED)


_INPUT_FLAGS = {"device": "--device", "checkpoint": "--checkpoint", "model_size": "--model-size",
                "resolution": "--resolution", "volume_shape": "--volume", "roi": "--roi"}


def _input_flags(kw: dict[str, Any]) -> str:
    """The options given to tune that chose the inputs, for the `segbench run` line that reproduces."""
    given = dict(kw)
    if given.get("model_size"):
        h, w = given["model_size"]  # parsed as (h, w); the flag reads WxH
        given["model_size"] = f"{w}x{h}"
    parts = [f"{flag} {_text(given[name])}" for name, flag in _INPUT_FLAGS.items()
             if given.get(name) not in (None, "auto")]
    from segbench.families.registry import option_words

    return " ".join(parts + option_words(given_family_options(kw)) + (["--quick"] if kw["quick"] else []))


def _text(value: Any) -> str:
    return "x".join(str(v) for v in value) if isinstance(value, (tuple, list)) else str(value)


def _render(result, weights: str, inputs: str) -> None:
    table = Table(title=f"segbench tune: {result.model} {result.workload}")
    for column in ("stage", "precision", "exec", "batch", "per item", "one-off", "vs fp32", "of peak", "verdict"):
        table.add_column(column, justify="left" if column in ("stage", "exec", "verdict") else "right")
    for t in result.trials:
        r = t.record
        one_off = (r.execution.get("one_off") or {}).get("seconds") if r else None
        share = r.flops.get("fraction_of_peak") if r else None
        verdict = t.verdict if r is None or r.status == "ok" else f"failed: {r.error or r.status}"
        table.add_row(t.stage, t.precision, " ".join([t.execution, *t.flags]), str(t.batch_size),
                      fmt_seconds(t.per_item_s),
                      fmt_seconds(one_off) if one_off else "-", fidelity_text(r.fidelity) if r else "-",
                      f"{share:.0%}" if share else "-", verdict)
    console().print(table)
    best = result.best
    if best is None:
        console().print("[red]no configuration ran within the bound[/]")
        return
    speedup, official = result.speedup, result.speedup_vs_official
    share = best.record.flops.get("fraction_of_peak")
    console().print(
        f"fastest within {result.bound.max_error:.1%} error"
        + (f" and IoU {result.bound.min_iou:.3f}" if result.bound.min_iou else "")
        + f": {best.precision} {best.execution} batch {best.batch_size}, {fmt_seconds(best.per_item_s)} per item"
        + (f", {1 / official:.2f}x the time of the official fp32 loop ({official:.2f}x faster)" if official else "")
        + (f", {speedup:.2f}x the fp32 eager batch-1 baseline measured in this run" if speedup else "")
        + (f", {share:.0%} of this machine's measured {best.precision} matmul peak" if share else ""))
    console().print(f"reproduce: [bold]{result.command(weights, inputs)}[/]")
    unchecked = [t for t in result.trials if t.verdict.startswith("unchecked") and t.per_item_s
                 and t.per_item_s < best.per_item_s]
    if unchecked:
        console().print(f"[yellow]{len(unchecked)} faster configuration(s) could not be checked against fp32 eager "
                        "(this workload has no single network to compare), so none was picked:[/] "
                        + ", ".join(" ".join([t.precision, t.execution, *t.flags]) for t in unchecked))
    if weights == "random":
        console().print("[yellow]Random weights:[/] the errors are a numerics check of each configuration, "
                        "not an accuracy claim; with pretrained weights the mask IoU is what matters.")
