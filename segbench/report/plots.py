"""The report's performance figures, one function per kind of plot, each returning `Plot`s.

All read the flat table from `frame.py`. A figure is drawn per (machine, workload) so that lines
on one axis are comparable; when a point was measured more than once, the newest record is drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from segbench.formatting import slug
from segbench.report.figures import (
    Plot,
    SeriesStyle,
    legend,
    new_figure,
    png_bytes,
    size_axis,
    wrap,
)
from segbench.report.frame import depth_frame

# A point as `Record.match_key()` identifies one (its settings digest included), per machine.
POINT = ["hardware", "kind", "model", "workload", "precision", "batch_size", "input_key", "execution", "params_key"]


def latest_per_point(frame: pd.DataFrame) -> pd.DataFrame:
    """Benchmark runs only (soaks have their own telemetry plots), newest record of each point
    (repeated runs of one point would zigzag the lines)."""
    frame = frame[frame["kind"] == "run"]
    if frame.empty:
        return frame
    return frame.sort_values("created").drop_duplicates(subset=POINT, keep="last")


def _series(group: pd.DataFrame, *, by_input: bool) -> pd.Series:
    """Line label: model + precision, plus the input when one group mixes several inputs."""
    label = group["model"] + " " + group["precision"]
    if by_input and group["input_key"].nunique() > 1:
        label = label + " [" + group["input_key"] + "]"
    return label


# Workloads with their own figure against input size: their batch-size figures are drawn only
# when batch size was actually varied, otherwise they would be a column of unrelated dots.
_OWN_SIZE_PLOT = ("video", "volume")


def _skip_batch_figure(workload: str, group: pd.DataFrame) -> bool:
    if workload not in _OWN_SIZE_PLOT:
        return False
    return bool((group.groupby("series")["batch_size"].nunique() < 2).all())


def _value_axis(ax, values: pd.Series) -> bool:
    """Linear from zero, or log when the series differ by more than 20× (one would flatten the others)."""
    positive = values[values > 0]
    if len(positive) and positive.max() / positive.min() > 20:
        ax.set_yscale("log")
        # Plain numbers at 1-2-5 steps read better than bare powers of ten.
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        return True
    ax.set_ylim(bottom=0)
    return False


def _time_unit(max_seconds: float) -> tuple[float, str]:
    return (1.0, "s") if max_seconds >= 2 else (1e3, "ms")


def _bytes_unit(max_bytes: float) -> tuple[float, str]:
    return (1024.0**3, "GiB") if max_bytes >= 1024.0**3 else (1024.0**2, "MiB")


def finish(fig, axes, suptitle: str, *, filename: str, title: str, caption: str, section: str,
           legend_title: str | None = None) -> Plot:
    """The common end of every figure: its title, one legend for all axes, rendered to PNG."""
    fig.suptitle(suptitle)
    if legend_title:
        legend(fig, axes, title=legend_title)
    else:
        legend(fig, axes)
    return Plot(filename=filename, title=title, caption=caption, png=png_bytes(fig), section=section)


def _title(what: str, workload: str, hardware: str) -> str:
    return wrap(f"{workload}: {what} — {hardware}", 90)


def latency_throughput_plots(frame: pd.DataFrame, style: SeriesStyle) -> list[Plot]:
    """Median batch latency with its p10–p90 band, and throughput, against batch size."""
    plots: list[Plot] = []
    ok = latest_per_point(frame[(frame["status"] == "ok") & frame["lat_median_s"].notna()])
    for (hardware, workload), group in ok.groupby(["hardware", "workload"], sort=True):
        group = group.assign(series=_series(group, by_input=True)).sort_values("batch_size")
        if _skip_batch_figure(workload, group):
            continue
        scale, unit = _time_unit(float(group["lat_p90_s"].max(skipna=True) or group["lat_median_s"].max()))
        item_units = sorted(set(group["item_unit"]))
        fig, (ax_lat, ax_thr) = new_figure(ncols=2, width=11.5, height=4.6)
        for name, line in group.groupby("series", sort=True):
            color, marker = style.color(name), style.marker(name)
            x = line["batch_size"].to_numpy(dtype=float)
            med = line["lat_median_s"].to_numpy(dtype=float) * scale
            lo = line["lat_p10_s"].fillna(line["lat_median_s"]).to_numpy(dtype=float) * scale
            hi = line["lat_p90_s"].fillna(line["lat_median_s"]).to_numpy(dtype=float) * scale
            ax_lat.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)
            ax_lat.errorbar(x, med, yerr=[med - lo, hi - med], color=color, marker=marker, capsize=3, label=name)
            ax_thr.plot(x, line["items_per_s"].to_numpy(dtype=float), color=color, marker=marker, label=name)
        log_lat = _value_axis(ax_lat, group["lat_median_s"])
        log_thr = _value_axis(ax_thr, group["items_per_s"])
        for ax in (ax_lat, ax_thr):
            size_axis(ax, group["batch_size"])
            ax.set_xlabel("batch size")
            ax.grid(True, alpha=0.3)
        ax_lat.set_ylabel(f"latency per batch ({unit}{', log scale' if log_lat else ''})")
        ax_lat.set_title("median latency (band: p10–p90)", fontsize="medium")
        ax_thr.set_ylabel(f"throughput ({'/'.join(item_units)}s per second{', log scale' if log_thr else ''})")
        ax_thr.set_title("throughput", fontsize="medium")
        plots.append(
            finish(
                fig,
                [ax_lat, ax_thr],
                _title("latency and throughput vs batch size", workload, hardware),
                filename=f"latency-{slug(workload)}-{slug(hardware)}.png",
                title=f"{workload}: latency and throughput — {hardware}",
                caption="Median time per batch with the p10–p90 range of the timed iterations, and items per second"
                " (a point measured more than once shows its newest result).",
                section="performance",
            )
        )
    return plots


def draw_memory(ax, group: pd.DataFrame, x: str, style: SeriesStyle) -> None:
    """Peak memory lines against column `x`, the device ceiling, and OOM points marked on it."""
    measured = group[(group["status"] == "ok") & group["mem_bytes"].notna()].sort_values(x)
    ooms = group[group["status"] == "oom"]
    highest = float(measured["mem_bytes"].max()) if not measured.empty else np.nan
    total = float(group["device_total_bytes"].max())
    has_total = math.isfinite(total) and total > 0
    # A capacity far above every point (a CPU's RAM) would flatten the lines: name it, do not draw it.
    off_scale = has_total and ooms.empty and math.isfinite(highest) and total > 3 * highest
    top = float(np.nanmax([highest, total if has_total and not off_scale else np.nan, 1.0]))
    scale, unit = _bytes_unit(top)
    for name, line in measured.groupby("series", sort=True):
        ax.plot(line[x], line["mem_bytes"] / scale, color=style.color(name), marker=style.marker(name), label=name)
    ceiling = None
    if off_scale:
        total_scale, total_unit = _bytes_unit(total)
        ax.plot([], [], linestyle="none", label=f"device memory: {total / total_scale:.1f} {total_unit} (off scale)")
    elif has_total:
        ceiling = total / scale
        ax.axhline(ceiling, color="black", linestyle="--", linewidth=1.2, label=f"device memory ({ceiling:.1f} {unit})")
    if not ooms.empty:
        # OOM points sit on the ceiling (or just above the highest point when the capacity is unknown).
        y_oom = ceiling if ceiling is not None else (top / scale) * 1.05
        for name, line in ooms.groupby("series", sort=True):
            ax.scatter(line[x], [y_oom] * len(line), marker="X", s=110, color=style.color(name),
                       edgecolors="black", linewidths=0.8, zorder=5)
        ax.scatter([], [], marker="X", s=110, color="white", edgecolors="black", label="out of memory (OOM)")
    ax.set_ylim(bottom=0, top=(top / scale) * 1.12)
    sources = sorted(set(measured["mem_source"].dropna()))
    # Which figure it is (torch reserved, torch allocated, process RSS) in the words of frame.MEMORY_SOURCES.
    ax.set_ylabel(f"peak memory{': ' + ', '.join(sources) if sources else ''} ({unit})")
    ax.grid(True, alpha=0.3)


def memory_plots(frame: pd.DataFrame, style: SeriesStyle) -> list[Plot]:
    """Peak memory against batch size, with the device's capacity drawn and OOM points marked."""
    plots: list[Plot] = []
    rows = latest_per_point(frame[frame["status"].isin(["ok", "oom"])])
    for (hardware, workload), group in rows.groupby(["hardware", "workload"], sort=True):
        if not ((group["status"] == "oom").any() or group["mem_bytes"].notna().any()):
            continue
        group = group.assign(series=_series(group, by_input=True))
        if _skip_batch_figure(workload, group):
            continue
        fig, (ax,) = new_figure(width=9.5, height=4.8)
        draw_memory(ax, group, "batch_size", style)
        size_axis(ax, group["batch_size"])
        ax.set_xlabel("batch size")
        plots.append(
            finish(
                fig,
                [ax],
                _title("peak memory vs batch size", workload, hardware),
                filename=f"memory-{slug(workload)}-{slug(hardware)}.png",
                title=f"{workload}: peak memory — {hardware}",
                caption="Peak memory per batch size; dashed line: the device's total memory; X: the batch ran out of memory.",
                section="memory",
            )
        )
    return plots


