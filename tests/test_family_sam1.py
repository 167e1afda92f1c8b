"""SAM 1 (segment-anything): the registry's architectures at any image size, its workloads through
SAM 2.1's classes, its cost blocks, and checkpoints loaded with weights_only."""

from __future__ import annotations

from functools import cache

import pytest
import torch

from segbench.errors import InputError
from segbench.families.base import LoadOptions
from segbench.families.registry import build_on_meta, build_workload, get_spec, load_model
from segbench.families.sam1 import loading as sam1
from segbench.measure.device import autocast, default_precision
from segbench.workloads.base import WorkloadOptions

CPU = torch.device("cpu")
SMALL = (128, 128)
# fp32 and the machine's default ("auto": bf16 autocast on a CPU with native bf16, as on Ampere or newer GPUs).
PRECISIONS = ("fp32", "auto")


@cache
def small(model: str = "sam-vit-b"):
    return load_model(model, LoadOptions(CPU, "random", resolution=SMALL))


@pytest.mark.parametrize("model, registry", [("sam-vit-b", "vit_b"), ("sam-vit-l", "vit_l"), ("sam-vit-h", "vit_h")])
def test_the_architecture_is_the_registry_entry(model, registry):
    """segbench's build has every tensor of segment_anything's own registry build, with the same shape."""
    from segment_anything import sam_model_registry

    with torch.device("meta"):
        ours = sam1.build(get_spec(model)).state_dict()
        theirs = sam_model_registry[registry](checkpoint=None).state_dict()
    assert ours.keys() == theirs.keys()
    assert all(ours[k].shape == theirs[k].shape for k in ours)


def test_a_smaller_image_size_shrinks_the_embedding_grid():
    module = small().module
    assert module.image_encoder.img_size == 128 and module.image_encoder.pos_embed.shape[1:3] == (8, 8)
    assert module.prompt_encoder.image_embedding_size == (8, 8)


@pytest.mark.parametrize("size", [(100, 100), (64, 64), (256, 128)])
def test_sizes_the_encoder_cannot_take_are_input_errors(size):
    with pytest.raises(InputError, match="multiple of 16"):
        sam1.check_size(get_spec("sam-vit-b"), size)


def test_checkpoint_names_are_the_ones_meta_publishes():
    names = {n: get_spec(n).config["checkpoint"] for n in ("sam-vit-b", "sam-vit-l", "sam-vit-h")}
    assert names == {"sam-vit-b": "sam_vit_b_01ec64.pth", "sam-vit-l": "sam_vit_l_0b3195.pth",
                     "sam-vit-h": "sam_vit_h_4b8939.pth"}


def test_a_state_dict_saved_with_torch_save_loads_and_is_resized_to_the_image(tmp_path):
    """A 1024-px checkpoint at 128 px: position embeddings resized, every other tensor loaded as saved."""
    source = sam1.build(get_spec("sam-vit-b"))
    path = tmp_path / "sam_vit_b_01ec64.pth"
    torch.save(source.state_dict(), path)
    loaded = load_model("sam-vit-b", LoadOptions(CPU, "pretrained", checkpoint=str(path), resolution=SMALL))
    assert loaded.weights == "pretrained" and loaded.checkpoint == str(path)
    state = loaded.module.state_dict()
    assert state["image_encoder.pos_embed"].shape == (1, 8, 8, 768)
    assert state["image_encoder.blocks.2.attn.rel_pos_h"].shape == (15, 64)  # a global block: 2 * 8 - 1
    block0 = "image_encoder.blocks.0.attn.rel_pos_h"  # windowed: 2 * 14 - 1, whatever the image size
    assert torch.equal(state[block0], source.state_dict()[block0])
    assert torch.equal(state["mask_decoder.iou_token.weight"], source.state_dict()["mask_decoder.iou_token.weight"])
    assert any("resized" in note for note in loaded.notes)


def test_a_pickled_object_is_refused(tmp_path):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "sam_vit_b_01ec64.pth"
    path.write_bytes(pickle.dumps({"image_encoder.pos_embed": Evil()}, protocol=2))
    with pytest.raises(InputError, match="refused to load"):
        load_model("sam-vit-b", LoadOptions(CPU, "pretrained", checkpoint=str(path), resolution=SMALL))


def test_pretrained_without_a_checkpoint_names_the_published_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEGBENCH_CHECKPOINTS", str(tmp_path))
    with pytest.raises(InputError, match="sam_vit_h_4b8939.pth"):
        load_model("sam-vit-h", LoadOptions(CPU, "pretrained"))


