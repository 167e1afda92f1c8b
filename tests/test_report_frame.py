"""The report's table and plot building blocks: field fallbacks, deduplication, memory drawing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from segbench.report.figures import SeriesStyle, new_figure
from segbench.report.frame import parse_resolution, records_frame
from segbench.report.plots import (
    cross_machine_plots,
    draw_memory,
    latest_per_point,
    pick_reference,
)
from segbench.report.tables import random_weights_statement, results_table
from tests.test_report_support import GIB, make_record


@pytest.mark.parametrize(
    "value,label,pixels",
    [(1024, "1024×1024", 1024**2), ([720, 1280], "720×1280", 720 * 1280), ("480x854", "480×854", 480 * 854)],
)
def test_parse_resolution(value, label, pixels) -> None:
    assert parse_resolution(value) == (label, pixels)


def test_parse_resolution_unreadable() -> None:
    label, pixels = parse_resolution({"weird": 1})
    assert label is None and math.isnan(pixels)


def test_memory_source_priority_and_absent_fields() -> None:
    gpu = make_record(memory={"peak_rss_bytes": 1, "peak_allocated_bytes": 2, "peak_reserved_bytes": 3})
    cpu = make_record(memory={"peak_rss_bytes": 5})
    none = make_record(memory={})
    frame = records_frame([gpu, cpu, none]).set_index("id")
    assert frame.loc[gpu.id, ["mem_bytes", "mem_source"]].tolist() == [3.0, "torch reserved"]
    assert frame.loc[cpu.id, ["mem_bytes", "mem_source"]].tolist() == [5.0, "process RSS"]
    assert math.isnan(frame.loc[none.id, "mem_bytes"])


def test_volume_and_video_fields() -> None:
    video = make_record(workload="video", params={"resolution": [720, 1280]}, metrics={"fps_steady": 12.5})
    volume = make_record(workload="volume", params={"volume": [96, 96, 128]})
    frame = records_frame([video, volume]).set_index("id")
    assert frame.loc[video.id, "fps_steady"] == 12.5 and frame.loc[video.id, "resolution_label"] == "720×1280"
    assert frame.loc[volume.id, "volume_depth"] == 128


def test_latest_per_point_keeps_newest_run_and_drops_soaks() -> None:
    old = make_record(median_s=0.2, created="2025-01-01T00:00:00+00:00")
    new = make_record(median_s=0.1, created="2025-02-01T00:00:00+00:00")
    soak = make_record(kind="soak", created="2025-03-01T00:00:00+00:00")
    kept = latest_per_point(records_frame([old, new, soak]))
    assert kept["id"].tolist() == [new.id]


def test_memory_axes_draw_ceiling_and_oom_points() -> None:
    records = [make_record(batch_size=b, memory={"peak_reserved_bytes": b * GIB, "device_total_bytes": 8 * GIB})
               for b in (1, 2, 4)]
    records.append(make_record(batch_size=8, status="oom", memory={"device_total_bytes": 8 * GIB}))
    frame = records_frame(records)
    frame = frame.assign(series=frame["model"] + " " + frame["precision"])
    _, (ax,) = new_figure()
    draw_memory(ax, frame, "batch_size", SeriesStyle())
    labels = ax.get_legend_handles_labels()[1]
    assert "device memory (8.0 GiB)" in labels and "out of memory (OOM)" in labels
    (line,) = [l for l in ax.get_lines() if l.get_label() == "sam2.1-tiny fp32"]
    assert list(line.get_ydata()) == [1.0, 2.0, 4.0]
    oom_points = ax.collections[0].get_offsets()
    assert oom_points.tolist() == [[8.0, 8.0]]  # at batch 8, on the 8 GiB ceiling
    assert "GiB" in ax.get_ylabel()


def test_cross_machine_normalisation() -> None:
    cpu = make_record(median_s=0.5, seed=1)
    gpu = make_record(median_s=0.05, seed=2, hardware="NVIDIA RTX 4090")
    lonely = make_record(model="only-on-cpu", seed=3)
    frame = records_frame([cpu, gpu, lonely])
    assert pick_reference(frame) in {cpu.hardware, gpu.hardware}
    assert pick_reference(frame, "NVIDIA RTX 4090") == "NVIDIA RTX 4090"
    assert pick_reference(frame, "nope") is None
    plots = cross_machine_plots(frame, "NVIDIA RTX 4090")
    assert [p.filename for p in plots] == ["machines-image.png"]
    assert cross_machine_plots(frame[frame["hardware"] == cpu.hardware], cpu.hardware) == []


def test_results_table_marks_noise_and_errors() -> None:
    noisy = make_record(samples=list(np.linspace(0.05, 0.15, 20)))
    failed = make_record(status="error", batch_size=8)
    table = results_table(records_frame([noisy, failed]))
    assert table["IQR/median"].iloc[0].endswith("(noisy)")
    assert "boom" in table.loc[table["status"] == "error", "note"].iloc[0]


def test_random_weights_statement_counts() -> None:
    frame = records_frame([make_record(weights="random"), make_record(weights="pretrained", model="b")])
    statement = random_weights_statement(frame)
    assert statement.startswith("1 of 2 results came from random weights (sam2.1-tiny)")
