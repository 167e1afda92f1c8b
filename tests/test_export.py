"""`segbench export --format pytest-benchmark`: the file pytest-benchmark's own code reads back."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_benchmark.logger import Logger
from pytest_benchmark.storage.file import FileStorage

from segbench.cli import cli
from segbench.report.export import to_pytest_benchmark
from tests.report_records import make_record, write


@pytest.fixture
def results(tmp_path: Path) -> Path:
    records = [make_record("sam2.1-tiny", batch_size=b, seed=b) for b in (1, 2)]
    records.append(make_record("sam2.1-tiny", batch_size=64, status="oom"))
    return write(tmp_path / "run.jsonl", records)


def test_export_round_trips_through_pytest_benchmark_storage(results: Path, tmp_path: Path, cli_runner) -> None:
    out = tmp_path / "export" / "0001_segbench.json"
    result = cli_runner.invoke(cli, ["export", str(results), "--format", "pytest-benchmark", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 record(s) not exported" in result.stderr
    storage = FileStorage(tmp_path / "export", logger=Logger(Logger.QUIET))
    (loaded,) = [data for _, data in storage.load(str(out))]
    assert set(loaded) == {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    benches = {b["fullname"]: b for b in storage.load_benchmarks(str(out))}
    assert set(benches) == {
        "segbench::run::image[sam2.1-tiny-fp32-bs1-synthetic-1024]",
        "segbench::run::image[sam2.1-tiny-fp32-bs2-synthetic-1024]",
    }
    bench = benches["segbench::run::image[sam2.1-tiny-fp32-bs2-synthetic-1024]"]
    original = make_record("sam2.1-tiny", batch_size=2, seed=2).samples_s
    assert bench["data"] == pytest.approx(original)
    assert bench["median"] == pytest.approx(statistics.median(original))
    assert bench["rounds"] == len(original) and bench["iterations"] == 1
    assert bench["ops"] == pytest.approx(len(original) / sum(original))
    assert bench["group"] == "image" and bench["params"]["batch_size"] == 2
    assert bench["extra_info"]["items_per_s"] == pytest.approx(2 / statistics.median(original), rel=1e-6)
    assert {"min", "max", "mean", "stddev", "q1", "q3", "iqr", "outliers", "ld15iqr", "hd15iqr", "total"} <= set(bench)
    assert loaded["commit_info"]["id"] == "0123abcd"


def test_pytest_benchmark_compare_cli_reads_the_export(results: Path, tmp_path: Path, cli_runner) -> None:
    out = tmp_path / "bench.json"
    assert cli_runner.invoke(cli, ["export", str(results), "-o", str(out)]).exit_code == 0
    shown = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(out), "--columns=min,median,ops,rounds"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "image[sam2.1-tiny-fp32-bs1-synthetic-1024]" in shown.stdout


def test_export_to_stdout_is_json_only(results: Path, cli_runner) -> None:
    result = cli_runner.invoke(cli, ["export", str(results)])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    # What github-action-benchmark's "pytest" extractor reads.
    for bench in data["benchmarks"]:
        assert isinstance(bench["fullname"], str)
        assert {"ops", "stddev", "mean", "rounds"} <= set(bench["stats"])


def test_nothing_exportable_exit_2(tmp_path: Path, cli_runner) -> None:
    path = write(tmp_path / "r.jsonl", [make_record(status="oom")])
    result = cli_runner.invoke(cli, ["export", str(path)])
    assert result.exit_code == 2 and "nothing to export" in result.stderr


def test_several_machines_warned() -> None:
    document, warnings = to_pytest_benchmark([make_record(), make_record(hardware="NVIDIA RTX 4090", seed=3)])
    assert len(document["benchmarks"]) == 2
    assert any("2 machines" in w for w in warnings) and any("more than once" in w for w in warnings)


def test_existing_output_is_refused_unless_force(results: Path, tmp_path: Path, cli_runner) -> None:
    out = tmp_path / "bench.json"
    out.write_text("keep me")
    refused = cli_runner.invoke(cli, ["export", str(results), "-o", str(out)])
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert out.read_text() == "keep me"
    forced = cli_runner.invoke(cli, ["export", str(results), "-o", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(out.read_text())["benchmarks"]


def test_unwritable_output_is_one_line_exit_2(results: Path, tmp_path: Path, cli_runner) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli_runner.invoke(cli, ["export", str(results), "-o", str(blocker / "bench.json")])
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.stderr.splitlines() if "error" in line]
    assert error == f"segbench: error: cannot write export file {blocker / 'bench.json'}: {blocker} is a file, not a folder"