def test_cost_blocks_on_meta_are_the_published_encoder_sizes():
    from segbench.families.costs import model_counts

    counts = model_counts("sam-vit-b", (1024, 1024))
    # ~487 GMACs for SAM ViT-B's encoder at 1024 px (multiply-add = 2 FLOPs).
    assert 0.9e12 < counts.blocks["fp32"]["encoder"].flops < 1.05e12
    assert 1e9 < counts.blocks["fp32"]["decoder"].flops < 10e9
    assert next(build_on_meta("sam-vit-b", SMALL).parameters()).device.type == "meta"


def test_footprints_hold_sam1s_single_embedding():
    from segbench.cost.footprint import Query
    from segbench.families.costs import footprint

    image = footprint(Query("sam-vit-b", "image", batch_size=2))
    assert image.state_bytes == 2 * 256 * 64 * 64 * 4  # one 64x64 embedding per image, no high-res levels
    assert image.notes[0].startswith("SAM 1 resizes")
    prompt = footprint(Query("sam-vit-b", "prompt"))
    assert prompt.state_bytes == 256 * 64 * 64 * 4 and prompt.items_per_step == 2


def _workload(name: str, **options):
    opts = WorkloadOptions(source_size=(64, 96), points_per_side=2, points_per_batch=4, **options)
    return build_workload(name, small(), CPU, opts)


def at(precision: str):
    """The step's autocast as the runner sets it: none at fp32, the resolved default for "auto"."""
    return autocast(CPU, default_precision(CPU) if precision == "auto" else precision)


@pytest.mark.slow
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("batch", [1, 2])
def test_image_encodes_each_image_of_the_batch(batch, precision):
    workload = _workload("image")
    with torch.inference_mode(), at(precision):
        workload.prepare(batch)()
    assert workload.predictor.features.shape == (batch, 256, 8, 8)
    assert workload.predictor.original_size == (64, 96)
    assert workload.params()["timed"] == "set_image (transforms + image encoder)"
    assert workload.network().get() is small().module.image_encoder


@pytest.mark.slow
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("batch", [1, 3])
def test_prompt_decodes_a_point_and_a_box_per_object(batch, precision):
    workload = _workload("prompt", points=((10.0, 20.0),))
    with torch.inference_mode(), at(precision):
        workload.prepare(batch)()
    assert workload._last["mask_shape"] == [batch, 1, 64, 96]  # the box's single mask per object, at image size
    assert workload.items_per_step(batch) == 2 * batch and workload.network() is None
    assert workload.params()["timed"] == "predict(point) + predict(box) on a cached embedding"


@pytest.mark.slow
@pytest.mark.parametrize("precision", PRECISIONS)
def test_auto_keeps_the_asked_number_of_masks_in_relaxed_mode(precision):
    workload = _workload("auto", auto_masks=3)
    with torch.inference_mode(), at(precision):
        workload.prepare(1)()
    metrics = workload.metrics(None)
    assert metrics["masks_median"] == 3 and metrics["candidates_median"] >= 3  # 2x2 grid, 3 masks a point
    params = workload.params()
    assert params["auto_masks"] == 3 and params["timed"].startswith("generate(image)")
    assert "segment-anything" in workload.official_loop and not workload.supports_batch_size(2)


@pytest.mark.slow
def test_the_encoder_runs_behind_the_fidelity_probe_at_half_precision(tmp_path):
    """Off fp32, the runner swaps the encoder for a probe that lacks `img_size`: SAM 1 reads it anyway."""
    from segbench.bench import Plan, execute
    from segbench.measure.harness import MeasureSettings

    plan = Plan(models=["sam-vit-b"], workloads=["image"], precisions=["bf16"], batch_sizes=[1], device="cpu",
                weights="random", resolution=SMALL, launcher="inline", telemetry_interval_s=None,
                settings=MeasureSettings(warmup=1, min_iters=1, min_time_s=0.0),
                options=WorkloadOptions(source_size=(64, 96)))
    (record,) = execute(plan, tmp_path / "runs.jsonl")
    assert record.status == "ok", record.error
    assert record.fidelity and record.flops["per_item"] > 0


@pytest.mark.slow
def test_auto_runs_under_half_precision_autocast():
    """segment_anything's MaskData.to_numpy refuses bf16 scores; the generator hands them on in fp32."""
    workload = _workload("auto", auto_masks=2)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        workload.prepare(1)()
    assert workload.metrics(None)["masks_median"] == 2