def video_plots(frame: pd.DataFrame, style: SeriesStyle) -> list[Plot]:
    """Steady-state video frames per second (`metrics.fps_steady`) against the clip's own resolution
    (`input.source_size`): the model resizes every frame to its own size, so the source size is what varies."""
    plots: list[Plot] = []
    video = frame[(frame["status"] == "ok") & (frame["workload"] == "video")].copy()
    if video.empty:
        return plots
    fallback = video["items_per_s"].where(video["item_unit"] == "frame")
    video["fps"] = video["fps_steady"].fillna(fallback)
    video = latest_per_point(video[video["fps"].notna() & video["resolution_label"].notna()])
    for hardware, group in video.groupby("hardware", sort=True):
        label = group["model"] + " " + group["precision"]
        if group["batch_size"].nunique() > 1:
            label = label + " ×" + group["batch_size"].astype(str) + " obj"
        group = group.assign(series=label)
        order = group.drop_duplicates("resolution_label").sort_values("resolution_pixels")["resolution_label"].tolist()
        position = {res: i for i, res in enumerate(order)}
        fig, (ax,) = new_figure(width=9.5, height=4.8)
        for name, line in group.groupby("series", sort=True):
            line = line.assign(pos=line["resolution_label"].map(position)).sort_values("pos")
            ax.plot(line["pos"], line["fps"], color=style.color(name), marker=style.marker(name), label=name)
        ax.set_xticks(range(len(order)), order)
        ax.set_xlabel("source video resolution (height × width, pixels; the model runs at its own size)")
        ax.set_ylabel("steady-state throughput (frames per second)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        plots.append(
            finish(
                fig,
                [ax],
                _title("fps vs source resolution", "video", hardware),
                filename=f"video-fps-{slug(hardware)}.png",
                title=f"video: frames per second — {hardware}",
                caption="Frames per second once the memory bank is full (warm-up frames excluded).",
                section="video",
            )
        )
    return plots


