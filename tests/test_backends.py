"""Execution axes: compile and exported backends in the network slot, their one-off costs and
break-even, the fidelity check against fp32 eager, failures as rows, and `segbench tune`."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from click.testing import CliRunner

from segbench.backends.execution import Execution, executions_from, parse_execution
from segbench.backends.slot import NetworkSlot
from segbench.bench.presets import make_plan
from segbench.bench.runner import execute
from segbench.cli import cli
from segbench.errors import InputError
from segbench.measure.fidelity import Capture, check, compare, mask_iou
from segbench.records.schema import Record
from tests.cli_checks import one_line_error

HAVE_RUNTIMES = all(importlib.util.find_spec(m) for m in ("onnxruntime", "openvino", "onnxscript"))
needs_runtimes = pytest.mark.skipif(not HAVE_RUNTIMES, reason="the backends extra is not installed")
# A MONAI UNet over a small phantom: a second or two per step on 2 cores.
SMALL_VOLUME = {"volume": (64, 64, 32), "roi": (32, 32, 32)}


# ------------------------------------------------------------------------------ labels


def test_compile_applies_to_eager_only_and_each_backend_runs_once():
    assert executions_from(["off", "default"], ["eager", "onnxruntime"]) == ["eager", "compile", "onnxruntime"]
    assert executions_from(["max-autotune"], ["openvino"]) == ["openvino"]
    assert parse_execution("compile:max-autotune") == Execution(compile="max-autotune")
    assert parse_execution("eager").is_reference and not parse_execution("openvino").is_reference


def test_a_backend_is_one_descriptor_that_run_tune_and_check_read(monkeypatch):
    from segbench.advisor.check import CheckRequest
    from segbench.advisor.check import check as run_check
    from segbench.backends import catalog
    from segbench.backends.base import Backend, BackendUnavailable
    from segbench.bench import tune as T

    fake = Backend(name="fakert", help="a test runtime", precisions=("fp32",), devices=("cuda",), extra="fake",
                   modules=("no_such_module_for_segbench",), runtime=lambda precision, device: None)
    monkeypatch.setitem(catalog.BACKENDS, "fakert", fake)
    assert executions_from(["off"], ["eager", "fakert"]) == ["eager", "fakert"]  # run's --backend
    assert parse_execution("fakert").replaces_network
    trials = {name: (precision, why)
              for name, precision, why in T._execution_trials(torch.device("cpu"), "bf16", False)}
    assert trials["fakert"] == ("fp32", "the fakert backend runs on cuda here, not cpu")  # tune: not offered here
    assert trials["onnxruntime"] == ("fp32", "")  # its one precision, not the fastest so far
    net = torch.nn.Linear(2, 2)
    owner = torch.nn.Module()
    owner.net = net
    slot = NetworkSlot(owner, "net", "net", "linear")
    with pytest.raises(BackendUnavailable, match=r"pip install 'segbench\[fake\]'"):
        fake.wrap(net, "m", slot, "fp32", torch.device("cuda"))
    with pytest.raises(BackendUnavailable, match="fp32 graphs only"):
        fake.wrap(net, "m", slot, "bf16", torch.device("cuda"))
    with pytest.raises(InputError, match="--backend fakert runs fp32 graphs only"):  # check
        run_check(CheckRequest(gpu="RTX 4090", model="sam2.1-tiny", workload="image", precision="bf16",
                               backend="fakert"))


@pytest.mark.parametrize("bad", [(["fast"], ["eager"]), (["off"], ["tensorrt"])])
def test_unknown_axes_are_input_errors(bad):
    with pytest.raises(InputError):
        executions_from(*bad)


def test_old_records_ran_eager_and_executions_do_not_match_each_other():
    old = Record.from_dict({"model": "m", "workload": "image", "precision": "fp32", "batch_size": 1,
                            "device": "cpu", "execution": {}})
    assert old.execution_label == "eager"
    ort = Record(model="m", workload="image", precision="fp32", batch_size=1, device="cpu",
                 execution=parse_execution("onnxruntime").to_dict())
    assert old.match_key() != ort.match_key() and old.match_key()[:6] == ort.match_key()[:6]


# ------------------------------------------------------------------------------ fidelity


def test_compare_is_zero_for_equal_outputs_and_grows_with_a_perturbation():
    a = [torch.randn(2, 3, 8, 8)]
    same = compare(a, [a[0].clone()], "logits")
    assert same["rel_error"] == 0 and same["mask_iou"] == 1.0
    worse = compare([a[0] + 0.1 * torch.randn_like(a[0])], a, "logits")
    assert 0.05 < worse["rel_error"] < 0.2 and worse["mask_iou"] < 1.0
    assert compare(a, [], None)["rel_error"] is None  # nothing to compare against is said, not zero


def test_class_iou_averages_over_the_classes_present():
    ref = torch.zeros(1, 2, 1, 4)
    ref[0, 1, 0, :2] = 1  # class 1 on the first two voxels, class 0 on the rest
    out = torch.zeros(1, 2, 1, 4)
    out[0, 1, 0, :1] = 1  # class 1 on one voxel only
    # class 1: 1/2; class 0: 2/3
    assert mask_iou(out, ref, "classes") == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_capture_keeps_the_first_calls_and_the_reference_reruns_them():
    net = torch.nn.Conv2d(3, 4, 3)
    owner = torch.nn.Module()
    owner.net = net
    slot = NetworkSlot(owner, "net", "net", "conv output", masks="logits")
    noisy = torch.nn.Module()
    noisy.forward = lambda x: net(x) + 1e-3  # a "backend" that is slightly off
    slot.set(noisy)
    probe = Capture(slot)
    for _ in range(6):
        owner.net(torch.randn(1, 3, 8, 8))
    probe.remove()
    assert len(probe.calls) == 4 and slot.get() is noisy  # the first few calls only
    probe.calls.clear()
    probe = Capture(slot)
    step = probe.first_step_only(lambda: [owner.net(torch.randn(1, 3, 8, 8)) for _ in range(2)])
    for _ in range(3):
        step()
    probe.remove()
    assert len(probe.calls) == 2  # the first (warm-up) step's calls: nothing copied in a timed one
    slot.set(net)
    result = check(probe, torch.device("cpu"))
    assert 0 < result["rel_error"] < 0.01


# ------------------------------------------------------------------------------ runs


def _volume_plan(executions, precisions=("fp32",), batch_sizes=(1,), launcher="process"):
    """In a worker process: ONNX Runtime's and OpenVINO's thread pools stay out of the test process
    (their threads' malloc arenas would count against other tests' RLIMIT_DATA ceilings)."""
    plan = make_plan(["monai-unet"], ["volume"], quick=True, device="cpu", weights="random",
                     precisions=list(precisions), batch_sizes=list(batch_sizes), warmup=1, min_iters=2,
                     min_time_s=0.0, options=dict(SMALL_VOLUME), telemetry_interval_s=None, count_flops=False,
                     launcher=launcher, executions=list(executions))
    return plan


@pytest.mark.slow
@needs_runtimes
def test_exported_backends_are_recorded_with_one_off_cost_break_even_and_fidelity(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGBENCH_CACHE", str(tmp_path / "cache"))
    records = execute(_volume_plan(["onnxruntime", "eager", "openvino"]), tmp_path / "r.jsonl")
    by = {r.execution_label: r for r in records}
    assert [r.execution_label for r in records] == ["eager", "onnxruntime", "openvino"]  # eager first
    assert all(r.status == "ok" for r in records), [r.error for r in records]
    assert by["eager"].fidelity == {}  # the reference is not checked against itself
    for label in ("onnxruntime", "openvino"):
        r = by[label]
        assert r.fidelity["rel_error"] < 1e-3 and r.fidelity["mask_iou"] > 0.99
        assert "random weights" in r.fidelity["note"]
        once = r.execution["one_off"]
        assert once["kind"] == "export" and once["seconds"] > 0 and once["shapes"] >= 1
        assert r.execution["eager_per_item_s"] == by["eager"].stats["per_item_latency_s"]["median"]
        assert "break_even_items" in r.execution
    assert by["onnxruntime"].execution["one_off"]["cached"] is False
    cached = by["openvino"].execution["one_off"]
    assert cached["cached"] is True  # the same export, from the cache: only the load is paid again
    assert cached["seconds"] == pytest.approx(cached["load_s"]) and cached["export_s"] > 0
    assert list((tmp_path / "cache" / "exports").glob("*.onnx"))


@pytest.mark.slow
@needs_runtimes
def test_a_bf16_point_is_checked_against_fp32_and_onnxruntime_refuses_bf16_as_a_row(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGBENCH_CACHE", str(tmp_path / "cache"))
    records = execute(_volume_plan(["eager", "onnxruntime"], precisions=("bf16",)), tmp_path / "r.jsonl")
    eager, ort = records
    assert eager.status == "ok" and 0 < eager.fidelity["rel_error"] < 0.2  # bf16 differs, measurably
    assert ort.status == "error" and "fp32" in ort.error and ort.execution_label == "onnxruntime"


@pytest.mark.slow
def test_a_backend_that_is_not_installed_is_a_failed_row_and_the_sweep_goes_on(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    plan = _volume_plan(["openvino", "eager"], batch_sizes=(1, 2), launcher="inline")  # sees the patch
    records = execute(plan, tmp_path / "r.jsonl")
    rows = [(r.execution_label, r.batch_size, r.status) for r in records]
    assert rows == [("eager", 1, "ok"), ("eager", 2, "ok"), ("openvino", 1, "error"), ("openvino", 2, "error")]
    assert "pip install 'segbench[backends]'" in records[-1].error


@pytest.mark.slow
def test_a_workload_without_a_network_slot_refuses_a_backend_as_a_row(tmp_path):
    plan = make_plan(["sam2.1-tiny"], ["prompt"], device="cpu", weights="random", precisions=["fp32"],
                     batch_sizes=[1], warmup=0, min_iters=1, min_time_s=0.0, resolution=(256, 256),
                     telemetry_interval_s=None, count_flops=False, launcher="inline", executions=["onnxruntime"])
    (record,) = execute(plan, tmp_path / "r.jsonl")
    assert record.status == "error" and "no network" in record.error


# ------------------------------------------------------------------------------ tune


@pytest.mark.slow
@needs_runtimes
def test_tune_picks_the_fastest_configuration_within_the_bound_and_says_how_to_reproduce_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGBENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "tune.jsonl"
    result = CliRunner().invoke(cli, ["tune", "-m", "monai-unet", "-w", "volume", "--volume", "64x64x32",
                                      "--roi", "32x32x32", "--quick", "--no-compile", "--weights", "random",
                                      "--device", "cpu", "--batch-sizes", "1", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    trials = data["trials"]
    assert trials[0]["stage"] == "baseline" and (trials[0]["precision"], trials[0]["execution"]) == ("fp32", "eager")
    assert {t["execution"] for t in trials} >= {"eager", "onnxruntime", "openvino"}
    best = data["best"]
    within = [t for t in trials if t["verdict"] in ("fastest", "within bound")]
    assert best["per_item_s"] == min(t["per_item_s"] for t in within)
    assert best["verdict"] == "fastest"
    if best["fidelity"]:
        assert best["fidelity"]["rel_error"] <= 0.02 and best["fidelity"]["mask_iou"] >= 0.99
    assert data["speedup_vs_baseline"] == pytest.approx(trials[0]["per_item_s"] / best["per_item_s"])
    ort = next(t for t in trials if t["execution"] == "onnxruntime")  # fp32, beside the fp32 eager baseline
    assert ort["one_off"]["seconds"] > 0
    saved = trials[0]["per_item_s"] - ort["per_item_s"]
    if saved > 0:  # paid back after one-off / saved-per-volume volumes; never when it is not faster
        assert ort["break_even_items"] == pytest.approx(ort["one_off"]["seconds"] / saved)
    else:
        assert ort["break_even_items"] is None
    cmd = data["command"]
    assert cmd.startswith("segbench run -m monai-unet -w volume") and "--volume 64x64x32 --roi 32x32x32" in cmd
    assert f"--batch-sizes {best['batch_size']}" in cmd
    lines = out.read_text().splitlines()
    assert len(lines) == sum(t["record_id"] is not None for t in trials)  # every trial is a record


def test_tune_takes_one_model_and_reads_shares():
    assert "one --model" in one_line_error(CliRunner().invoke(cli, ["tune", "-m", "sam2.1-tiny,sam2.1-small"]))
    assert "share" in one_line_error(CliRunner().invoke(cli, ["tune", "-m", "sam2.1-tiny", "--max-error", "lots"]))


# ------------------------------------------------------------------------------ sam2's optimised video


@pytest.mark.slow
def test_vos_optimized_builds_sam2s_compiled_video_predictor_and_is_recorded():
    from segbench.families.base import LoadOptions
    from segbench.families.registry import load_model

    cpu = torch.device("cpu")
    plain = load_model("sam2.1-tiny", LoadOptions(cpu, "random", None, (128, 128), purpose="video"))
    vos = load_model("sam2.1-tiny", LoadOptions(cpu, "random", None, (128, 128), purpose="video",
                                                        family_options={"vos_optimized": True}))
    assert type(plain.module).__name__ == "SAM2VideoPredictor"
    assert type(vos.module).__name__ == "SAM2VideoPredictorVOS"
    assert any("vos_optimized" in note for note in vos.notes)
    image = load_model("sam2.1-tiny", LoadOptions(cpu, "random", None, (128, 128), family_options={"vos_optimized": True}))
    assert type(image.module).__name__ == "SAM2Base"  # only the video predictor has an optimised build


def test_vos_optimized_without_a_video_workload_is_a_one_line_error():
    result = CliRunner().invoke(cli, ["run", "-m", "sam2.1-tiny", "-w", "image", "--vos-optimized"])
    assert "--vos-optimized" in one_line_error(result)


@pytest.mark.parametrize("model", ["edgetam", "sam3"])
def test_a_family_option_of_another_family_is_a_one_line_error(model, tmp_path):
    """vos_optimized is SAM 2.1's: other trackers' loaders would ignore it and record plain eager under it."""
    plan = tmp_path / "plan.yaml"
    result = CliRunner().invoke(cli, ["run", "-m", model, "-w", "video", "--vos-optimized", "--save-plan", str(plan)])
    assert not plan.exists()
    line = one_line_error(result)
    assert "--vos-optimized" in line and "sam2" in line and model in line


@pytest.mark.parametrize("model, offered", [("sam2.1-tiny", [{"vos_optimized": True}]), ("edgetam", []), ("sam3", [])])
def test_tune_offers_a_family_option_only_to_the_family_that_declares_it(model, offered):
    from segbench.bench.tune import option_trials

    tried = []
    option_trials(lambda *a, options=None: tried.append(options), lambda *a: tried.append("skipped"),
                  "bf16", model, "video", True)
    assert tried == offered
