"""The options `run`, `soak` and `fleet run` share: what to run, on what, with which inputs."""

from __future__ import annotations

import click

from segbench import limits as L
from segbench.cli.family_flags import family_flags
from segbench.cli.params import BOX, CLASSES_OPTION, MODEL_SIZE, POINT, FiniteRange
from segbench.limits import POINT_TIMEOUT_S
from segbench.workload_catalog import AUTO_MASKS, FULL, QUICK, WORKLOAD_NAMES

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
        "--points-per-side", type=click.IntRange(*L.POINTS_PER_SIDE), default=None, help="auto: point grid (default 32; quick 8)."
    ),
    click.option(
        "--points-per-batch",
        type=click.IntRange(*L.POINTS_PER_BATCH),
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
        type=click.IntRange(*L.AUTO_MASKS),
        default=AUTO_MASKS,
        show_default=True,
        help="auto, relaxed: masks kept per image (default: SA-1B's ~100 per image).",
    ),
    click.option(
        "--frames",
        type=click.IntRange(*L.FRAMES),
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
        "--overlap", type=FiniteRange(*L.OVERLAP), default=0.25, show_default=True, help="volume: window overlap."
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
        type=FiniteRange(0, L.TELEMETRY_INTERVAL_S[1]),
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
    for option in reversed([*SHARED_OPTIONS, *family_flags(), POINT_TIMEOUT_OPTION]):
        command = option(command)
    return command


class _PlanDefaultOption(click.Option):
    """An option whose help states a Plan field's default, read only when help is shown: the plan
    module imports torch, which `segbench --help` (it loads every command) should not wait for."""

    def __init__(self, *args, plan_field: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.plan_field = plan_field

    def get_help_record(self, ctx: click.Context):
        from segbench.bench.plan import Plan

        default = Plan.__dataclass_fields__[self.plan_field].default
        record = super().get_help_record(ctx)
        return record and (record[0], f"{record[1]}  [default: {'none' if default is None else f'{default:g}'}]")


# `run`, `soak`, `tune`, `fleet`: how long one point may take; left off, the Plan's default applies.
POINT_TIMEOUT_OPTION = click.option(
    "--point-timeout",
    "point_timeout",
    cls=_PlanDefaultOption,
    plan_field="point_timeout_s",
    type=FiniteRange(0, POINT_TIMEOUT_S[1]),
    default=None,
    metavar="SECONDS",
    help="Stop a point (or a model's loading) that runs longer than this and record it as an error row; "
    "0: no limit.",
)
