"""`check --compile` / `check --backend`: measured execution ratios, from the shipped profile or the
user's own run/tune records, applied to the eager prediction on a device of the kind they ran on."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from segbench.advisor.data.executions import execution_ratios
from segbench.advisor.model.executions import ratio_for, ratios_from_records
from segbench.bench.sweeps import execution_record
from segbench.cli import cli
from segbench.records.store import append_records
from tests.cli_checks import one_line_error
from tests.report_records import make_record


def _rec(label: str, median_s: float, hardware: str = "box-a", created: str = "2026-12-01T10:00:00+00:00", **kw):
    r = make_record(median_s=median_s, hardware=hardware, created=created, **kw)
    r.execution = execution_record(label)
    return r


def test_a_backend_is_paired_with_the_eager_run_of_the_same_work_on_the_same_hardware():
    records = [_rec("eager", 2.0), _rec("openvino", 0.5), _rec("eager", 1.0, created="2026-12-01T12:00:00+00:00"),
               _rec("onnxruntime", 0.9, hardware="box-b"),  # no eager run on box-b: no ratio
               _rec("official", 2.1), _rec("eager+offload:both", 2.5),  # other harnesses, not speed-ups
               _rec("compile", 1.5, precision="bf16")]  # no bf16 eager: no ratio
    (ov,) = ratios_from_records(records, "mine.jsonl")
    assert ov.execution == "openvino" and ov.device_kind == "cpu"
    assert ov.eager_seconds_per_item == pytest.approx(2.0, rel=0.05)  # the eager run nearest in time
    assert ov.ratio == pytest.approx(0.25, rel=0.08)


def test_own_records_come_before_the_profile_and_unmeasured_kinds_get_no_ratio():
    own = ratios_from_records([_rec("eager", 2.0), _rec("openvino", 1.0)], "mine.jsonl")
    applied = ratio_for("openvino", "cpu", "sam2.1-tiny", "image", "fp32", own)
    assert applied["ratio"] == pytest.approx(0.5, rel=0.08) and applied["references"][0]["source"] == "mine.jsonl"
    assert ratio_for("openvino", "gpu", "sam2.1-tiny", "image", "fp32") is None  # never measured on a GPU


def test_a_ratio_measured_at_one_precision_is_not_applied_at_another():
    own = ratios_from_records([_rec("eager", 2.0, precision="bf16"), _rec("openvino", 1.0, precision="bf16")])
    assert ratio_for("openvino", "cpu", "sam2.1-tiny", "image", "bf16", own)["ratio"] == pytest.approx(0.5, rel=0.08)
    fp32 = ratio_for("openvino", "cpu", "sam2.1-tiny", "image", "fp32", own)
    assert fp32 is None or all(ref["precision"] == "fp32" for ref in fp32["references"])


def test_onnxruntime_at_bf16_is_a_one_line_error_as_in_run():
    result = CliRunner().invoke(cli, ["check", "--gpu", "cpu", "-m", "sam2.1-tiny", "--precision", "bf16",
                                      "--backend", "onnxruntime"])
    assert "fp32 graphs only" in one_line_error(result)


def test_the_shipped_profile_holds_cpu_measurements_of_each_backend():
    ratios = execution_ratios()
    assert {r.execution for r in ratios} >= {"compile", "onnxruntime", "openvino"}
    assert all(r.device_kind == "cpu" and r.seconds_per_item > 0 for r in ratios)


def _check(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["check", "--gpu", "Core i5-12400", "-m", "sam2.1-tiny", "--precision", "fp32",
                                      *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_check_backend_scales_the_eager_prediction_by_the_measured_ratio(tmp_path):
    eager = _check()["predicted"]["latency_ms"]
    path = tmp_path / "tune.jsonl"
    append_records(path, [_rec("eager", 2.0, hardware="my box"), _rec("openvino", 0.5, hardware="my box")])
    data = _check("--backend", "openvino", "--from", str(path))
    execution = data["basis"]["execution"]
    assert execution["references"][0]["source"] == str(path)
    # --from also scales by the eager record: the execution ratio comes on top of that
    scaled = _check("--from", str(path))["predicted"]["latency_ms"]
    assert data["predicted"]["latency_ms"] == pytest.approx(scaled * execution["ratio"], rel=2e-3)  # both rounded
    assert scaled != eager


def test_a_backend_never_measured_on_a_gpu_is_predicted_as_eager_and_says_so():
    args = ["check", "--gpu", "RTX 4090", "-m", "sam2.1-tiny", "--json"]
    eager = json.loads(CliRunner().invoke(cli, args).stdout)
    ov = json.loads(CliRunner().invoke(cli, [*args, "--backend", "openvino"]).stdout)
    assert ov["predicted"]["latency_ms"] == eager["predicted"]["latency_ms"]
    assert ov["basis"]["execution"]["ratio"] is None and "never measured" in ov["basis"]["execution"]["note"]


def test_compile_and_an_exported_backend_together_are_a_one_line_error():
    result = CliRunner().invoke(cli, ["check", "--gpu", "RTX 4090", "--compile", "--backend", "onnxruntime"])
    assert "--compile applies to eager" in one_line_error(result)


def test_pairing_many_records_is_not_quadratic():
    import dataclasses
    import time

    eager, ov = _rec("eager", 2.0), _rec("openvino", 0.5)
    records = []
    for i in range(6000):  # pairwise, 36 million comparisons; by bisection, a fraction of a second
        when = f"2026-12-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+00:00"
        records.append(dataclasses.replace(eager, created=when, id=f"e{i}"))
        records.append(dataclasses.replace(ov, created=when, id=f"o{i}"))
    t0 = time.perf_counter()
    ratios = ratios_from_records(records)
    assert time.perf_counter() - t0 < 5
    assert len(ratios) == 6000 and all(r.eager_seconds_per_item == pytest.approx(2.0, rel=0.05) for r in ratios)
