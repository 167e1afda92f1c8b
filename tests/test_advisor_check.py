"""`segbench check` through the CLI: name matching, risks (oom, throttle, precision, slow), bad input, --from."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from segbench.advisor import evaluate as C
from segbench.advisor.data.catalog import load_catalog
from segbench.advisor.targets import resolve_target
from segbench.cli import cli
from segbench.records.schema import Record
from segbench.records.store import append_records
from tests.cli_checks import one_line_error


def run(*args: str):
    return CliRunner().invoke(cli, ["check", *args])


def run_json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # stdout holds the JSON alone


def codes(data: dict) -> set[str]:
    return {r["code"] for r in data["risks"]}


@pytest.mark.parametrize("name", ["3060", "rtx 3060 12gb", "RTX 3060 12GB", "NVIDIA GeForce RTX 3060 12GB"])
def test_loose_names_match(name):
    data = run_json("--gpu", name, "--model", "sam2.1-tiny")
    assert data["device"] == "RTX 3060 12GB"
    assert set(data["predicted"]) >= {"latency_ms", "images_per_hour", "peak_vram_gb"}
    assert data["fits"] is True


def test_ambiguous_name_names_the_variants_and_answers_none():
    line = one_line_error(run("--gpu", "A100", "--model", "sam2.1-large", "--workload", "video"))
    assert "did you mean A100 40GB, A100 80GB" in line  # 40 or 80 GB decides what fits: no guess
    assert "fps" in run_json("--gpu", "A100 40GB", "--model", "sam2.1-large", "--workload", "video")["predicted"]


def test_unknown_gpu_lists_the_nearest_names():
    line = one_line_error(run("--gpu", "RTX 3066"))
    assert "unknown GPU" in line and "RTX 3060" in line


def test_oom_when_a_long_video_outgrows_a_6gb_card():
    data = run_json("--gpu", "GTX 1060 6GB", "--model", "sam2.1-large", "--workload", "video",
                    "--resolution", "1080p", "--frames", "1000")
    assert data["fits"] is False
    assert {"oom", "memory_growth"} <= codes(data)
    assert data["predicted"]["peak_vram_gb"] > 6


def test_oom_flag_within_ten_percent_of_vram():
    """A clip sized so the predicted peak lands between 90% and 100% of a 6 GiB card: fits, but flagged."""
    spec = load_catalog().get("GTX 1660 Super")
    query = C.build_query("sam2.1-tiny", "video", "fp16", resolution=(1080, 1920), frames=10)
    short = C.evaluate(spec, query)
    per_frame = (C.evaluate(spec, C.build_query("sam2.1-tiny", "video", "fp16", resolution=(1080, 1920),
                                                frames=11)).peak_device_bytes - short.peak_device_bytes)
    frames = 10 + int((0.95 * spec.vram_bytes - short.peak_device_bytes) / per_frame)
    data = run_json("--gpu", "1660 super", "--model", "sam2.1-tiny", "--workload", "video", "--resolution", "1080p",
                    "--frames", str(frames), "--precision", "fp16")
    assert 0.9 * 6 <= data["predicted"]["peak_vram_gb"] <= 6
    assert data["fits"] is True and "oom" in codes(data)
    assert "within 10%" in next(r["message"] for r in data["risks"] if r["code"] == "oom")


def test_laptop_parts_are_flagged_for_throttling_and_desktops_are_not():
    laptop = run_json("--gpu", "RTX 4060 Laptop", "--model", "sam2.1-small")
    desktop = run_json("--gpu", "RTX 4060", "--model", "sam2.1-small")
    assert "throttle" in codes(laptop) and "throttle" not in codes(desktop)
    assert laptop["predicted"]["latency_ms"] > 0


def test_bf16_on_a_pre_ampere_card_is_a_precision_risk():
    data = run_json("--gpu", "GTX 1660 Super", "--precision", "bf16")
    assert "precision" in codes(data)
    assert run_json("--gpu", "GTX 1660 Super")["precision"] == "fp16"  # auto: what segbench run would use
    assert run_json("--gpu", "RTX 3060 12GB")["precision"] == "bf16"


def test_missing_a_target_is_slow():
    data = run_json("--gpu", "GTX 1060 6GB", "--model", "sam2.1-large", "--workload", "video", "--target-fps", "30")
    assert "slow" in codes(data)
    assert "slow" not in codes(run_json("--gpu", "RTX 4090", "--model", "sam2.1-tiny", "--workload", "video",
                                        "--target-fps", "1"))


def test_cpu_is_a_valid_target():
    data = run_json("--gpu", "cpu", "--model", "sam2.1-tiny")
    assert data["device_kind"] == "cpu"
    assert "peak_ram_gb" in data["predicted"] and "peak_vram_gb" not in data["predicted"]
    assert "cpu_only" in codes(data)


def test_volume_prediction_and_advice_about_3d_memory():
    data = run_json("--gpu", "RTX 3060 12GB", "--model", "monai-swinunetr", "--workload", "volume",
                    "--volume", "512x512x200")
    assert data["predicted"]["seconds_per_volume"] > 0
    assert any("3D is VRAM-hungry" in line for line in data["advice"])
    cpu_side = run_json("--gpu", "RTX 3060 12GB", "--model", "monai-swinunetr", "--workload", "volume",
                        "--volume", "512x512x200", "--aggregate-on", "cpu")
    assert cpu_side["predicted"]["peak_vram_gb"] < data["predicted"]["peak_vram_gb"]


def test_auto_mode_advises_prompts_and_many_images_advise_fine_tuning():
    data = run_json("--gpu", "RTX 3060 12GB", "--workload", "auto", "--images", "20000")
    text = " ".join(data["advice"])
    assert "click points or draw boxes" in text
    assert "20,000 similar images" in text and "yolo11n-seg" in text


@pytest.mark.parametrize("args, words", [
    (["--gpu", "3060", "--workload", "volume", "--model", "monai-unet", "--volume", "512x512"], "volume shape"),
    (["--gpu", "3060", "--workload", "volume", "--model", "monai-unet", "--volume", "0x512x200"], "out of range"),
    (["--gpu", "3060", "--workload", "image", "--volume", "512x512x200"], "--volume applies"),
    (["--gpu", "3060", "--model", "sam2.1-huge"], "unknown model"),
    (["--gpu", "3060", "--workload", "dance"], "unknown workload"),
    (["--gpu", "3060", "--model", "monai-unet", "--workload", "video"], "does not support"),
    (["--gpu", "3060", "--resolution", "1080x"], "resolution"),
    (["--gpu", "3060", "--target-fps", "-3"], "positive"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    assert words in one_line_error(run(*args))


def test_table_by_default():
    result = CliRunner().invoke(cli, ["check", "--gpu", "3060", "--model", "sam2.1-large"], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "fits" in result.stdout and "peak VRAM" in result.stdout and "leave-one-out" in result.stdout
    assert "matched RTX 3060 12GB" in result.stdout


def _cpu_record(path, per_item_s: float, model: str = "sam2.1-tiny") -> None:
    record = Record(model=model, workload="image", precision="fp32", batch_size=1, device="cpu",
                    params={"resolution": [1024, 1024]}, input={"source_size": [768, 1024]},
                    samples_s=[per_item_s] * 5,
                    stats={"per_item_latency_s": {"median": per_item_s}, "items_per_step": 1},
                    environment={"hardware": "Test CPU (4 threads)", "torch_threads": 4,
                                 "cpu": {"model_name": "Test CPU"}})
    append_records(path, [record])


def test_from_results_scales_the_prediction(tmp_path):
    plain = run_json("--gpu", "RTX 3060 12GB", "--model", "sam2.1-tiny")
    fast, slow = tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    _cpu_record(fast, 0.5)
    _cpu_record(slow, 50.0)
    quick = run_json("--gpu", "RTX 3060 12GB", "--model", "sam2.1-tiny", "--from", str(fast))
    sluggish = run_json("--gpu", "RTX 3060 12GB", "--model", "sam2.1-tiny", "--from", str(slow))
    assert quick["basis"]["scaled_from"]["measured_ms"] == 500
    assert quick["predicted"]["latency_ms"] < plain["predicted"]["latency_ms"] < sluggish["predicted"]["latency_ms"]
    ratio = sluggish["basis"]["scaled_from"]["ratio"] / quick["basis"]["scaled_from"]["ratio"]
    assert ratio == pytest.approx(100, rel=1e-3)
    # CPU run -> GPU target: only the square root of the ratio carries over.
    assert sluggish["predicted"]["latency_ms"] / quick["predicted"]["latency_ms"] == pytest.approx(10, rel=0.01)


def test_from_results_without_a_matching_run_is_an_input_error(tmp_path):
    other = tmp_path / "other.jsonl"
    _cpu_record(other, 1.0, model="sam2.1-small")
    line = one_line_error(run("--gpu", "3060", "--model", "sam2.1-tiny", "--from", str(other)))
    assert "no successful eager sam2.1-tiny image run" in line
    assert "not found" in one_line_error(run("--gpu", "3060", "--from", str(tmp_path / "missing.jsonl")))


def test_from_results_on_the_calibration_cpu_uses_the_this_cpu_rule(tmp_path, monkeypatch):
    """A run on the CPU the calibration was measured on scales the measured per-thread rates, exactly
    as `check --gpu this-cpu` does on that machine with the same threads."""
    from segbench.advisor.data.calibration import load_calibration
    from segbench.advisor.fromresults import _record_spec
    from segbench.records.store import read_records

    model = load_calibration().machine["cpu_model"]
    path = tmp_path / "run.jsonl"
    append_records(path, [Record(model="sam2.1-tiny", workload="image", precision="fp32", batch_size=1, device="cpu",
                                 samples_s=[1.0], stats={"per_item_latency_s": {"median": 1.0}},
                                 environment={"torch_threads": 3, "cpu": {"model_name": model}})])
    measured = _record_spec(read_records([str(path)])[0])
    machine = load_calibration().reference_machine()
    assert measured.fp32_gflops == pytest.approx(machine.fp32_gflops / machine.threads * 3)
    monkeypatch.setattr("segbench.probe.host.cpu_info",
                        lambda: {"model_name": model, "logical_cores": 3, "physical_cores": 3, "usable_cores": 3})
    local = resolve_target("this-cpu").spec
    assert (local.fp32_gflops, local.memory_bandwidth_gbs) == (measured.fp32_gflops, measured.memory_bandwidth_gbs)


def test_a_stale_fit_says_so_in_the_basis(monkeypatch):
    from segbench.advisor.model import fit as P

    real = P._fitted()
    monkeypatch.setattr(P, "_fitted", lambda: P.Fit(real.params, real.loo, False))
    data = run_json("--gpu", "3060")
    assert data["basis"]["error"]["fit_current"] is False
    assert "maintenance fit" in data["basis"]["error"]["note"]
    monkeypatch.undo()
    fresh = run_json("--gpu", "3060")["basis"]["error"]
    assert fresh["fit_current"] is True and "maintenance fit" not in (fresh.get("note") or "")


def test_memory_is_in_gib_against_the_cards_gib():
    data = run_json("--gpu", "GTX 1060 6GB", "--model", "sam2.1-large", "--workload", "video", "--frames", "300",
                    "--resolution", "1080p")
    assert data["basis"]["memory_unit"].startswith("GiB")
    oom = next(r["message"] for r in data["risks"] if r["code"] == "oom")
    assert "the 6 GiB of VRAM" in oom and f"{data['predicted']['peak_vram_gb']:.1f} GiB" in oom


@pytest.mark.parametrize("seconds, text", [(0.0123, "12.3 ms"), (4.2, "4.2 s"), (90, "90 s"), (600, "10 min"),
                                           (3 * 3600, "3.0 h"), (3 * 86400, "3.0 days")])
def test_one_duration_formatter(seconds, text):
    from segbench.formatting import fmt_seconds as fmt_duration

    assert fmt_duration(seconds) == text
