"""From command-line options to a `Plan`: the plan they describe, where its records go, and the
refusal of point options beside `--plan` (they would be silently ignored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from segbench.cli.family_flags import given_family_options
from segbench.cli.params import parse_name_list
from segbench.errors import InputError
from segbench.inputs.parsing import parse_resolution, parse_roi, parse_volume_shape

# What a plan file does not decide: given beside --plan these still mean what they say.
OUTPUT_OPTIONS = {"plan_file", "save_plan", "force", "output", "as_json", "list_models", "wide"}


def refuse_point_options(ctx: click.Context, also: set[str] = frozenset()) -> None:
    """Refuse options that choose points when the points come from a saved plan (`also`: the
    command's own options that are not about points)."""
    from click.core import ParameterSource

    given = [name for name in ctx.params if name not in OUTPUT_OPTIONS and name not in also
             and ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise InputError(f"--plan replays the saved plan: {flags} would be ignored; edit the plan file instead")


def output_path(kw: dict[str, Any]) -> Path:
    """The results file `-o` names (checked to be segbench's), or a new one under results/."""
    from segbench.bench.sink import check_results_file
    from segbench.records.store import new_results_path

    output = Path(kw["output"]) if kw["output"] else new_results_path()
    check_results_file(output)
    return output


def hardware_label(plan) -> str:
    """The name of the hardware the plan's device resolves to on this machine."""
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
    offloads, flags = offload_axis(kw)
    options = {
        "inputs": tuple(kw["inputs"]),
        "source_size": optional(parse_resolution, kw["resolution"]),
        "points_per_side": kw["points_per_side"],
        "points_per_batch": kw["points_per_batch"],
        "auto_mode": kw["auto_mode"],
        "auto_masks": kw["auto_masks"],
        "frames": kw["frames"],
        "prompt": kw["prompt"],
        "points": tuple(kw["points"]),
        "boxes": tuple(kw["boxes"]),
        "offload_video_to_cpu": flags[0],
        "offload_state_to_cpu": flags[1],
        "volume": optional(parse_volume_shape, kw["volume_shape"]),
        "roi": optional(parse_roi, kw["roi"]),
        "overlap": kw["overlap"],
        "aggregate_on": kw["aggregate_on"],
        "depths": tuple(kw["depths"]) if kw.get("depths") else None,
    }
    plan = make_plan(
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
        family_options=given_family_options(kw),
        executions=executions_from(parse_name_list([kw.get("compile_modes") or "off"]),
                                   parse_name_list([kw.get("backends") or "eager"])),
        sweeps={} if offloads == ["none"] else {"offload": offloads},
    )
    return with_point_timeout(plan, kw)


def with_point_timeout(plan, kw: dict[str, Any]):
    """`plan` with --point-timeout applied where given (0: no limit); left off, the Plan's default stands."""
    if kw.get("point_timeout") is not None:
        plan.point_timeout_s = kw["point_timeout"] or None
    return plan


def offload_axis(kw: dict[str, Any]) -> tuple[list[str], tuple[bool, bool]]:
    """(the --offload axis, the flags left in the options). Where the command has the axis (run), the
    old --offload-video-to-cpu / --offload-state-to-cpu flags become its one value, so the record's
    label says what ran; soak keeps them as options."""
    from segbench.bench.sweeps import check
    from segbench.workloads.tracking import OFFLOADS

    flags = (bool(kw["offload_video_to_cpu"]), bool(kw["offload_state_to_cpu"]))
    if "offloads" not in kw:
        return ["none"], flags
    axis = parse_name_list([kw.get("offloads") or "none"])
    check({"offload": axis})
    if not any(flags):
        return axis, flags
    if axis != ["none"]:
        raise InputError("--offload-video-to-cpu / --offload-state-to-cpu set one setting: give it in --offload instead")
    given = {"offload_video_to_cpu": flags[0], "offload_state_to_cpu": flags[1]}
    return [next(name for name, sets in OFFLOADS.items() if sets and sets == given)], (False, False)


def optional(parser: Callable[[str], Any], text: str | None) -> Any:
    return None if text is None else parser(text)
