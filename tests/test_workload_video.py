"""The video workload: SAM 2.1 propagation timed frame by frame, memory-bank warm-up apart, on tiny clips."""

from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from segbench.bench import Plan, execute
from segbench.cli import cli
from segbench.errors import InputError
from segbench.families.base import LoadedModel, ModelSpec
from segbench.families.sam2 import tracking as V
from segbench.workloads.tracking import grid_prompts
from segbench.inputs import synthetic_clip, write_jpeg_folder, write_mp4
from segbench.measure.device import default_precision
from segbench.measure.harness import MeasureSettings
from segbench.records.store import read_records
from segbench.workloads.base import WorkloadOptions
from tests.cli_checks import one_line_error

CPU = torch.device("cpu")


# -- the pieces, against a fake predictor ------------------------------------------------------------


class FakePredictor:
    """The slice of SAM2VideoPredictor's API that Propagation uses, recording what it was asked."""

    num_maskmem = 7
    fill_hole_area = 0

    def __init__(self, n_frames: int) -> None:
        self.n_frames = n_frames
        self.calls: list[tuple] = []

    def reset_state(self, state):
        self.calls.append(("reset",))

    def add_new_points_or_box(self, state, frame_idx, obj_id, points=None, labels=None, box=None):
        self.calls.append(("box" if box is not None else "point", frame_idx, obj_id))

    def propagate_in_video(self, state, start_frame_idx=None, reverse=False):
        order = range(start_frame_idx, -1, -1) if reverse else range(start_frame_idx, self.n_frames)
        for t in order:
            yield t, [1], torch.full((1, 1, 4, 4), 1.0 if t % 2 else -1.0)


def test_propagation_runs_forward_then_backward_from_the_prompted_frame_and_restarts():
    fake = FakePredictor(6)
    prop = V.Propagation(fake, {}, [(10.0, 20.0), (40.0, 20.0)], "point", prompt_frame=3)
    prop.prompt()
    assert fake.calls == [("reset",), ("point", 3, 1), ("point", 3, 2)]
    frames = [prop.next_frame() for _ in range(6)]
    assert [f for f, _ in frames] == [3, 4, 5, 2, 1, 0]  # each frame once: the prompted one is not repeated
    # Masks come back thresholded at 0 (the fake's logits are +1 on odd frames, -1 on even ones).
    assert frames[0][1].dtype == torch.bool and frames[0][1].all() and not frames[1][1].any()
    assert prop.restarts == 0
    assert prop.next_frame()[0] == 3  # the clip is over: prompts again, from the start
    assert prop.restarts == 1 and fake.calls[-3:] == [("reset",), ("point", 3, 1), ("point", 3, 2)]


def test_box_prompts_from_frame_zero_only_go_forward():
    fake = FakePredictor(4)
    prop = V.Propagation(fake, {}, [(5.0, 5.0, 30.0, 20.0)], "box", prompt_frame=0)
    assert [prop.next_frame()[0] for _ in range(4)] == [0, 1, 2, 3]
    assert ("box", 0, 1) in fake.calls


@pytest.mark.parametrize("n", [1, 2, 3, 5, 12])
def test_grid_prompts_are_distinct_and_inside_their_boxes(n):
    h, w = 96, 160
    prompts = grid_prompts((h, w), n)
    assert len(prompts) == n and len({p.point for p in prompts}) == n
    for p in prompts:
        x, y = p.point
        x0, y0, x1, y1 = p.box
        assert 0 <= x0 <= x < x1 <= w and 0 <= y0 <= y < y1 <= h


def _fake_loaded(n_maskmem: int = 7) -> LoadedModel:
    spec = ModelSpec("sam2.1-tiny", "sam2", ("video",), (1024, 1024), "test", tasks=("promptable",))
    module = SimpleNamespace(num_maskmem=n_maskmem, fill_hole_area=0)
    return LoadedModel(spec=spec, module=module, weights="random", checkpoint=None, resolution=(256, 256))


