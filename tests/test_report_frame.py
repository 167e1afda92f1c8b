"""The report's table and plot building blocks: field fallbacks, deduplication, memory drawing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from segbench.report.figures import SeriesStyle, new_figure
from segbench.report.frame import depth_frame, parse_resolution, records_frame
from segbench.report.plots import (
    cross_machine_plots,
    draw_memory,
    latest_per_point,
    pick_reference,
)
from segbench.report.tables import random_weights_statement, results_table
from tests.report_records import GIB, make_record, video_record, volume_record


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


def test_volume_and_video_fields_as_the_workloads_write_them() -> None:
    video = video_record((720, 1280), fps_steady=12.5)
    volume = volume_record((128, 128, 96), {64: ("ok", GIB), 128: ("oom", None)})
    frame = records_frame([video, volume]).set_index("id")
    # The clip's own size, not the model's 1024×1024.
    assert frame.loc[video.id, "fps_steady"] == 12.5 and frame.loc[video.id, "resolution_label"] == "720×1280"
    assert frame.loc[volume.id, "volume_depth"] == 96
    depths = depth_frame(records_frame([volume]))
    assert depths[["depth", "status"]].values.tolist() == [[64.0, "ok"], [128.0, "oom"]]
    assert depths["mem_bytes"].iloc[0] == GIB and depths["mem_source"].iloc[0] == "torch allocated"


def test_throughput_fallback_counts_items_per_step_not_batch() -> None:
    # A prompt batch of 4 images holds 8 items; an older writer stored no items_per_s.
    prompt = make_record(workload="prompt", batch_size=4, samples=[0.2] * 10, items_per_step=8)
    video = video_record(batch_size=3)  # 3 objects, still one frame per step
    for record in (prompt, video):
        del record.stats["items_per_s"]
    video.samples_s = [0.5] * 10
    video.stats = {"items_per_step": 1, "item_unit": "frame"}
    frame = records_frame([prompt, video]).set_index("id")
    assert frame.loc[prompt.id, "items_per_s"] == pytest.approx(40.0)
    assert frame.loc[video.id, "items_per_s"] == pytest.approx(2.0)


def test_params_key_separates_points_like_match_key() -> None:
    small = volume_record(roi=(96, 96, 96))
    large = volume_record(roi=(128, 128, 128))
    timed_only = volume_record(roi=(96, 96, 96), created="2025-02-01T00:00:00+00:00")
    timed_only.params["timed"] = "another description"  # descriptive: not a different point
    frame = records_frame([small, large, timed_only])
    assert frame.set_index("id")["params_key"].to_dict() == {r.id: r.params_key() for r in (small, large, timed_only)}
    kept = latest_per_point(frame)
    assert sorted(kept["id"]) == sorted([large.id, timed_only.id])


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
    assert ax.get_ylabel() == "peak memory: torch reserved (GiB)"
    # The results table names the same figure.
    assert results_table(frame)["peak memory"].tolist()[0] == "1.00 GiB (torch reserved)"


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


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions draw, kept open instead of only rendered to PNG."""
    from segbench.report import plots

    figures = []
    monkeypatch.setattr(plots, "png_bytes", lambda fig: figures.append(fig) or b"")
    return figures


def test_volume_plot_draws_memory_by_depth_per_sw_batch_with_oom_marks(drawn) -> None:
    from segbench.report.plots import volume_plots

    total = {"device_total_bytes": 8 * GIB}
    one = volume_record(depths={64: ("ok", 1 * GIB), 128: ("ok", 2 * GIB), 200: ("oom", 7 * GIB),
                                256: ("skipped", None)}, batch_size=1, memory=total)
    four = volume_record(depths={64: ("ok", 3 * GIB), 128: ("ok", 6 * GIB)}, batch_size=4, memory=total)
    plots = volume_plots(records_frame([one, four]), SeriesStyle())
    (plot,) = plots
    assert plot.filename.startswith("volume-memory-")
    (ax,) = drawn[0].axes
    lines = {l.get_label(): (list(l.get_xdata()), list(l.get_ydata())) for l in ax.get_lines()
             if l.get_label().startswith("monai-unet")}
    assert "device memory (8.0 GiB)" in ax.get_legend_handles_labels()[1]
    assert lines == {"monai-unet fp32 (sw batch 1)": ([64.0, 128.0], [1.0, 2.0]),
                     "monai-unet fp32 (sw batch 4)": ([64.0, 128.0], [3.0, 6.0])}
    assert ax.collections[0].get_offsets().tolist() == [[200.0, 8.0]]  # the OOM depth, on the 8 GiB ceiling
    assert "torch allocated" in ax.get_ylabel() and "depth" in ax.get_xlabel()


def test_volume_plot_absent_without_depth_runs(drawn) -> None:
    from segbench.report.plots import volume_plots

    assert volume_plots(records_frame([volume_record(depths={})]), SeriesStyle()) == []


def test_video_plot_uses_source_resolution(drawn) -> None:
    from segbench.report.plots import video_plots

    records = [video_record((480, 854), fps_steady=6.0), video_record((1080, 1920), fps_steady=2.0, seed=1)]
    assert len(video_plots(records_frame(records), SeriesStyle())) == 1
    (ax,) = drawn[0].axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["480×854", "1080×1920"]
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [6.0, 2.0]


def test_results_table_says_how_each_row_ran() -> None:
    from segbench.bench.sweeps import execution_record

    eager, exported, offloaded = make_record(), make_record(seed=1), make_record(seed=2, workload="video")
    exported.execution = execution_record("openvino")
    offloaded.execution = execution_record("eager+offload:both")
    table = results_table(records_frame([eager, exported, offloaded]))
    assert sorted(table["execution"]) == ["eager", "eager+offload:both", "openvino"]


def test_the_spec_sheet_peak_is_looked_up_when_shown_not_by_the_runner() -> None:
    import math

    from segbench.records.schema import Record
    from segbench.report.frame import record_row

    gpu = Record(model="m", workload="image", precision="bf16", batch_size=1, device="cuda:0",
                 environment={"hardware": "NVIDIA A100-SXM4-80GB"})
    assert record_row(gpu)["spec_peak_tflops"] == 312.0  # the catalog's dense bf16 peak
    cpu = Record(model="m", workload="image", precision="bf16", batch_size=1, device="cpu",
                 environment={"hardware": "AMD EPYC 9454 (2 threads)"})
    assert math.isnan(record_row(cpu)["spec_peak_tflops"])
