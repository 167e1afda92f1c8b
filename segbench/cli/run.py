"""`segbench run`: timed sweeps of models x workloads x precisions x batch sizes into results/."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from segbench.cli.output import console, emit_json, err_console, fmt_bytes, fmt_seconds, sigterm_as_interrupt
from segbench.cli.params import BOX, BYTES, CLASSES_OPTION, INT_LIST, MODEL_SIZE, POINT, parse_name_list
from segbench.errors import EXIT_FAILED, InputError
from segbench.inputs.parsing import parse_resolution, parse_roi, parse_volume_shape
from segbench.workloads.catalog import AUTO_MASKS, FULL, QUICK, WORKLOAD_NAMES

# Options `run` and `soak` share: what to run, on what, with which inputs. One list, two commands.
SHARED_OPTIONS = [
    click.option(
        "-m",
        "--model",
        "models",
        multiple=True,
        default=(),
        help="Model name(s), repeatable or comma-separated (default: the workload's default model, "
        "`segbench run --list-models` marks them).",
    ),
    click.option(
        "-w",
        "--workload",
        "workloads",
        multiple=True,
        default=("image",),
        show_default=True,
        help=f"{' | '.join(WORKLOAD_NAMES)} (repeatable or comma-separated).",
    ),
    click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N | mps."),
    click.option(
        "--precision",
        "precisions",
        default="auto",
        show_default=True,
        help="fp32 | fp16 | bf16, a comma list to sweep, or auto (the fastest honest one for the device).",
    ),
    click.option("--quick", is_flag=True, help="Small sweep that finishes in minutes on 2 CPU cores."),
    click.option(
        "--weights",
        type=click.Choice(["auto", "pretrained", "random"]),
        default="auto",
        show_default=True,
        help="pretrained needs a checkpoint; random builds the same architecture for timing; auto uses pretrained when found.",
    ),
    click.option(
        "--checkpoint",
        type=click.Path(dir_okay=True),
        default=None,
        help="Pretrained weights for the one --model: a .pt/.safetensors file or a Hugging Face model directory.",
    ),
    click.option(
        "-i",
        "--input",
        "inputs",
        multiple=True,
        type=click.Path(),
        help="Image files or a folder; a video file or frame folder; a NIfTI/DICOM folder/.npy volume.",
    ),
    click.option("--resolution", default=None, help="Size of synthetic images/frames: 480p | 720p | 1080p | WxH."),
    click.option(
        "--model-size", type=MODEL_SIZE, default=None, help="Model input size (N or WxH); default: the published size."
    ),
    click.option(
        "--points-per-side", type=click.IntRange(1, 128), default=None, help="auto: point grid (default 32; quick 8)."
    ),
    click.option(
        "--points-per-batch",
        type=click.IntRange(1, 4096),
        default=64,
        show_default=True,
        help="auto: points per decoder batch.",
    ),
    click.option(
        "--auto-mode",
        type=click.Choice(["relaxed", "default"]),
        default="relaxed",
        show_default=True,
        help="auto: relaxed filters that keep --auto-masks masks (a stated post-processing load with random weights) "
        "or the generator's own defaults.",
    ),
    click.option(
        "--auto-masks",
        type=click.IntRange(1, 100000),
        default=AUTO_MASKS,
        show_default=True,
        help="auto, relaxed: masks kept per image (default: SA-1B's ~100 per image).",
    ),
    click.option(
        "--frames",
        type=click.IntRange(2, 100000),
        default=None,
        help=f"video: synthetic clip length (default {FULL.frames}; quick {QUICK.frames}).",
    ),
    click.option(
        "--prompt",
        type=click.Choice(["point", "box"]),
        default="point",
        show_default=True,
        help="video/volume: first-frame prompt.",
    ),
    click.option(
        "--text",
        default="person",
        show_default=True,
        help="prompt, concept models (SAM 3): the text prompt whose instances are segmented.",
    ),
    click.option(
        "--point",
        "points",
        type=POINT,
        multiple=True,
        help="prompt/video: a point prompt X,Y in input pixels (repeatable).",
    ),
    click.option(
        "--box",
        "boxes",
        type=BOX,
        multiple=True,
        help="prompt/video: a box prompt X0,Y0,X1,Y1 in input pixels (repeatable).",
    ),
    click.option("--offload-video-to-cpu", is_flag=True, help="video: keep frames in host memory (small GPUs)."),
    click.option("--vos-optimized", is_flag=True,
                 help="video: the model library's own compiled video predictor (vos_optimized; compiles on the first frames)."),
    click.option(
        "--offload-state-to-cpu", is_flag=True, help="video: keep the memory bank in host memory (small GPUs)."
    ),
    CLASSES_OPTION,
    click.option(
        "--volume",
        "volume_shape",
        default=None,
        help="volume: synthetic phantom WxHxD (default {}; quick {}).".format(
            "x".join(map(str, FULL.volume)), "x".join(map(str, QUICK.volume))),
    ),
    click.option("--roi", default=None, help="volume: sliding-window size WxHxD (default: the model's, 96x96x96)."),
    click.option(
        "--overlap", type=click.FloatRange(0, 0.95), default=0.25, show_default=True, help="volume: window overlap."
    ),
    click.option(
        "--aggregate-on",
        type=click.Choice(["device", "cpu"]),
        default="device",
        show_default=True,
        help="volume: where window outputs are stitched; cpu lets long volumes fit on small GPUs.",
    ),
    click.option(
        "--telemetry-interval",
        type=click.FloatRange(0, 60),
        default=0.1,
        show_default=True,
        help="Seconds between telemetry samples; 0 turns telemetry off.",
    ),
    click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False),
        default=None,
        help="Results file to append to (default: a new file under results/).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the records as JSON on stdout."),
]


def shared_options(command):
    for option in reversed(SHARED_OPTIONS):
        command = option(command)
    return command


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
    type=click.IntRange(0, 1000),
    default=None,
    help="Untimed iterations first (default 2: TorchScript transforms compile on their first two calls).",
)
@click.option(
    "--min-iters",
    type=click.IntRange(1, 100000),
    default=None,
    help="At least this many timed iterations (default 5; quick 3).",
)
@click.option(
    "--min-time",
    type=click.FloatRange(0, 3600),
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
              help="eager | official | onnxruntime | openvino, or a comma list: runs the image encoder / network as "
              "an exported graph (export cached; its time and the break-even count recorded); official times the "
              "model library's own README loop on the same inputs instead of segbench's step.")
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
              help="Write the plan these options make to FILE (YAML, or JSON for *.json) and exit.")
@click.option("--list-models", is_flag=True, help="List the registered models and exit.")
@click.pass_context
def run(ctx: click.Context, **kw: Any) -> None:
    """Time models on this machine and record the results."""
    if kw["list_models"]:
        _list_models(kw["as_json"])
        return
    from segbench.bench.plan import Plan, validate
    from segbench.bench.runner import execute

    plan = Plan.load(kw["plan_file"]) if kw["plan_file"] else build_plan(kw)
    if kw["plan_file"]:
        _refuse_point_options(ctx)
    validate(plan)  # every name and number checked before anything is printed or loaded
    if kw["save_plan"]:
        saved = plan.save(kw["save_plan"])
        err_console.print(f"plan of {len(plan.points())} point(s) written to {saved}; "
                          f"replay it with: segbench run --plan {saved}")
        return
    output = output_path(kw)
    err_console.print(f"[bold]segbench run[/] on {hardware_label(plan)} → {output}")
    with sigterm_as_interrupt(), ProgressObserver() as observer:
        records = execute(plan, output, observer)
    show_records(records, kw["as_json"], f"{len(records)} record(s) written to {output}")


def show_records(records: list, as_json: bool, summary: str, tables: tuple = ()) -> None:
    """A run's records as JSON or as the results table (and `tables`), its one-line summary, and exit 1
    when a point ended in an error."""
    if as_json:
        emit_json([r.to_dict() for r in records])
    else:
        _table(records)
        for table in tables:
            table(records)
    err_console.print(summary)
    if any(r.status == "error" for r in records):
        raise click.exceptions.Exit(EXIT_FAILED)


# What a plan file decides; given on the command line beside --plan they would be silently ignored.
_OUTPUT_OPTIONS = {"plan_file", "save_plan", "output", "as_json", "list_models"}


def _refuse_point_options(ctx: click.Context, also: set[str] = frozenset()) -> None:
    from click.core import ParameterSource

    given = [name for name in ctx.params if name not in _OUTPUT_OPTIONS and name not in also
             and ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise InputError(f"--plan replays the saved plan: {flags} would be ignored; edit the plan file instead")


def output_path(kw: dict[str, Any]) -> Path:
    from segbench.bench.sink import check_results_file
    from segbench.records.store import new_results_path

    output = Path(kw["output"]) if kw["output"] else new_results_path()
    check_results_file(output)
    return output


def hardware_label(plan) -> str:
    from segbench.measure.device import resolve_device
    from segbench.probe import collect
    from segbench.records.environment import hardware_name

    return hardware_name(resolve_device(plan.device), collect())


def build_plan(kw: dict[str, Any]):
    """The plan the command-line options describe (`segbench.bench.presets` fills in the rest)."""
    from segbench.backends.execution import executions_from
    from segbench.bench.presets import make_plan

    for path in kw["inputs"]:
        if not Path(path).exists():
            raise InputError(f"input not found: {path}")
    offloads, flags = _offload_axis(kw)
    options = {
        "inputs": tuple(kw["inputs"]),
        "source_size": _optional(parse_resolution, kw["resolution"]),
        "points_per_side": kw["points_per_side"],
        "points_per_batch": kw["points_per_batch"],
        "auto_mode": kw["auto_mode"],
        "auto_masks": kw["auto_masks"],
        "frames": kw["frames"],
        "prompt": kw["prompt"],
        "text": kw.get("text", "person"),
        "points": tuple(kw["points"]),
        "boxes": tuple(kw["boxes"]),
        "offload_video_to_cpu": flags[0],
        "offload_state_to_cpu": flags[1],
        "vos_optimized": kw.get("vos_optimized", False),
        "volume": _optional(parse_volume_shape, kw["volume_shape"]),
        "roi": _optional(parse_roi, kw["roi"]),
        "overlap": kw["overlap"],
        "aggregate_on": kw["aggregate_on"],
        "depths": tuple(kw["depths"]) if kw.get("depths") else None,
    }
    return make_plan(
        parse_name_list(kw["models"]),
        parse_name_list(kw["workloads"]),
        quick=kw["quick"],
        device=kw["device"],
        precisions=parse_name_list([kw["precisions"]]),
        batch_sizes=kw.get("sw_batch_size") or kw.get("objects") or kw.get("batch_sizes"),
        warmup=kw.get("warmup"),
        min_iters=kw.get("min_iters"),
        min_time_s=kw.get("min_time"),
        weights=kw["weights"],
        checkpoint=kw["checkpoint"],
        resolution=kw["model_size"],
        classes=kw.get("classes"),
        options=options,
        max_ram_bytes=kw.get("max_ram"),
        telemetry_interval_s=kw["telemetry_interval"] or None,
        count_flops=not kw.get("no_flops"),
        launcher=kw.get("launcher", "process"),
        executions=executions_from(parse_name_list([kw.get("compile_modes") or "off"]),
                                   parse_name_list([kw.get("backends") or "eager"]),
                                   offloads),
    )


def _offload_axis(kw: dict[str, Any]) -> tuple[list[str], tuple[bool, bool]]:
    """(the --offload axis, the flags left in the options). Where the command has the axis (run), the
    old --offload-video-to-cpu / --offload-state-to-cpu flags become its one value, so the record's
    label says what ran; soak keeps them as options."""
    from segbench.backends.execution import OFFLOADS

    flags = (bool(kw["offload_video_to_cpu"]), bool(kw["offload_state_to_cpu"]))
    if "offloads" not in kw:
        return ["none"], flags
    axis = parse_name_list([kw.get("offloads") or "none"])
    if not any(flags):
        return axis, flags
    if axis != ["none"]:
        raise InputError("--offload-video-to-cpu / --offload-state-to-cpu set one setting: give it in --offload instead")
    return [next(name for name, value in OFFLOADS.items() if value == flags)], (False, False)


def _optional(parser: Callable[[str], Any], text: str | None) -> Any:
    return None if text is None else parser(text)


def _list_models(as_json: bool) -> None:
    from segbench.families.registry import default_model, families

    defaults: dict[str, list[str]] = {}
    for workload in WORKLOAD_NAMES:
        try:
            defaults.setdefault(default_model([workload]), []).append(workload)
        except InputError:  # no family declares a default for it
            pass
    rows = []
    for family in families().values():
        for spec in family.models:
            # (h, w) for 2D models is shown as WxH; 3D rois are already (w, h, d).
            size = spec.default_resolution[::-1] if len(spec.default_resolution) == 2 else spec.default_resolution
            rows.append({"name": spec.name, "family": spec.family, "workloads": list(spec.workloads),
                         "tasks": list(spec.tasks), "published_size": "x".join(map(str, size)),
                         "default_for": defaults.get(spec.name, []), "description": spec.description})
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Registered models")
    for column in ("name", "family", "workloads", "tasks", "published size", "default for", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["family"], ", ".join(row["workloads"]), ", ".join(row["tasks"]),
                      row["published_size"], ", ".join(row["default_for"]) or "-", row["description"])
    console().print(table)


class ProgressObserver:
    """Rich progress on stderr: one bar per measured point, notes printed above it."""

    def __enter__(self) -> "ProgressObserver":
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self.progress.__enter__()
        self.task = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def point_started(self, label: str, min_iters: int, point: Any = None) -> None:
        self.task = self.progress.add_task(label, total=min_iters, last="warm-up")

    def sample(self, index: int, seconds: float) -> None:
        if self.task is not None:
            total = max(self.progress.tasks[-1].total or 0, index)
            self.progress.update(self.task, completed=index, total=total, last=fmt_seconds(seconds))

    def record(self, record) -> None:
        if self.task is not None:
            self.progress.update(self.task, last=record.status if record.status != "ok" else "done")

    def note(self, text: str) -> None:
        self.progress.console.print(f"[dim]note:[/] {text}")


EXECUTION_COLUMNS = ("exec", "one-off", "break-even", "vs fp32")


def execution_cells(r) -> tuple[str, ...]:
    """How the network ran, its one-off cost, items until that is paid back, and its fidelity."""
    one_off = r.execution.get("one_off") or {}
    seconds = one_off.get("seconds")
    once = "-" if seconds is None else fmt_seconds(seconds) + (" (cached)" if one_off.get("cached") else "")
    if "break_even_items" in r.execution:
        items = r.execution["break_even_items"]
        even = "never" if items is None else f"{items:,.0f} {r.stats.get('item_unit', 'item')}s"
    else:
        even = "-"
    return r.execution_label, once, even, fidelity_text(r.fidelity)


def fidelity_text(fidelity: dict) -> str:
    if not fidelity:
        return "-"
    if fidelity.get("rel_error") is None:
        return "[red]failed[/]" if fidelity.get("error") else "-"
    text = f"{fidelity['rel_error']:.2%}"
    return text + (f", IoU {fidelity['mask_iou']:.3f}" if fidelity.get("mask_iou") is not None else "")


def _table(records) -> None:
    table = Table(title="segbench run")
    axes = any(r.execution_label != "eager" or r.fidelity for r in records)
    for column in (
        "model",
        "workload",
        "prec",
        "batch",
        "status",
        "median",
        "p90",
        "throughput",
        "peak (alloc/RSS)",
        "TFLOP/s",
        "of peak",  # of this machine's measured matmul peak at that precision (probe --measure)
        *(EXECUTION_COLUMNS if axes else ()),
    ):
        table.add_column(column, justify="left" if column in ("model", "workload", "status") else "right")
    for r in records:
        lat = r.stats.get("latency_s", {})
        ips = r.stats.get("items_per_s")
        mem = r.memory.get("peak_allocated_bytes") or r.memory.get("peak_rss_bytes")
        tflops = r.flops.get("achieved_tflops")
        share = r.flops.get("fraction_of_peak")
        status = r.status if r.status == "ok" else f"[red]{r.status}[/]"
        table.add_row(
            r.model,
            r.workload,
            r.precision,
            str(r.batch_size),
            status,
            fmt_seconds(lat.get("median")),
            fmt_seconds(lat.get("p90")),
            f"{ips:.2f} {r.stats.get('item_unit', '')}/s" if ips else "-",
            fmt_bytes(mem),
            f"{tflops:.2f}" if tflops else "-",
            f"{share:.0%}" if share else "-",
            *(execution_cells(r) if axes else ()),
        )
    console().print(table)
    if axes and any(r.fidelity for r in records):
        notes = {r.fidelity.get("note") for r in records if r.fidelity.get("note")}
        console().print("vs fp32: relative error of the network's outputs (and mask IoU) against fp32 eager on "
                        "the same inputs" + "".join(f"; {n}" for n in sorted(notes)) + ".")
    if any(r.weights == "random" for r in records):
        console().print(
            "[yellow]Timings used random weights:[/] real for this architecture's speed and memory; "
            "masks and mask counts are not representative."
        )
    for r in records:
        if r.error:
            shown = "" if r.execution_label == "eager" else f" {r.execution_label}"
            console().print(f"[red]{r.model} {r.workload} {r.precision}{shown} b{r.batch_size}:[/] {r.error}")