@pytest.mark.parametrize("frames, warmup, timed, steady", [(16, 7, 9, True), (8, 7, 1, True), (5, 4, 1, False)])
def test_memory_bank_fill_is_the_warmup_and_the_rest_of_the_clip_is_timed_once(frames, warmup, timed, steady):
    workload = V.SamVideo(_fake_loaded(), CPU, WorkloadOptions(frames=frames))
    settings = workload.settings_for(MeasureSettings(warmup=2, min_iters=5, min_time_s=3.0))
    assert (settings.warmup, settings.min_iters, settings.max_iters, settings.min_time_s) == (warmup, timed, timed, 0.0)
    assert settings.warmup + settings.max_iters == frames  # never more steps than the clip has frames
    assert workload.steady_state_reached() is steady
    assert any("too few to fill the memory bank" in n for n in workload.notes) is not steady
    assert workload.items_per_step(4) == 1 and workload.purpose == "video" and workload.item_unit == "frame"


def test_prompts_are_the_users_cycled_else_the_clips_objects_else_a_grid():
    clip = synthetic_clip(2, (96, 128), objects=2)
    users = V.SamVideo(_fake_loaded(), CPU, WorkloadOptions(frames=9, source_size=(96, 128), points=((3, 4), (50, 60))))
    assert users.prompts_for(clip, 3) == [(3, 4), (50, 60), (3, 4)] and users.prompt_source == "user"
    own = V.SamVideo(_fake_loaded(), CPU, WorkloadOptions(frames=9, prompt="box"))
    assert own.prompts_for(clip, 2) == [o.box for o in clip.objects] and own.prompt_source == "synthetic objects"
    assert own.prompts_for(clip, 3) == [p.box for p in grid_prompts((96, 128), 3)]


def test_user_prompts_off_the_frame_or_of_the_other_kind_are_input_errors():
    with pytest.raises(InputError, match="outside the 128x96"):
        V.SamVideo(_fake_loaded(), CPU, WorkloadOptions(frames=9, source_size=(96, 128), points=((130, 4),)))
    with pytest.raises(InputError, match="--prompt box"):
        V.SamVideo.check_inputs(WorkloadOptions(boxes=((1, 1, 9, 9),)))


def test_bad_prompt_and_several_inputs_are_input_errors():
    with pytest.raises(InputError, match="prompt must be one of"):
        V.SamVideo.check_inputs(WorkloadOptions(prompt="scribble"))
    with pytest.raises(InputError, match="one --input"):
        V.SamVideo.check_inputs(WorkloadOptions(inputs=("a.mp4", "b.mp4")))


# -- the real predictor through the sweep --------------------------------------------------------------


@pytest.fixture(scope="module")
def video_records(tmp_path_factory):
    """SAM 2.1 tiny on a 9-frame clip at fp32 and at the machine's default precision ("auto": bf16
    autocast on a CPU with native bf16), the model loaded once: by precision, each record as returned
    and as read back from the results file."""
    path = tmp_path_factory.mktemp("video") / "r.jsonl"
    plan = Plan(
        models=["sam2.1-tiny"],
        workloads=["video"],
        precisions=["fp32", "auto"],
        batch_sizes=[2],
        device="cpu",
        launcher="inline",
        weights="random",
        resolution=(256, 256),
        settings=MeasureSettings(warmup=1, min_iters=5, min_time_s=1.0),
        telemetry_interval_s=None,
        options=WorkloadOptions(frames=9, source_size=(96, 128), offload_video_to_cpu=True),
    )
    records = execute(plan, path)
    stored = {r.precision: r for r in read_records([path])}
    return {r.precision: (r, stored[r.precision]) for r in records}


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_video_record_has_steady_and_warmup_rates_load_time_memory_and_flops(video_records, precision):
    rec, stored = video_records[default_precision(CPU) if precision == "auto" else precision]
    assert rec.status == "ok", rec.error
    assert stored.metrics == rec.metrics
    assert rec.settings["warmup"] == 7 and rec.settings["min_iters"] == 2
    assert rec.stats["item_unit"] == "frame" and rec.stats["items_per_step"] == 1
    assert rec.stats["latency_s"]["n"] == 2 and len(rec.stats["warmup_s"]) == 7
    assert rec.input == {"source": "synthetic", "key": "synthetic:128x96:9f", "frames": 9, "source_size": [96, 128]}
    assert rec.params["offload_video_to_cpu"] is True and rec.params["offload_state_to_cpu"] is False
    assert rec.params["steady_from_frame"] == 7 and rec.params["resolution"] == [256, 256]
    m = rec.metrics
    assert (m["frames"], m["frames_run"], m["objects"], m["steady_from_frame"]) == (9, 9, 2, 7)
    assert m["source_resolution"] == [96, 128] and m["model_resolution"] == [256, 256]
    assert m["load_s"] > 0 and m["prompt_s"] > 0 and m["restarts"] == 0
    # fps from the workload's own frame times agree with the harness's samples of the same frames.
    assert m["fps_steady"] == pytest.approx(2 / sum(rec.samples_s), rel=0.05)
    assert m["fps_warmup"] == pytest.approx(7 / sum(rec.stats["warmup_s"]), rel=0.05)
    assert [f["frame"] for f in m["memory_by_frame"]] == list(range(9))
    assert all(f["bytes"] > 0 for f in m["memory_by_frame"]) and m["memory_kind"] == "host_rss_bytes"
    # FLOPs per frame: the image encoder once, every object's tracking at a full memory bank.
    from segbench.cost.counting import count
    from segbench.families.costs import model_counts
    from segbench.families.registry import build_on_meta

    meta = build_on_meta("sam2.1-tiny", (256, 256))
    encoder = count(lambda: meta.forward_image(torch.empty(1, 3, 256, 256, device="meta")))[0].flops
    tracking = model_counts("sam2.1-tiny", (256, 256)).block("video_step", rec.precision).flops
    assert tracking > 0.2 * encoder  # memory attention over 7 frames is no small part of a frame
    assert rec.flops["per_step"] == rec.flops["per_item"] == pytest.approx(encoder + 2 * tracking, rel=1e-9)


