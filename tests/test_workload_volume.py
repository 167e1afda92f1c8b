"""The volume workload: MONAI sliding windows over a scan and SAM 2.1 through its slices, on tiny volumes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from segbench.bench import Plan
from segbench.bench import execute as run_plan
from segbench.cli import cli
from segbench.cost.counting import count
from segbench.errors import InputError
from segbench.families.base import LoadOptions
from segbench.families.registry import build_on_meta, load_model
from segbench.inputs import phantom, write_dicom_series, write_nifti
from segbench.measure.device import default_precision
from segbench.measure.harness import MeasureSettings
from segbench.records.store import read_records
from segbench.workloads import volume as V
from segbench.workloads.base import WorkloadOptions
from tests.cli_checks import one_line_error

CPU = torch.device("cpu")
FAST = MeasureSettings(warmup=1, min_iters=2, min_time_s=0.0)
# A 64x64x32 phantom in 32^3 windows: 9 windows per volume, a fraction of a second for the UNet.
SMALL_VOLUME = (64, 64, 32)
SMALL_ROI = (32, 32, 32)
# fp32 and the machine's default ("auto": bf16 autocast on a CPU with native bf16, as on Ampere or
# newer GPUs), which a record names as what it resolved to.
PRECISIONS = ("fp32", "auto")
DEFAULT = default_precision(CPU)


def _plan(tmp_path, model="monai-unet", batch_sizes=(1,), precisions=("fp32",), **options) -> Plan:
    return Plan(
        models=[model],
        workloads=["volume"],
        precisions=list(precisions),
        batch_sizes=list(batch_sizes),
        device="cpu",
        launcher="inline",
        weights="random",
        settings=FAST,
        options=WorkloadOptions(**options),
        telemetry_interval_s=None,
    )


def execute(plan: Plan, tmp_path):
    return run_plan(plan, tmp_path / "r.jsonl")


# -- pieces -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, roi, overlap",
    [
        ((64, 64, 32), (32, 32, 32), 0.25),
        ((200, 128, 128), (96, 96, 96), 0.25),
        ((20, 50, 70), (32, 32, 32), 0.5),
        ((64, 64, 64), (64, 64, 64), 0.25),
        ((33, 40, 96), (32, 32, 32), 0.0),
    ],
)
def test_window_count_is_what_monai_runs(shape, roi, overlap):
    from monai.inferers import sliding_window_inference

    seen = []

    def predictor(x):
        seen.append(x.shape[0])
        return x

    sliding_window_inference(torch.zeros(1, 1, *shape), roi, 3, predictor, overlap=overlap)
    assert V.count_windows(shape, roi, overlap) == sum(seen)


def test_intensities_are_clipped_to_the_ct_window_and_scaled():
    out = V.normalised(np.array([[[-3000.0, -1000.0, 0.0, 1000.0, 3000.0]]], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[[0.0, 0.0, 0.5, 1.0, 1.0]]])


def test_slices_become_grey_rgb_frames():
    array = np.stack([np.full((6, 8), -1000.0), np.full((6, 8), 1000.0), np.full((6, 8), 0.0)]).astype(np.float32)
    frames = V.slices_as_frames(array)
    assert len(frames) == 3 and frames[0].shape == (6, 8, 3) and frames[0].dtype == np.uint8
    assert [int(f[0, 0, 0]) for f in frames] == [0, 255, 128]
    assert (frames[2][..., 0] == frames[2][..., 2]).all()


def test_roi_not_fitting_swinunetr_is_an_input_error():
    loaded = load_model("monai-swinunetr", LoadOptions(CPU, "random"))
    with pytest.raises(InputError, match="multiple of 32"):
        V.SlidingWindowVolume(loaded, CPU, WorkloadOptions(volume=SMALL_VOLUME, roi=(48, 48, 48)))


def test_window_options_are_checked_before_any_model_loads():
    with pytest.raises(InputError, match="--aggregate-on"):
        V.SlidingWindowVolume.check_inputs(WorkloadOptions(aggregate_on="gpu"))
    with pytest.raises(InputError, match="--overlap"):
        V.SlidingWindowVolume.check_inputs(WorkloadOptions(overlap=1.0))
    with pytest.raises(InputError, match="one --input"):
        V.SlidingWindowVolume.check_inputs(WorkloadOptions(inputs=("a.nii", "b.nii")))


# -- MONAI sliding windows through the sweep ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("precision", PRECISIONS)
def test_sliding_window_records_carry_rates_windows_flops_and_memory_by_depth(tmp_path, precision):
    plan = _plan(tmp_path, batch_sizes=(2,), precisions=(precision,), volume=SMALL_VOLUME, roi=SMALL_ROI,
                 depths=(32, 48))
    (rec,) = execute(plan, tmp_path)
    assert rec.status == "ok", rec.error
    assert rec.precision == (DEFAULT if precision == "auto" else precision)
    assert read_records([tmp_path / "r.jsonl"])[0].metrics == rec.metrics
    assert rec.batch_size == 2 and rec.model_family == "monai"
    assert rec.stats["item_unit"] == "volume" and rec.stats["items_per_step"] == 1
    assert rec.input == {
        "source": "phantom",
        "key": "phantom:64x64x32",
        "shape_whd": [64, 64, 32],
        "voxels": 64 * 64 * 32,
        "spacing_mm": rec.input["spacing_mm"],
    }
    assert (
        rec.params["roi"] == [32, 32, 32] and rec.params["overlap"] == 0.25 and rec.params["aggregate_on"] == "device"
    )
    m = rec.metrics
    assert m["windows"] == 9 and m["voxels"] == 64 * 64 * 32 and m["sw_batch_size"] == 2
    # The workload's own rates agree with the harness's timing of the same steps.
    assert m["seconds_per_volume"] == pytest.approx(rec.stats["latency_s"]["median"], rel=0.05)
    assert m["voxels_per_s"] == pytest.approx(m["voxels"] / m["seconds_per_volume"])
    assert m["windows_per_s"] == pytest.approx(9 / m["seconds_per_volume"])
    assert [d["depth"] for d in m["memory_by_depth"]] == [32, 48]
    assert [d["windows"] for d in m["memory_by_depth"]] == [9, 18]
    for depth in m["memory_by_depth"]:
        assert depth["status"] == "ok" and depth["seconds"] > 0
        assert depth["peak_kind"] == "host_rss" and depth["peak_bytes"] >= depth["rss_before_bytes"] > 0
        assert depth["added_bytes"] == depth["peak_bytes"] - depth["rss_before_bytes"]
    # FLOPs: one 32^3 window of the UNet on the meta device, times 9 windows.
    meta = build_on_meta("monai-unet")
    per_window = count(lambda: meta(torch.empty(1, 1, 32, 32, 32, device="meta")))[0].flops
    assert rec.flops["per_item"] == 9 * per_window
    assert rec.memory["peak_rss_bytes"] > 0


@pytest.mark.slow
def test_aggregating_on_the_cpu_and_an_oom_depth(tmp_path, monkeypatch):
    """A depth that runs out of memory is recorded as such, deeper ones skipped, and the point stays ok."""
    real_infer = V.SlidingWindowVolume._infer

    def infer(self, x, sw_batch_size):
        assert x.device.type == "cpu" and self.output_device.type == "cpu"
        if x.shape[2] > 40:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return real_infer(self, x, sw_batch_size)

    monkeypatch.setattr(V.SlidingWindowVolume, "_infer", infer)
    (rec,) = execute(_plan(tmp_path, volume=SMALL_VOLUME, roi=SMALL_ROI, depths=(32, 48, 64), aggregate_on="cpu"), tmp_path)
    assert rec.status == "ok" and rec.params["aggregate_on"] == "cpu"
    assert [(d["depth"], d["status"]) for d in rec.metrics["memory_by_depth"]] == [
        (32, "ok"),
        (48, "oom"),
        (64, "skipped"),
    ]


@pytest.mark.slow
def test_sam_on_a_volume_propagates_from_the_middle_slice_both_ways(tmp_path):
    plan = _plan(tmp_path, model="sam2.1-tiny", precisions=PRECISIONS, volume=(32, 32, 9), prompt="box")
    plan.resolution = (256, 256)
    plan.count_flops = False
    records = execute(plan, tmp_path)  # the model loaded once for both precisions
    assert [r.precision for r in records] == list(dict.fromkeys(["fp32", DEFAULT]))
    for rec in records:
        _propagated_from_the_middle_slice(rec)


def _propagated_from_the_middle_slice(rec) -> None:
    assert rec.status == "ok", f"{rec.precision}: {rec.error}"
    assert rec.model_family == "sam2" and rec.stats["item_unit"] == "slice" and rec.stats["items_per_step"] == 1
    m = rec.metrics
    assert m["frames"] == 9 and m["prompt_frame"] == 4 and m["prompt"] == "box"
    # Forward from the prompted slice to the last, then backward to the first: every slice once.
    assert [f["frame"] for f in m["memory_by_frame"]] == [4, 5, 6, 7, 8, 3, 2, 1, 0]
    assert rec.settings["warmup"] == 7 and rec.stats["latency_s"]["n"] == 2
    assert m["seconds_per_volume"] > m["prompt_s"] > 0 and m["slices_per_s"] > 0
    assert rec.params["prompt_slice"] == "middle" and rec.params["volume_whd"] == [32, 32, 9]
    assert rec.input["key"] == "phantom:32x32x9"


# -- the command line with real files --------------------------------------------------------------

VOLUME_ARGS = [
    "--workload",
    "volume",
    "--model",
    "monai-unet",
    "--roi",
    "32x32x32",
    "--batch-sizes",
    "2",
    "--warmup",
    "0",
    "--min-iters",
    "1",
    "--min-time",
    "0",
    "--device",
    "cpu",
    "--precision",
    "fp32",
    "--telemetry-interval",
    "0",
    "--json",
]


@pytest.fixture(scope="module")
def scan():
    return phantom((48, 40, 24))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nifti", "dicom"])
def test_cli_runs_on_a_nifti_file_and_a_dicom_series(in_tmp, cli_runner, scan, kind):
    path = write_nifti(scan, in_tmp / "ct.nii.gz") if kind == "nifti" else write_dicom_series(scan, in_tmp / "series")
    result = cli_runner.invoke(cli, ["run", *VOLUME_ARGS, "--input", str(path), "-o", "r.jsonl"])
    assert result.exit_code == 0, result.output
    (printed,) = json.loads(result.stdout)
    assert printed["status"] == "ok" and printed["input"]["source"] == "file"
    assert printed["input"]["shape_whd"] == [48, 40, 24] and printed["input"]["path"] == str(path)
    assert printed["metrics"]["windows"] == 4 and printed["metrics"]["memory_by_depth"] == []
    assert read_records(["r.jsonl"])[0].id == printed["id"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: np.save(d / "flat.npy", np.zeros((16, 16), np.float32)) or d / "flat.npy", "has 2 dimensions"),
        (lambda d: np.save(d / "nan.npy", np.full((4, 16, 16), np.nan, np.float32)) or d / "nan.npy", "NaN"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "empty"),
    ],
)
def test_cli_bad_volumes_are_one_line_and_exit_2(in_tmp, cli_runner, make, message):
    path = make(in_tmp)
    result = cli_runner.invoke(cli, ["run", *VOLUME_ARGS, "--input", str(path), "-o", "r.jsonl"])
    assert message in one_line_error(result)
    assert not (in_tmp / "r.jsonl").exists()


def test_cli_roi_that_swinunetr_cannot_run_is_one_line_and_exit_2(in_tmp, cli_runner):
    args = {"monai-unet": "monai-swinunetr", "32x32x32": "48x48x48"}
    result = cli_runner.invoke(
        cli, ["run", *[args.get(a, a) for a in VOLUME_ARGS], "--volume", "64x64x32", "-o", "r.jsonl"]
    )
    assert "multiple of 32" in one_line_error(result)
