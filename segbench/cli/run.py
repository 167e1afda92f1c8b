"""`segbench run`: timed sweeps of models x workloads x precisions x batch sizes into results/."""

from __future__ import annotations

from typing import Any

import click

from segbench import limits as L
from segbench.backends.catalog import help_text as backend_help
from segbench.backends.catalog import names as backend_names
from segbench.cli.list_models import list_models
from segbench.cli.output import err_console, sigterm_as_interrupt
from segbench.cli.params import BYTES, INT_LIST, FiniteRange
from segbench.cli.plan_options import build_plan, hardware_label, output_path, refuse_point_options
from segbench.cli.progress import ProgressObserver
from segbench.cli.results_table import show_records
from segbench.cli.run_options import shared_options
from segbench.errors import InputError


@click.command()
@shared_options
@click.option(
    "--batch-sizes",
    type=INT_LIST,
    default=None,
    help="Comma list, e.g. 1,2,4,8 (objects for video, sliding-window batch for volume). Default 1,2,4,8; --quick 1,2.",
)
@click.option(
    "--warmup",
    type=click.IntRange(*L.WARMUP),
    default=None,
    help="Untimed iterations first (default 2: TorchScript transforms compile on their first two calls).",
)
@click.option(
    "--min-iters",
    type=click.IntRange(*L.MIN_ITERS),
    default=None,
    help="At least this many timed iterations (default 5; quick 3).",
)
@click.option(
    "--min-time",
    type=FiniteRange(*L.MIN_TIME_S),
    default=None,
    help="And at least this many timed seconds (default 3; quick 1).",
)
@click.option("--objects", type=INT_LIST, default=None, help="video: objects tracked at once (same as --batch-sizes).")
@click.option(
    "--sw-batch-size", type=INT_LIST, default=None, help="volume: windows per forward (same as --batch-sizes)."
)
@click.option(
    "--depths",
    type=INT_LIST,
    default=None,
    help="volume: extra depths (slices) for the peak-memory-vs-depth curve (default: quick 64,128,200; "
    "GPU 128,256,512,1000).",
)
@click.option(
    "--max-ram",
    type=BYTES,
    default=None,
    help="Host RAM ceiling (e.g. 8G): allocations beyond it become an OOM result.",
)
@click.option("--compile", "compile_modes", default="off", show_default=True,
              help="torch.compile the network: off | default | max-autotune, or a comma list to sweep "
              "(compile time is recorded apart from the steady state).")
@click.option("--backend", "backends", default="eager", show_default=True,
              help=f"{' | '.join(backend_names())}, or a comma list ({backend_help()}). An exported graph's "
              "export is cached; its time and the break-even count are recorded.")
@click.option("--offload", "offloads", default="none", show_default=True,
              help="video: none | video | state | both, or a comma list to sweep where SAM 2.1's video predictor "
              "keeps the frames and the memory bank (host RAM for small GPUs): the memory/speed trade as one table.")
@click.option("--no-flops", is_flag=True, help="Skip counting model FLOPs.")
@click.option(
    "--launcher",
    type=click.Choice(["process", "inline"]),
    default="process",
    show_default=True,
    help="process: each model's points in a fresh process (a crash is a failed row); inline: in this one.",
)
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False), default=None,
              help="Replay a saved plan (YAML or JSON); the options that choose points come from the file.")
@click.option("--save-plan", type=click.Path(dir_okay=False), default=None,
              help="Write the plan these options make to FILE (YAML, or JSON for *.json) and exit; an existing "
              "file is never replaced unless it is a plan and --force is given.")
@click.option("--force", is_flag=True, help="With --save-plan: replace an existing plan file.")
@click.option("--wide", is_flag=True, help="Every column of the results table: TFLOP/s and how the network ran "
              "(execution, one-off cost, break-even, error vs fp32) even where the run did not sweep executions.")
@click.option("--list-models", is_flag=True, help="List the registered models and exit.")
@click.pass_context
def run(ctx: click.Context, **kw: Any) -> None:
    """Time models on this machine and record the results."""
    if kw["list_models"]:
        list_models(kw["as_json"])
        return
    if kw["force"] and not kw["save_plan"]:
        raise InputError("--force replaces the plan file --save-plan writes; without --save-plan it does nothing")
    from segbench.bench.plan import Plan, validate
    from segbench.bench.runner import execute

    plan = Plan.load(kw["plan_file"]) if kw["plan_file"] else build_plan(kw)
    if kw["plan_file"]:
        refuse_point_options(ctx)
    validate(plan)  # every name and number checked before anything is printed or loaded
    if kw["save_plan"]:
        saved = plan.save(kw["save_plan"], force=kw["force"])
        err_console.print(f"plan of {len(plan.points())} point(s) written to {saved}; "
                          f"replay it with: segbench run --plan {saved}")
        return
    output = output_path(kw)
    err_console.print(f"[bold]segbench run[/] on {hardware_label(plan)} → {output}")
    with sigterm_as_interrupt(), ProgressObserver() as observer:
        records = execute(plan, output, observer)
    show_records(records, kw["as_json"], f"{len(records)} record(s) written to {output}", wide=kw["wide"])
