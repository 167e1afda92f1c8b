"""The two paths through a large set of similar images, quoted from predictions: SAM 2.1 automatic
masks on all of them, against SAM-assisted labeling of a few, fine-tuning a small model on them and
running it on the rest; and `check -w train` for the small models."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from segbench.advisor.advice import two_paths
from segbench.advisor.data.calibration import load_calibration
from segbench.advisor.data.catalog import load_catalog
from segbench.advisor.evaluate import evaluate
from segbench.advisor.model.fit import fitted
from segbench.cli import cli
from segbench.cost.footprint import Query


def run_json(command: str, *args: str) -> dict:
    result = CliRunner().invoke(cli, [command, *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def auto_on_3060():
    params = fitted()[0]
    spec = load_catalog().get("RTX 3060 12GB")
    return evaluate(spec, Query("sam2.1-tiny", "auto", "fp16"), params=params), params


def test_the_paths_add_up(auto_on_3060):
    ev, params = auto_on_3060
    p = two_paths(ev, 10_000, params)
    ft = load_calibration().finetune
    assert p.labeled == ft["labeled_images"] and p.epochs == ft["epochs"]
    assert p.sam_all_s == pytest.approx(10_000 * p.sam_auto_per_image_s)
    assert p.infer_s == pytest.approx((10_000 - p.labeled) * p.small_per_image_s)
    assert p.label_human_s == pytest.approx(p.labeled * ft["human_seconds_per_image"])
    assert p.small_total_s == pytest.approx(p.label_machine_s + p.label_human_s + p.train_s + p.infer_s)
    assert p.speed_ratio == pytest.approx(p.sam_auto_per_image_s / p.small_per_image_s) and p.speed_ratio > 10
    # Labeling and training are paid before the first small-model image: path b starts behind, ends ahead.
    start_a, start_b = p.cumulative_hours(0)
    end_a, end_b = p.cumulative_hours(10_000)
    assert start_b > start_a == 0 and end_b < end_a
    assert end_b == pytest.approx(p.small_total_s / 3600)


def test_epochs_and_label_seconds_are_the_users_to_set(auto_on_3060):
    ev, params = auto_on_3060
    base = two_paths(ev, 10_000, params)
    longer = two_paths(ev, 10_000, params, epochs=2 * base.epochs, label_seconds=60)
    assert longer.train_s == pytest.approx(2 * base.train_s)
    assert longer.label_human_s == pytest.approx(base.labeled * 60)
    assert longer.infer_s == pytest.approx(base.infer_s) and longer.sam_all_s == pytest.approx(base.sam_all_s)


def test_check_and_recommend_quote_both_paths_with_their_basis():
    data = run_json("check", "--gpu", "RTX 3060 12GB", "-w", "auto", "--images", "10000", "--epochs", "50",
                    "--label-seconds", "10")
    paths = data["basis"]["two_paths"]
    assert paths["epochs"] == 50 and paths["label_human_s"] == pytest.approx(paths["labeled"] * 10)
    assert paths["basis"] == "predicted" and paths["small_model"] == "yolo11n-seg"
    assert any("fine-tuning yolo11n-seg for 50 epochs" in line for line in data["advice"])
    # Among SAM 2.1 sizes (left to itself recommend picks SAM 3, which has no automatic masks to compare).
    rec = run_json("recommend", "--workload", "image", "--images", "10000", "--budget", "900",
                   "-m", "sam2.1-tiny", "-m", "sam2.1-large")
    assert rec["basis"]["two_paths"]["images"] == 10_000 and rec["basis"]["two_paths"]["speed_ratio"] > 1
    few = run_json("check", "--gpu", "RTX 3060 12GB", "-w", "auto", "--images", "200")
    assert "two_paths" not in few["basis"]


def test_check_predicts_a_small_model_training_step_and_the_largest_batch():
    data = run_json("check", "-m", "yolo11n-seg", "-w", "train", "--gpu", "RTX 3060 12GB", "--batch-size", "16")
    p = data["predicted"]
    assert data["workload"] == "train" and data["batch_size"] == 16 and data["fits"]
    assert p["latency_ms"] > 0 and p["peak_vram_gb"] > 1
    assert p["max_batch_fit"] >= 16
    on_8gb = run_json("check", "-m", "yolo11n-seg", "-w", "train", "--gpu", "RTX 4060", "--batch-size", "16")
    assert on_8gb["predicted"]["max_batch_fit"] < p["max_batch_fit"]
    assert any("Training is VRAM-hungry" in line for line in data["advice"])
