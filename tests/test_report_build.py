"""`segbench report`: files, decodable plots, every run in the HTML, escaping, random-weights notice."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from segbench.cli import cli
from segbench.records.schema import Record
from segbench.report.build import build_report
from segbench.report.frame import records_frame
from segbench.report.sidecar import load_samples
from segbench.report.telemetry_plot import telemetry_plots, throttle_spans
from tests.report_records import GIB, HARDWARE, make_record, video_record, volume_record, write

GPU = "NVIDIA GeForce RTX 4090"
EVIL = "<script>alert('x')</script>"


def _records() -> list[Record]:
    records = []
    for hardware, device, speed in ((HARDWARE, "cpu", 1.0), (GPU, "cuda:0", 0.1)):
        for model in ("sam2.1-tiny", "mask2former-swin-t"):
            for i, batch in enumerate((1, 2, 4)):
                memory = {"peak_reserved_bytes": int((1 + batch) * GIB), "device_total_bytes": 8 * GIB}
                records.append(make_record(model, "image", "fp32", batch, median_s=0.05 * batch * speed, seed=i,
                                           hardware=hardware, device=device, memory=memory))
        records.append(make_record("sam2.1-tiny", "image", "fp32", 16, status="oom", hardware=hardware, device=device,
                                   memory={"device_total_bytes": 8 * GIB}))
        for j, res in enumerate(((480, 854), (720, 1280))):
            records.append(video_record(res, fps_steady=3.0 / (j + 1) / speed, median_s=0.3 * (j + 1) * speed,
                                        hardware=hardware, device=device))
        records.append(volume_record((128, 128, 64), {64: ("ok", 2 * GIB), 128: ("ok", 4 * GIB),
                                                      200: ("oom", 8 * GIB), 256: ("skipped", None)},
                                     hardware=hardware, device=device, median_s=0.5 * speed,
                                     memory={"peak_reserved_bytes": 3 * GIB, "device_total_bytes": 8 * GIB}))
    records.append(make_record(EVIL, host="<img src=x onerror=alert(1)>", weights="pretrained"))
    return records


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[Record], object]:
    """One report of two machines and all workloads, shared by the tests that only read it."""
    tmp = tmp_path_factory.mktemp("report")
    records = _records()
    path = write(tmp / "results" / "run-1.jsonl", records)
    outcome = build_report([path], tmp / "report")
    return tmp / "report", records, outcome


def test_report_writes_plots_html_and_summary(built) -> None:
    out, records, outcome = built
    names = {p.name for p in out.iterdir()}
    assert {"index.html", "summary.md"} <= names
    pngs = sorted(out.glob("*.png"))
    kinds = {p.name.split("-")[0] for p in pngs}
    assert kinds == {"latency", "memory", "video", "volume", "machines"}
    for png in pngs:
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            assert image.format == "PNG" and image.size[0] > 600 and image.size[1] > 300
    assert outcome.records == len(records) and outcome.machines == 2


def test_html_has_every_run_and_escapes_names(built) -> None:
    out, records, _ = built
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    results_table = page.split("<h2>Results")[1].split("</table>")[0]
    assert results_table.count("<tr") == len(records) + 1  # header + one row per record
    for model in {r.model for r in records if r.model != EVIL}:
        assert model in results_table
    assert "http://" not in page and "https://" not in page  # opens with no network
    # Images are embedded, so the page alone is the report.
    assert page.count('src="data:image/png;base64,') == len(list(out.glob("*.png")))
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "<script" not in summary and "&lt;script&gt;" in summary


def test_random_weights_statement_is_plain_and_prominent(built) -> None:
    out, _, _ = built
    page = (out / "index.html").read_text(encoding="utf-8")
    statement = "timings are real for this architecture, accuracy/mask outputs are not"
    assert statement in page
    assert page.index(statement) < page.index("<h2>Machines</h2>")  # before any table
    assert statement in (out / "summary.md").read_text(encoding="utf-8")


def test_no_random_weights_no_statement(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [make_record(weights="pretrained")])
    build_report([path], tmp_path / "report")
    assert "accuracy/mask outputs are not" not in (tmp_path / "report" / "index.html").read_text(encoding="utf-8")


def test_environment_table_one_row_per_machine(built) -> None:
    out, _, _ = built
    page = (out / "index.html").read_text(encoding="utf-8")
    machines = page.split("<h2>Machines</h2>")[1].split("</table>")[0]
    assert machines.count("<tr") == 1 + 3  # header + cpu host, evil host, gpu host
    assert GPU in machines and "torch 2.14.1" in machines


def test_existing_report_folder_is_not_overwritten(tmp_path: Path, cli_runner) -> None:
    path = write(tmp_path / "r.jsonl", [make_record(), make_record(batch_size=2, seed=1)])
    out = tmp_path / "report"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused = cli_runner.invoke(cli, ["report", str(path), "--out", str(out)])
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert not (out / "index.html").exists()
    forced = cli_runner.invoke(cli, ["report", str(path), "--out", str(out), "--force", "--json"])
    assert forced.exit_code == 0, forced.output
    data = json.loads(forced.stdout)
    assert (out / "index.html").exists() and (out / "keep.txt").read_text() == "mine"
    assert data["records"] == 2 and data["random_weights"] is True
    assert str(out / "index.html") in data["files"]


def test_cli_defaults_to_results_folder(in_tmp: Path, cli_runner) -> None:
    write(in_tmp / "results" / "run-a.jsonl", [make_record(batch_size=b, seed=b) for b in (1, 2)])
    result = cli_runner.invoke(cli, ["report"])
    assert result.exit_code == 0, result.output
    (report_dir,) = list((in_tmp / "reports").iterdir())
    assert (report_dir / "index.html").exists()


def test_cli_missing_or_empty_results_exit_2(in_tmp: Path, cli_runner) -> None:
    missing = cli_runner.invoke(cli, ["report"])
    assert missing.exit_code == 2 and "results" in missing.stderr
    (in_tmp / "results").mkdir()
    (in_tmp / "results" / "empty.jsonl").write_text("")
    empty = cli_runner.invoke(cli, ["report"])
    assert empty.exit_code == 2 and "no result records" in empty.stderr


def test_sparse_records_degrade_gracefully(tmp_path: Path) -> None:
    # Only the required fields, a failure without stats, a record without environment.
    bare = Record(model="m", workload="image", precision="fp32", batch_size=1, device="cpu", samples_s=[0.1, 0.12, 0.11])
    failed = Record(model="m", workload="image", precision="fp32", batch_size=4, device="cpu", status="error",
                    error="shape mismatch")
    path = write(tmp_path / "r.jsonl", [bare, failed])
    frame = records_frame([bare, failed])
    assert frame.loc[frame["status"] == "ok", "lat_median_s"].iloc[0] == pytest.approx(0.11)
    outcome = build_report([path], tmp_path / "report")
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "shape mismatch" in page and outcome.records == 2
    assert (tmp_path / "report" / "latency-image-unknown.png").exists()


def _soak_with_sidecar(tmp_path: Path) -> tuple[Path, Record]:
    soak = make_record(kind="soak", hardware=GPU, device="cuda:0",
                       telemetry={"throttled": True, "sidecar": "somewhere/else/run-1.telemetry.jsonl"})
    path = write(tmp_path / "results" / "run-1.jsonl", [soak])
    lines = []
    for i in range(50):
        throttle = ["sw_thermal"] if 20 <= i < 30 else (["gpu_idle"] if i < 3 else [])
        lines.append(json.dumps({"record_id": soak.id, "t": i * 0.5, "gpu0.temperature_c": 60 + i * 0.4,
                                 "gpu0.sm_clock_mhz": 1800 if throttle == ["sw_thermal"] else 2500,
                                 "gpu0.power_w": 300.0, "gpu0.power_limit_w": 450.0, "gpu0.throttle": throttle}))
    lines.append("not json")
    (tmp_path / "results" / "run-1.telemetry.jsonl").write_text("\n".join(lines) + "\n")
    return path, soak


def test_telemetry_sidecar_is_found_and_plotted(tmp_path: Path) -> None:
    path, soak = _soak_with_sidecar(tmp_path)
    samples = load_samples([soak], [path])
    assert len(samples[soak.id]) == 50
    spans = throttle_spans(samples[soak.id])
    assert spans == [(10.0, 15.0, {"sw_thermal"})]  # gpu_idle is not throttling
    plots, left_out = telemetry_plots([soak], samples)
    assert len(plots) == 1 and left_out == 0
    build_report([tmp_path / "results"], tmp_path / "report")
    (png,) = (tmp_path / "report").glob("telemetry-*.png")
    with Image.open(png) as image:
        image.verify()


def test_html_escapes_plot_titles(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [make_record(hardware=EVIL)])
    build_report([path], tmp_path / "report")
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.png", p.name) for p in (tmp_path / "report").glob("*.png"))


def test_dollar_signs_in_names_do_not_break_plots(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [make_record(model="a$\\frac{x$", batch_size=b, seed=b) for b in (1, 2)])
    outcome = build_report([path], tmp_path / "report")
    assert any(f.suffix == ".png" for f in outcome.files)


def test_unknown_normalise_to_machine_exit_2(tmp_path: Path, cli_runner) -> None:
    path = write(tmp_path / "r.jsonl", [make_record()])
    result = cli_runner.invoke(cli, ["report", str(path), "--out", str(tmp_path / "o"), "--normalise-to", "TPU v9"])
    assert result.exit_code == 2 and "TPU v9" in result.stderr
    assert not (tmp_path / "o").exists()


def test_unwritable_report_folder_is_one_line_exit_2(tmp_path: Path, cli_runner) -> None:
    path = write(tmp_path / "r.jsonl", [make_record()])
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli_runner.invoke(cli, ["report", str(path), "--out", str(blocker / "report")])
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.stderr.splitlines() if "error" in line]
    assert "cannot write report folder" in error and "unexpected" not in result.stderr


def test_report_json_is_only_json(tmp_path: Path, cli_runner) -> None:
    path = write(tmp_path / "r.jsonl", [make_record()])
    result = cli_runner.invoke(cli, ["report", str(path), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == 1


def test_two_paths_plot_from_a_machines_own_records(tmp_path):
    from segbench.advisor.data.calibration import load_calibration
    from segbench.report.paths_plot import two_paths_plots

    records = [make_record("sam2.1-tiny", "auto", median_s=100.0), make_record("sam2.1-tiny", "image", median_s=2.0),
               make_record("sam2.1-tiny", "prompt", median_s=0.05, items_per_step=2),
               make_record("yolo11n-seg", "image", median_s=0.05, seed=1),
               make_record("yolo11n-seg", "train", median_s=1.6, batch_size=16, seed=2)]
    frame = records_frame(records)
    (plot,) = two_paths_plots(frame)
    assert plot.section == "two paths" and plot.png.startswith(b"\x89PNG")
    # measured per image: ~100 s of automatic masks against ~0.05 s of the small model
    per_item = frame.set_index(["model", "workload"])["item_median_s"]
    ratio = per_item[("sam2.1-tiny", "auto")] / per_item[("yolo11n-seg", "image")]
    assert 1900 < ratio < 2100 and f"{ratio:,.0f}x faster" in plot.caption and "yolo11n-seg" in plot.caption
    ft = load_calibration().finetune
    assert f"{ft['labeled_images']} labeled images" in plot.caption
    # without the small model's training step there is no second path to draw
    assert two_paths_plots(records_frame(records[:4])) == []
    path = write(tmp_path / "r.jsonl", records)
    outcome = build_report([path], tmp_path / "report")
    assert any(f.name.startswith("two-paths-") for f in outcome.files)
