"""Telemetry over time (temperature, clocks, power, utilisation) with throttle periods shaded."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from segbench.formatting import slug
from segbench.probe.nvml import throttling
from segbench.records.schema import Record
from segbench.report.figures import Plot, new_figure, png_bytes, wrap

MAX_PLOTS = 12
# A run point shorter than this many samples shows no trend worth a figure (soaks are always drawn).
MIN_RUN_SAMPLES = 10

# panel, y label, and (signal suffix, line label, dashed?) per line. The memory clock is left out:
# at ~10 GHz it would flatten the SM clock, whose dips are what throttling looks like.
PANELS = (
    ("temperature", "temperature (°C)", (("temperature_c", "temperature", False), ("temp_c", "temperature", False))),
    ("clocks", "clock (MHz)", (("sm_clock_mhz", "SM clock", False), ("sm_clock_max_mhz", "SM clock max", True),
                               ("freq_mhz", "frequency", False))),
    ("power", "power (W)", (("power_w", "power", False), ("power_limit_w", "power limit", True))),
    ("utilisation", "utilisation (%)", (("util_pct", "utilisation", False),)),
)
_SIGNAL = re.compile(r"^(gpu\d+|cpu)\.(.+)$")


def _signals(samples: pd.DataFrame) -> dict[str, list[tuple[str, str, bool]]]:
    """Panel name -> [(column, label, dashed)] for the numeric signals present."""
    panels: dict[str, list[tuple[str, str, bool]]] = {}
    for column in samples.columns:
        match = _SIGNAL.match(str(column))
        if not match or not pd.api.types.is_numeric_dtype(samples[column]) or samples[column].notna().sum() == 0:
            continue
        source, signal = match.groups()
        for name, _, lines in PANELS:
            for suffix, label, dashed in lines:
                if signal == suffix:
                    panels.setdefault(name, []).append((column, f"{source.upper()} {label}", dashed))
    return panels


def throttle_spans(samples: pd.DataFrame) -> list[tuple[float, float, set[str]]]:
    """(start, end, reasons) of contiguous periods where any GPU reported a real throttle reason."""
    columns = [c for c in samples.columns if str(c).endswith(".throttle")]
    if not columns or len(samples) == 0:
        return []
    t = samples["t"].to_numpy(dtype=float)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.1
    spans: list[tuple[float, float, set[str]]] = []
    for i in range(len(samples)):
        reasons: set[str] = set()
        for column in columns:
            value = samples[column].iat[i]
            if isinstance(value, list):
                # Same rule as the sampler's summary: idle and application clocks are not throttling.
                reasons.update(throttling(str(r) for r in value))
        if not reasons:
            continue
        end = t[i + 1] if i + 1 < len(t) else t[i] + step
        if spans and abs(spans[-1][1] - t[i]) < 1e-9:
            spans[-1] = (spans[-1][0], end, spans[-1][2] | reasons)
        else:
            spans.append((t[i], end, reasons))
    return spans


def _priority(record: Record, samples: pd.DataFrame) -> tuple:
    throttled = bool(record.telemetry.get("throttled")) if isinstance(record.telemetry, dict) else False
    duration = float(samples["t"].max() - samples["t"].min()) if len(samples) else 0.0
    return (record.kind != "soak", not throttled, -duration, record.created)


def telemetry_plots(records: list[Record], samples_by_id: dict[str, pd.DataFrame]) -> tuple[list[Plot], int]:
    """Plots for the most telling records (soaks, then throttled, then longest); also how many were left out."""
    candidates = [
        (r, samples_by_id[r.id])
        for r in records
        if len(samples_by_id.get(r.id, ())) >= (2 if r.kind == "soak" else MIN_RUN_SAMPLES)
    ]
    candidates.sort(key=lambda pair: _priority(*pair))
    plots = []
    for record, samples in candidates[:MAX_PLOTS]:
        plot = _telemetry_plot(record, samples)
        if plot is not None:
            plots.append(plot)
    return plots, max(0, len(candidates) - MAX_PLOTS)


def _telemetry_plot(record: Record, samples: pd.DataFrame) -> Plot | None:
    panels = _signals(samples)
    if not panels:
        return None
    names = [name for name, _, _ in PANELS if name in panels]
    t = samples["t"].to_numpy(dtype=float)
    minutes = t.max() > 1200
    x = t / 60.0 if minutes else t
    fig, axes = new_figure(nrows=len(names), width=10.5, height=1.2 + 1.9 * len(names), sharex=True)
    spans = throttle_spans(samples)
    reasons = sorted(set().union(*(s[2] for s in spans))) if spans else []
    for ax, name in zip(axes, names):
        ylabel = next(label for panel, label, _ in PANELS if panel == name)
        for column, label, dashed in panels[name]:
            ax.plot(x, samples[column].to_numpy(dtype=float), linestyle="--" if dashed else "-", linewidth=1.3,
                    label=label)
        for i, (start, end, _) in enumerate(spans):
            scale = 60.0 if minutes else 1.0
            ax.axvspan(start / scale, end / scale, color="tab:red", alpha=0.18, linewidth=0,
                       label=f"throttled ({', '.join(reasons)})" if i == 0 else "_nolegend_")
        if name == "utilisation":
            ax.set_ylim(0, 105)
        ax.set_ylabel(ylabel, fontsize="small")
        ax.grid(True, alpha=0.3)
        # One legend per panel, beside it: colours repeat between panels, so a shared legend would mislead.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", borderaxespad=0)
    axes[-1].set_xlabel("time since sampling started (min)" if minutes else "time since sampling started (s)")
    what = f"{record.kind} {record.model} {record.workload} {record.precision} bs{record.batch_size}"
    fig.suptitle(wrap(f"telemetry: {what} — {record.hardware}", 90))
    return Plot(
        filename=f"telemetry-{slug(record.model)}-{slug(record.workload)}-{record.id[:8]}.png",
        title=f"telemetry: {what} — {record.hardware}",
        caption="Sensor samples during the measurement; shaded: periods the GPU reported throttling.",
        png=png_bytes(fig),
        section="telemetry",
    )
