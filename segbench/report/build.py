"""`segbench report`: result files -> a folder with PNG plots, `index.html` and `summary.md`."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from segbench.errors import InputError
from segbench.atomic import atomic_write_bytes, atomic_write_text
from segbench.report.figures import Plot, SeriesStyle
from segbench.report.frame import records_frame
from segbench.report.html_page import render_html
from segbench.report.load import load_results
from segbench.report.markdown_page import render_markdown
from segbench.report.plots import (
    cross_machine_plots,
    latency_throughput_plots,
    memory_plots,
    pick_reference,
    video_plots,
    volume_plots,
)
from segbench.report.paths_plot import two_paths_plots
from segbench.report.scaling import scaling_plots, scaling_table
from segbench.report.sidecar import load_samples
from segbench.report.tables import (
    environment_table,
    random_weights_statement,
    results_table,
)
from segbench.report.telemetry_plot import telemetry_plots
from segbench.report.writing import writing

DEFAULT_REPORTS_DIR = Path("reports")


@dataclass
class ReportResult:
    out: Path
    files: list[Path]
    records: int
    machines: int
    random_weights: bool
    warnings: list[str] = field(default_factory=list)


def default_out_dir(base: Path = DEFAULT_REPORTS_DIR) -> Path:
    return base / _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def prepare_out_dir(out: Path, force: bool) -> None:
    """Refuse to write into a non-empty folder unless asked: a report is never silently replaced."""
    if out.exists() and not out.is_dir():
        raise InputError(f"report output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"report folder {out} is not empty; choose another --out or pass --force to overwrite")
    out.mkdir(parents=True, exist_ok=True)


def _unique_names(plots: Sequence[Plot]) -> None:
    # Slugs of two long machine names can coincide; a later plot must not overwrite an earlier one.
    seen: dict[str, int] = {}
    for plot in plots:
        count = seen.get(plot.filename, 0)
        seen[plot.filename] = count + 1
        if count:
            stem, _, ext = plot.filename.rpartition(".")
            plot.filename = f"{stem}-{count + 1}.{ext}"


def build_report(
    paths: Sequence[str | Path],
    out: Path | None = None,
    *,
    force: bool = False,
    reference: str | None = None,
    title: str = "segbench report",
) -> ReportResult:
    loaded = load_results(paths)
    out = out if out is not None else default_out_dir()
    frame = records_frame(loaded.records)
    notes: list[str] = []
    ref = pick_reference(frame, reference)
    if reference is not None and ref is None:
        raise InputError(f"--normalise-to {reference!r} names no machine with successful results")
    with writing(out, "report folder"):
        prepare_out_dir(out, force)

    style = SeriesStyle(frame["model"] + " " + frame["precision"])
    # Names come from records: a "$" must print as a dollar sign, not start mathtext.
    with matplotlib.rc_context({"text.parse_math": False}):
        plots = [
            *latency_throughput_plots(frame, style),
            *memory_plots(frame, style),
            *video_plots(frame, style),
            *volume_plots(frame, style),
            *two_paths_plots(frame),
        ]
        telemetry, left_out = telemetry_plots(loaded.records, load_samples(loaded.records, loaded.inputs))
        plots += telemetry
        plots += cross_machine_plots(frame, ref)
        plots += scaling_plots(loaded.records)
    if left_out:
        notes.append(f"Telemetry is plotted for {len(telemetry)} records; {left_out} more have samples in their sidecars.")
    _unique_names(plots)

    failed = frame[frame["status"] != "ok"]
    if not failed.empty:
        counts = ", ".join(f"{n} {s}" for s, n in failed["status"].value_counts().sort_index().items())
        notes.append(f"Not every point produced a measurement: {counts} (rows marked in the results table).")
    notes.extend(loaded.warnings)

    generated = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    page = {
        "title": title,
        "generated": generated,
        "random_statement": random_weights_statement(frame),
        "notes": notes,
        "environment": environment_table(loaded.records),
        "results": results_table(frame),
        "scaling": scaling_table(loaded.records),
        "plots": plots,
    }
    files = []
    with writing(out, "report folder"):
        for plot in plots:
            atomic_write_bytes(out / plot.filename, plot.png)
            files.append(out / plot.filename)
        atomic_write_text(out / "summary.md", render_markdown(**page))
        atomic_write_text(out / "index.html", render_html(**page))
    files += [out / "summary.md", out / "index.html"]
    return ReportResult(
        out=out,
        files=files,
        records=len(frame),
        machines=frame["hardware"].nunique(),
        random_weights=page["random_statement"] is not None,
        warnings=loaded.warnings,
    )
