"""The `train` workload: a real fine-tuning step per family, its records (finite loss, gradients and
optimiser state measured from the tensors), OOM as a result while the batch grows, and the counted
footprint that holds gradients, optimiser state and saved activations."""

from __future__ import annotations

import functools
import importlib.util

import psutil
import pytest
import torch

from segbench.bench import Plan
from segbench.bench.runner import execute
from segbench.cost.footprint import Query
from segbench.families.costs import footprint, model_counts
from segbench.cost.training import OPTIMIZER_STATES
from segbench.measure.device import default_precision
from segbench.measure.harness import MeasureSettings
from segbench.records.schema import Record
from segbench.records.store import read_records
from segbench.workloads.base import WorkloadOptions
from segbench.workloads.training import loss_scaler

# Skipped without the extra, found without importing it: importing Ultralytics patches PIL.Image.open for
# the whole test session, which segbench undoes only when it imports the package itself.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ultralytics") is None, reason="segbench[yolo] not installed")

FAST = MeasureSettings(warmup=0, min_iters=2, min_time_s=0.0)
# fp32 and the machine's default ("auto": bf16 on a CPU with native bf16, as on every Ampere or newer
# GPU); where the default is fp32 the plan measures it once.
PRECISIONS = ("fp32", "auto")
DEFAULT = default_precision(torch.device("cpu"))
TRAINED = {"yolo11n-seg": ((64, 64), "adamw"), "maskrcnn-resnet50-fpn-v2": ((96, 96), "sgd"),
           "sam2.1-tiny": ((128, 128), "adamw")}


def run_train(tmp_path, model: str, size: tuple[int, ...], batch_sizes=(1,), precisions=("fp32",), **kw):
    plan = Plan(models=[model], workloads=["train"], precisions=list(precisions), batch_sizes=list(batch_sizes),
                device="cpu", weights="random", resolution=size, launcher="inline", telemetry_interval_s=None,
                settings=FAST, options=WorkloadOptions(source_size=(96, 128)), **kw)
    execute(plan, tmp_path / "r.jsonl")
    return read_records([tmp_path / "r.jsonl"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One run per model at fp32 and the default precision, loaded once, shared by the tests below."""

    @functools.cache
    def records(model: str) -> dict[str, Record]:
        size, _ = TRAINED[model]
        return {r.precision: r for r in run_train(tmp_path_factory.mktemp("train"), model, size,
                                                  precisions=PRECISIONS)}

    return records


@pytest.mark.slow
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("model", list(TRAINED))
def test_a_training_step_is_timed_with_its_loss_gradients_and_optimizer_state(trained, model, precision):
    record = trained(model)[DEFAULT if precision == "auto" else precision]
    size, optimizer = TRAINED[model]
    assert record.status == "ok", record.error
    assert record.workload == "train" and record.stats["latency_s"]["n"] == 2
    m, p = record.metrics, record.params
    assert m["loss_finite"] is True and m["loss_first"] > 0
    assert p["optimizer"] == optimizer and p["trainable_params"] > 0
    assert "loss_scale" not in m  # fp32 and bf16 train without a loss scaler
    # Measured from the tensors after a step: an fp32 gradient per trained parameter that the loss reaches
    # (SAM's box-only prompts leave a few point and mask embeddings without one), and the optimiser's
    # state tensors for each of those (AdamW adds a scalar step count per parameter tensor). Autocast
    # computes in half precision but keeps fp32 weights, so their gradients and state stay fp32.
    grads = m["gradient_bytes"]
    assert 0.9 * 4 * p["trainable_params"] <= grads <= 4 * p["trainable_params"]
    if model != "sam2.1-tiny":
        assert grads == 4 * p["trainable_params"]
    states = OPTIMIZER_STATES[optimizer]
    assert states * grads <= m["optimizer_state_bytes"] <= states * grads * 1.01
    # The counted footprint of the same step puts those bytes in its memory.
    fp = footprint(Query(model, "train", batch_size=1))
    assert fp.state_bytes >= 4 * (1 + OPTIMIZER_STATES[optimizer]) * model_counts(model).extra["trainable_params"]


@pytest.mark.slow
def test_sam_fine_tune_trains_the_decoder_only(trained):
    record = trained("sam2.1-tiny")["fp32"]
    whole = model_counts("sam2.1-tiny").params
    assert 0 < record.params["trainable_params"] < whole / 5  # the image encoder is frozen
    assert "image encoder frozen" in record.params["timed"]


def test_only_fp16_autocast_trains_behind_a_loss_scaler():
    cpu = torch.device("cpu")
    assert loss_scaler(cpu) is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert loss_scaler(cpu) is None  # bf16 has fp32's exponent range
    with torch.autocast("cpu", dtype=torch.float16):
        assert isinstance(loss_scaler(cpu), torch.amp.GradScaler)


@pytest.mark.slow
def test_an_fp16_step_scales_its_loss_and_counts_the_steps_it_skipped(tmp_path):
    (record,) = run_train(tmp_path, "yolo11n-seg", (64, 64), precisions=("fp16",))
    assert record.status == "ok", record.error
    m = record.metrics
    # GradScaler starts at 2**16 and halves it for each step whose fp16 gradients overflowed (skipped).
    assert m["loss_finite"] is True and m["loss_scale"] == 2.0 ** (16 - m["optimizer_steps_skipped"])
    assert m["gradient_bytes"] == 4 * record.params["trainable_params"]


@pytest.mark.slow
def test_running_out_of_memory_while_the_batch_grows_is_a_result(tmp_path):
    ceiling = psutil.Process().memory_info().rss + 900 * 2**20
    records = run_train(tmp_path, "yolo11n-seg", (256, 256), batch_sizes=(1, 2, 128, 256), max_ram_bytes=ceiling)
    got = [(r.batch_size, r.status) for r in records]
    assert got == [(1, "ok"), (2, "ok"), (128, "oom")]  # 256 is not tried once 128 did not fit
    assert "allocate memory" in records[-1].error


def test_training_memory_holds_gradients_state_and_activations_per_image():
    one, sixteen = (footprint(Query("yolo11n-seg", "train", batch_size=b)) for b in (1, 16))
    infer = footprint(Query("yolo11n-seg", "image", batch_size=16))
    trainable = model_counts("yolo11n-seg").extra["trainable_params"]
    assert one.state_bytes == pytest.approx(trainable * 4 * (1 + OPTIMIZER_STATES["adamw"]))
    # Saved activations grow with the batch; inference at the same batch keeps far less.
    assert sixteen.activation_bytes == pytest.approx(16 * one.activation_bytes)
    assert sixteen.peak_bytes > 4 * infer.peak_bytes
    # forward + backward (2x) of the network, plus the optimiser step
    assert sixteen.parts["backward"].flops == pytest.approx(2 * sixteen.parts["forward"].flops)
    assert sixteen.device.flops > 3 * infer.parts["forward"].flops


def test_importing_ultralytics_leaves_pillow_as_it_was():
    """Ultralytics patches PIL.Image.open on import (a HEIF plugin, pip-installed on the first unknown file);
    segbench's image checks must read files the same way after a YOLO model was built in the process."""
    from PIL import Image

    from segbench.families.yolo.loading import ultralytics

    ultralytics()
    assert Image.open.__module__ == "PIL.Image"
