"""SAM 3 and EdgeTAM through transformers: architectures built offline, the concept-prompt workload's
records, the tracker's video records, local Hugging Face directories, and what `check` says of them."""

from __future__ import annotations

import pytest
import torch

from segbench.advisor.check import CheckRequest, check
from segbench.bench import Plan, execute
from segbench.errors import InputError
from segbench.families.base import LoadOptions
from segbench.families._shared.hf_sam import fixed_text_ids
from segbench.families.registry import build_on_meta, get_spec, load_model
from segbench.measure.device import default_precision
from segbench.measure.harness import MeasureSettings
from segbench.workloads.base import WorkloadOptions

CPU = torch.device("cpu")


def _run(tmp_path, model, workload, resolution, family_options=None, precisions=("fp32",), **options):
    plan = Plan(models=[model], workloads=[workload], precisions=list(precisions), batch_sizes=[1], device="cpu",
                weights="random", resolution=resolution, launcher="inline", telemetry_interval_s=None,
                settings=MeasureSettings(warmup=0, min_iters=1, min_time_s=0.0),
                options=WorkloadOptions(source_size=(96, 128), **options), family_options=dict(family_options or {}))
    return execute(plan, tmp_path / "r.jsonl")


@pytest.mark.parametrize("size, ok", [(336, True), (1008, True), (500, False), (224, False)])
def test_sam3_runs_sides_that_tile_its_vit_windows(size, ok):
    from segbench.families.sam3.loading import size_of

    spec = get_spec("sam3")
    if ok:
        assert size_of(spec, (size, size)) == size
    else:
        with pytest.raises(InputError, match="multiple of 336"):
            size_of(spec, (size, size))


def test_sam3_on_meta_is_the_published_size_and_quick_shrinks_it():
    spec = get_spec("sam3")
    model = build_on_meta(spec)
    assert 835e6 < sum(p.numel() for p in model.parameters()) < 850e6  # 840M in transformers (848M in the README)
    assert model.config.vision_config.backbone_config.image_size == 1008
    tracker = build_on_meta(spec, (336, 336), "video")
    assert tracker.config.image_size == 336 and tracker.config.vision_config.backbone_config.image_size == 336
    assert spec.quick_resolution == (336, 336)


def test_edgetam_builds_its_checkpoints_repvit_encoder_not_transformers_default():
    image = build_on_meta("edgetam")
    video = build_on_meta("edgetam", None, "video")
    assert image.vision_encoder.backbone.config.architecture == "repvit_m1.dist_in1k"
    assert type(video.vision_encoder).__name__ == "EdgeTamVisionModel"  # the default config builds SAM 2's Hiera
    assert 13.5e6 < sum(p.numel() for p in video.parameters()) < 14.5e6  # EdgeTAM: 13.9M
    with pytest.raises(InputError, match="1024x1024 only"):
        load_model("edgetam", LoadOptions(CPU, "random", resolution=(512, 512)))


def test_fixed_text_ids_are_a_padded_clip_sequence():
    ids, mask = fixed_text_ids(32, 2, 49408, seed=0)
    assert ids.shape == mask.shape == (1, 32)
    assert ids[0, 0] == 49406 and ids[0, 3] == 49407 and mask.sum() == 4
    assert (ids[0, 1:3] < 49406).all() and (ids[0, 4:] == 49407).all()


def test_a_local_hugging_face_directory_loads_as_pretrained(tmp_path):
    built = load_model("edgetam", LoadOptions(CPU, "random")).module
    built.save_pretrained(tmp_path / "edgetam")
    loaded = load_model("edgetam", LoadOptions(CPU, "pretrained", checkpoint=str(tmp_path / "edgetam")))
    assert loaded.weights == "pretrained" and loaded.checkpoint == str(tmp_path / "edgetam")
    name, param = next(iter(built.state_dict().items()))
    assert torch.equal(loaded.module.state_dict()[name], param)
    with pytest.raises(InputError, match="not a Hugging Face model directory"):
        load_model("edgetam", LoadOptions(CPU, "pretrained", checkpoint=str(tmp_path)))


@pytest.mark.slow
def test_sam3_text_prompt_records_the_prompt_and_the_objects_it_returned(tmp_path):
    # fp32 and the machine's default ("auto": bf16 autocast on a CPU with native bf16), the model loaded once.
    records = _run(tmp_path, "sam3", "prompt", (336, 336), family_options={"text": "yellow school bus"},
                   precisions=("fp32", "auto"))
    assert [r.precision for r in records] == list(dict.fromkeys(["fp32", default_precision(CPU)]))
    for record in records:
        _text_prompt_record(record)


def _text_prompt_record(record) -> None:
    assert record.status == "ok", f"{record.precision}: {record.error}"
    assert record.params["text"] == "yellow school bus"
    assert record.params["text_tokens"].startswith("fixed ids")  # no tokenizer offline
    assert record.stats["item_unit"] == "prompt" and record.stats["items_per_step"] == 2  # a text and a box exemplar
    metrics = record.metrics
    assert 0 <= metrics["objects_min"] <= metrics["objects_median"] <= metrics["objects_max"] <= 200  # 200 queries
    assert metrics["objects_representative"] is False
    assert record.flops["per_item"] > 0


@pytest.mark.slow
def test_edgetam_video_records_each_frame_and_offloads_the_clip(tmp_path):
    plan = Plan(models=["edgetam"], workloads=["video"], precisions=["fp32"], batch_sizes=[2], device="cpu",
                weights="random", launcher="inline", telemetry_interval_s=None, executions=["eager", "eager+offload:video"],
                settings=MeasureSettings(warmup=0, min_iters=1, min_time_s=0.0),
                options=WorkloadOptions(source_size=(96, 128), frames=9))
    eager, offloaded = execute(plan, tmp_path / "v.jsonl")
    for record in (eager, offloaded):
        assert record.status == "ok", record.error
        m = record.metrics
        assert m["objects"] == 2 and m["frames_run"] == 9 and len(m["memory_by_frame"]) == 9
        assert m["steady_from_frame"] == 7 and m["steady_state_reached"] and m["load_s"] > 0 and m["prompt_s"] > 0
    assert eager.params["offload_video_to_cpu"] is False and offloaded.params["offload_video_to_cpu"] is True


def test_check_gives_sam3_the_longest_clip_on_24_and_80_gb():
    fits = {gpu: check(CheckRequest(gpu=gpu, model="sam3", workload="video")).to_dict()["predicted"]["max_frames_fit"]
            for gpu in ("RTX 4090", "A100 80GB")}
    # The session keeps every frame (12 MiB at 1008 px, fp32) and its outputs: 300 frames fit a 24 GB card, and
    # an 80 GB one holds about 80/24 as many once the weights are paid for.
    assert 300 < fits["RTX 4090"] < fits["A100 80GB"]
    assert 2.5 < fits["A100 80GB"] / fits["RTX 4090"] < 4.5
    image = check(CheckRequest(gpu="RTX 4090", model="sam3", workload="image")).to_dict()["predicted"]
    assert image["latency_ms"] > 0 and image["peak_vram_gb"] > 840e6 * 2 / 2**30  # bf16 weights at least


def test_check_sizes_a_whole_body_ct_by_its_classes():
    peaks = {n: check(CheckRequest(gpu="RTX 4090", model="monai-segresnet-wholebody", workload="volume", classes=n,
                                   volume=(512, 512, 300))).to_dict()["predicted"]["peak_vram_gb"] for n in (105, 117)}
    assert peaks[117] > peaks[105]