def _volume_series(group: pd.DataFrame) -> pd.Series:
    """One line per model, precision and windows per forward (and scan or settings, when they differ)."""
    label = group["model"] + " " + group["precision"]
    if group["batch_size"].nunique() > 1:
        label = label + " (sw batch " + group["batch_size"].astype(str) + ")"
    if group["input_key"].nunique() > 1:
        label = label + " [" + group["input_key"] + "]"
    if group["params_key"].nunique() > 1:
        label = label + " {" + group["params_key"] + "}"
    return label


def volume_plots(frame: pd.DataFrame, style: SeriesStyle) -> list[Plot]:
    """3D: peak memory against volume depth (the record's `memory_by_depth` runs), with the device
    ceiling and the depths that ran out of memory."""
    plots: list[Plot] = []
    records = latest_per_point(frame[frame["status"].isin(["ok", "oom"]) & (frame["workload"] == "volume")])
    depths = depth_frame(records)
    depths = depths[depths["status"].isin(["ok", "oom"])]
    for hardware, group in depths.groupby("hardware", sort=True):
        if not ((group["status"] == "oom").any() or group["mem_bytes"].notna().any()):
            continue
        group = group.assign(series=_volume_series(group))
        fig, (ax,) = new_figure(width=9.5, height=4.8)
        draw_memory(ax, group, "depth", style)
        size_axis(ax, group["depth"])
        ax.set_xlabel("volume depth (slices; width × height as measured)")
        plots.append(
            finish(
                fig,
                [ax],
                _title("peak memory vs volume depth", "volume", hardware),
                filename=f"volume-memory-{slug(hardware)}.png",
                title=f"volume: peak memory vs depth — {hardware}",
                caption="Peak memory of one sliding-window pass over the scan with its slices repeated to each depth;"
                " dashed: device memory; X: that depth ran out of memory (deeper ones are not tried).",
                section="volume",
            )
        )
    return plots


