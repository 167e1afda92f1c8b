"""`segbench doctor`: what breaks first on this machine (or on a GPU about to be bought), and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from rich.text import Text

from segbench import limits as L
from segbench.cli.output import console, emit_json, err_console
from segbench.workload_catalog import FULL, WORKLOAD_NAMES

if TYPE_CHECKING:
    from segbench.doctor import DoctorContext, Finding

DOCTOR_SCHEMA_VERSION = 1
STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skipped": "dim"}


def _request(kw: dict[str, Any]):
    from segbench.doctor.context import DoctorRequest
    from segbench.families.registry import check_serves, default_model, get_spec
    from segbench.inputs.parsing import parse_resolution, parse_volume_shape

    spec = get_spec(kw["model"] or default_model([kw["workload"]]))
    check_serves(spec, kw["workload"])
    volume = parse_volume_shape(kw["volume"]) if kw["volume"] else None
    return DoctorRequest(
        model=spec.name,
        workload=kw["workload"],
        precision=None if kw["precision"] == "auto" else kw["precision"],
        batch_size=kw["batch_size"],
        resolution=parse_resolution(kw["resolution"]) if kw["resolution"] else None,
        frames=kw["frames"],
        volume=tuple(volume) if volume else None,
        device=kw["device"],
        results_dir=kw["results_dir"],
        checkpoints_dir=kw["checkpoints_dir"],
        gpu=kw["gpu"],
    )


def render(findings: list[Finding], ctx: DoctorContext) -> None:
    from segbench.doctor.findings import counts

    out = console()
    what = ctx.target.name if ctx.target is not None else "this machine"
    table = Table(title=f"segbench doctor: {what}", title_justify="left", title_style="bold", show_lines=True)
    table.add_column("check", style="cyan", ratio=2)
    table.add_column("result", no_wrap=True)
    table.add_column("cause", ratio=4, overflow="fold")
    table.add_column("fix", ratio=3, overflow="fold")
    for f in findings:
        table.add_row(f.title, Text(f.severity, style=STYLE[f.severity]), f.cause, f.fix or "-")
    out.print(table)
    tally = counts(findings)
    summary = Text()
    for n, severity in enumerate(("ok", "warn", "fail", "skipped")):
        summary.append(", " if n else "")
        summary.append(f"{tally[severity]} {severity}", style=STYLE[severity] if tally[severity] else "")
    out.print(summary)


@click.command()
@click.option("-m", "--model", default=None,
              help="Model to check memory and precision for (default: what `segbench run` picks for the workload).")
@click.option("-w", "--workload", type=click.Choice(WORKLOAD_NAMES), default="image",
              show_default=True, help="Workload to check memory and precision for.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto", show_default=True,
              help="Precision you mean to run; auto is what `segbench run` picks for the device.")
@click.option("--batch-size", type=click.IntRange(*L.BATCH_SIZE), default=1, show_default=True,
              help="Images per batch; objects for video; windows per forward for volume.")
@click.option("--resolution", default=None, help="Source image/frame size: 480p | 720p | 1080p | WxH.")
@click.option("--frames", type=click.IntRange(*L.FRAMES), default=None,
              help=f"video: clip length (default {FULL.frames}); video predictors keep every frame on the GPU.")
@click.option("--volume", default=None,
              help=f"volume: the scan size WxHxD (default {'x'.join(map(str, FULL.volume))}).")
@click.option("--device", type=click.Choice(["auto", "cuda", "cpu"]), default="auto", show_default=True,
              help="cpu checks the CPU path only (host RAM, CPU precision) even where a GPU is present.")
@click.option("--gpu", "gpu_name", default=None, metavar="NAME",
              help="Check a GPU you are about to buy (catalog name, e.g. 'RTX 3060') instead of the installed ones.")
@click.option("--results-dir", type=click.Path(file_okay=True, path_type=Path), default=Path("results"),
              show_default=True, help="Where results go (space and write checks).")
@click.option("--checkpoints-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where checkpoints go (space check; default $SEGBENCH_CHECKPOINTS or the Hugging Face cache).")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
@click.pass_context
def doctor(click_ctx: click.Context, as_json: bool, gpu_name: str | None, **kw: Any) -> None:
    """Check this machine for what breaks or slows a segmentation run, with a fix for each finding.

    Exit code 0 when nothing fails (warnings allowed), 1 when something does.
    """
    from segbench.doctor import context as doctor_context
    from segbench.doctor.checks import run_checks
    from segbench.doctor.findings import counts, exit_code

    request = _request({**kw, "gpu": gpu_name})
    debug = bool(click_ctx.find_root().params.get("debug"))
    with err_console.status("segbench doctor: checking…"):
        ctx = doctor_context.gather(request, estimate_memory=doctor_context.footprint_estimate)
        if ctx.target is not None and ctx.target.note:
            err_console.print(f"[dim]{ctx.target.note}[/]")
        findings = run_checks(ctx, raise_errors=debug)
    code = exit_code(findings)
    if as_json:
        emit_json({
            "schema_version": DOCTOR_SCHEMA_VERSION,
            "request": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(request).items()},
            "target": None if ctx.target is None else vars(ctx.target),
            "findings": [f.to_dict() for f in findings],
            "summary": counts(findings),
            "exit_code": code,
        })
    else:
        render(findings, ctx)
    if code:
        raise click.exceptions.Exit(code)