# -- the command line with real files --------------------------------------------------------------------

VIDEO_ARGS = [
    "--workload",
    "video",
    "--model",
    "sam2.1-tiny",
    "--model-size",
    "256",
    "--batch-sizes",
    "1",
    "--device",
    "cpu",
    "--precision",
    "fp32",
    "--no-flops",
    "--telemetry-interval",
    "0",
    "--json",
]


@pytest.mark.slow
def test_cli_runs_on_an_mp4(in_tmp, cli_runner):
    # Frame folders go through the same reader (inputs.read_video, tested with the inputs) into the same path.
    path = write_mp4(synthetic_clip(8, (72, 96), objects=1), in_tmp / "clip.mp4")
    result = cli_runner.invoke(cli, ["run", *VIDEO_ARGS, "--input", str(path), "-o", "r.jsonl"])
    assert result.exit_code == 0, result.output
    (printed,) = json.loads(result.stdout)
    assert printed["status"] == "ok" and printed["input"]["source"] == "file" and printed["input"]["path"] == str(path)
    assert printed["metrics"]["frames"] == 8 and printed["metrics"]["source_resolution"] == [72, 96]
    assert printed["metrics"]["decode_s"] > 0
    assert printed["settings"]["warmup"] == 7 and printed["stats"]["latency_s"]["n"] == 1


def _not_a_video(d):
    path = d / "notes.mp4"
    path.write_text("not a video")
    return path


def _empty_folder(d):
    (d / "empty").mkdir()
    return d / "empty"


def _no_frames(d):
    path = d / "hollow.avi"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 24)).release()
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (_no_frames, "holds no frames"),
        (_empty_folder, "no JPEG or PNG frames"),
        (_not_a_video, "cannot open this as a video"),
    ],
)
def test_cli_bad_videos_are_one_line_and_exit_2_before_any_model_loads(in_tmp, cli_runner, make, message):
    result = cli_runner.invoke(cli, ["run", *VIDEO_ARGS, "--input", str(make(in_tmp)), "-o", "r.jsonl"])
    assert message in one_line_error(result)
    assert "random weights" not in result.stderr  # refused before the model was built
    assert not (in_tmp / "r.jsonl").exists()


def test_clip_frames_reach_the_predictor_as_jpegs_in_sam2_layout(tmp_path):
    """The adapter between our clips and sam2's loader: 00000.jpg... that sam2's own reader accepts."""
    from sam2.utils.misc import load_video_frames

    clip = synthetic_clip(3, (48, 64))
    folder = write_jpeg_folder(clip, tmp_path / "f")
    images, h, w = load_video_frames(str(folder), 64, offload_video_to_cpu=True, compute_device=CPU)
    assert images.shape == (3, 3, 64, 64) and (h, w) == (48, 64)
    assert np.isfinite(images.numpy()).all()