def pick_reference(frame: pd.DataFrame, requested: str | None = None) -> str | None:
    """The machine others are normalised to: the one asked for, else the one with most results."""
    ok = frame[frame["status"] == "ok"]
    machines = ok["hardware"].value_counts()
    if requested is not None:
        return requested if requested in machines.index else None
    if machines.empty:
        return None
    best = machines.max()
    return min(m for m, n in machines.items() if n == best)


def cross_machine_plots(frame: pd.DataFrame, reference: str | None) -> list[Plot]:
    """Per workload, throughput on each other machine relative to `reference` (1.0 = as fast)."""
    plots: list[Plot] = []
    ok = latest_per_point(frame[(frame["status"] == "ok") & frame["items_per_s"].notna()])
    if reference is None or ok["hardware"].nunique() < 2:
        return plots
    others_all = sorted(m for m in ok["hardware"].unique() if m != reference)
    colors = SeriesStyle(others_all)
    for workload, group in ok.groupby("workload", sort=True):
        group = group.sort_values(["model", "precision", "batch_size", "input_key"])
        group = group.assign(config=group["model"] + " " + group["precision"] + " bs" + group["batch_size"].astype(str)
                             + group["input_key"].map(lambda k: f" [{k}]" if k else ""))
        order = list(dict.fromkeys(group["config"]))
        table = group.pivot_table(index="config", columns="hardware", values="items_per_s", aggfunc="last")
        table = table.reindex([c for c in order if c in table.index])
        if reference not in table.columns:
            continue
        others = [m for m in others_all if m in table.columns]
        table = table[table[reference].notna() & table[others].notna().any(axis=1)] if others else table.iloc[0:0]
        if table.empty:
            continue
        relative = table[others].div(table[reference], axis=0)
        configs = list(relative.index)
        fig, (ax,) = new_figure(width=10.5, height=min(max(1.6 + 0.3 * len(configs) * len(others), 3.2), 30))
        bar = 0.8 / len(others)
        for i, machine in enumerate(others):
            y = np.arange(len(configs)) + (i - (len(others) - 1) / 2) * bar
            values = relative[machine].to_numpy(dtype=float)
            ax.barh(y, np.nan_to_num(values), height=bar, color=colors.color(machine), label=wrap(machine, 40))
            for yy, v in zip(y, values):
                if math.isfinite(v):
                    ax.text(v, yy, f" {v:.2f}×", va="center", fontsize="x-small")
        ax.axvline(1.0, color="black", linewidth=1.2, linestyle="--", label=wrap(f"{reference} (= 1.0)", 40))
        ax.set_yticks(np.arange(len(configs)), configs, fontsize="small")
        ax.set_ylim(len(configs) - 0.5, -0.5)
        ax.set_xlim(0, max(1.0, float(np.nanmax(relative.to_numpy(dtype=float)))) * 1.15)
        ax.set_xlabel(wrap(f"throughput relative to {reference} (×; higher is faster)", 80))
        ax.grid(True, axis="x", alpha=0.3)
        plots.append(
            finish(
                fig,
                [ax],
                wrap(f"{workload}: machines compared (normalised to {reference})", 90),
                legend_title="machine",
                filename=f"machines-{slug(workload)}.png",
                title=f"{workload}: machines compared",
                caption=f"Items per second on each machine divided by the same configuration on {reference}.",
                section="machines",
            )
        )
    return plots
