"""SAM 2.1 video tracking through sam2's video predictor: objects prompted on one frame and
propagated frame by frame (the harness side is `segbench.workloads.tracking`).

The first step is the prompted frame, whose mask the prompt already decoded: it only encodes it
into memory. Loading the clip (`init_state`: JPEG decoding, resizing, the first frame's features)
is timed apart as `load_s`, the prompts as `prompt_s`.

`SamTracking` is the sam2 machinery; `SamVideo` feeds it a clip, and `SamVolume` a volume's slices,
the MedSAM2 way: a prompt on the middle slice propagated up and down the stack.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from segbench.cost.footprint import Query
from segbench.errors import InputError
from segbench.inputs.video import Clip, write_jpeg_folder
from segbench.measure.harness import Measurement
from segbench.measure.oom import release_memory
from segbench.workloads.base import WorkloadOptions, check_prompts_inside
from segbench.workloads.tracking import ClipTracking, Tracking, timed
from segbench.workloads.volume import CT_WINDOW, check_volume_input, slices_as_frames, volume_for


@functools.cache
def _quiet_sam2_progress() -> None:
    """sam2 draws tqdm bars while loading frames and on every propagated frame; they would tear
    through segbench's own progress display, so its module-level `tqdm` becomes a disabled one."""
    import sam2.sam2_video_predictor as video_predictor
    from sam2.utils import misc
    from tqdm import tqdm

    quiet = functools.partial(tqdm, disable=True)
    video_predictor.tqdm = quiet
    misc.tqdm = quiet


def add_prompts(predictor, state: dict, prompts: list[tuple[float, ...]], kind: str, frame: int) -> None:
    """One object per prompt on `frame`: a box (x0, y0, x1, y1) or one positive click (x, y)."""
    for obj_id, coords in enumerate(prompts, start=1):
        if kind == "box":
            extra = {"box": np.asarray(coords, dtype=np.float32)}
        else:
            extra = {"points": np.asarray([coords], dtype=np.float32), "labels": np.ones(1, dtype=np.int32)}
        predictor.add_new_points_or_box(state, frame_idx=frame, obj_id=obj_id, **extra)


class Propagation:
    """One loaded clip in the SAM 2.1 video predictor, advanced one frame per `next_frame()`.

    Prompts go on `prompt_frame`; propagation runs forward to the last frame, then (when the prompt
    is not on frame 0) backward to the first, as MedSAM2 does from a key slice. Every frame is
    yielded once. When the clip is done, the next call starts over (reset_state, prompts again).
    """

    def __init__(self, predictor, state: dict, prompts: list[tuple[float, ...]], kind: str, prompt_frame: int) -> None:
        self.predictor = predictor
        self.state = state
        self.prompts = prompts
        self.kind = kind
        self.prompt_frame = prompt_frame
        self.restarts = 0
        self._frames: Iterator[tuple[int, Any, torch.Tensor]] | None = None

    def prompt(self) -> None:
        """Clear the clip's tracking and place one point or box per object on the prompt frame."""
        self.predictor.reset_state(self.state)
        add_prompts(self.predictor, self.state, self.prompts, self.kind, self.prompt_frame)
        self._frames = self._order()

    def _order(self) -> Iterator[tuple[int, Any, torch.Tensor]]:
        yield from self.predictor.propagate_in_video(self.state, start_frame_idx=self.prompt_frame)
        if self.prompt_frame > 0:
            backward = self.predictor.propagate_in_video(self.state, start_frame_idx=self.prompt_frame, reverse=True)
            next(backward)  # the prompted frame again, already yielded going forward
            yield from backward

    def next_frame(self) -> tuple[int, torch.Tensor]:
        """(frame index, masks thresholded and on the host, as sam2's video notebook keeps them)."""
        if self._frames is None:
            self.prompt()
        assert self._frames is not None
        try:
            frame_idx, _, logits = next(self._frames)
        except StopIteration:
            self.restarts += 1
            self.prompt()
            frame_idx, _, logits = next(self._frames)
        return frame_idx, (logits > 0.0).cpu()


def _has_sam2_extension(device: torch.device) -> bool:
    """sam2 fills small holes in masks with its compiled CUDA extension; without it (or on a CPU) it warns and skips."""
    if device.type != "cuda":
        return False
    try:
        from sam2 import _C  # noqa: F401
    except ImportError:
        return False
    return True


class SamTracking(Tracking):
    """The SAM 2.1 video predictor over a clip; subclasses say which clip and where the prompt goes."""

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        self.predictor = model.module
        # The bank holds the prompted frame and the num_maskmem-1 latest ones: full from step num_maskmem on.
        self.num_maskmem = int(self.predictor.num_maskmem)
        super().__init__(model, device, options)
        _quiet_sam2_progress()
        self._propagation: Propagation | None = None
        if getattr(self.predictor, "fill_hole_area", 0) > 0 and not _has_sam2_extension(device):
            self.notes.append(
                f"{self.name}: sam2's hole filling of masks is skipped (it needs sam2's CUDA extension "
                "on a GPU), so post-processing is a little cheaper here than on a full install"
            )

    def release(self) -> None:
        self._propagation = None  # the clip's frames and memory bank, on the device

    def _load(self, batch_size: int) -> tuple[dict, list[tuple[float, ...]], dict[str, Any]]:
        """The clip in the predictor (`init_state` on a JPEG folder, as the sam2 README does), its
        prompts, and the run's untimed figures."""
        self._propagation = None  # the previous batch size's state (frames, memory bank) goes first
        release_memory()
        clip = self.clip_for(batch_size)
        with tempfile.TemporaryDirectory(prefix="segbench-frames-") as tmp:
            # sam2 1.1.0's init_state reads a JPEG folder (its MP4 path needs decord); the frames
            # are in memory once it returns, so the folder goes right away.
            folder = Path(tmp) / "frames"
            jpeg_write_s = self.timer(lambda: write_jpeg_folder(clip, folder))
            state, load_s = timed(
                self.timer,
                lambda: self.predictor.init_state(
                    str(folder),
                    offload_video_to_cpu=self.options.offload_video_to_cpu,
                    offload_state_to_cpu=self.options.offload_state_to_cpu,
                ),
            )
        run = self.start_run(clip, batch_size, load_s, jpeg_write_s=jpeg_write_s)
        return state, self.prompts_for(clip, batch_size), run

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        state, prompts, run = self._load(batch_size)
        propagation = Propagation(self.predictor, state, prompts, self.options.prompt, self.prompt_frame)
        run["prompt_s"] = self.timer(propagation.prompt)
        self._propagation = propagation
        return self.frame_step(lambda: propagation.next_frame()[0])

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "offload_video_to_cpu": self.options.offload_video_to_cpu,
            "offload_state_to_cpu": self.options.offload_state_to_cpu,
            "vos_optimized": self.model.options.get("vos_optimized", False),
            "timed": "one step = one frame of propagate_in_video (image encoder once; memory attention, mask "
            "decoder and memory encoder per object), masks thresholded and moved to the host",
            # sam2 casts memory features to bf16 for storage at any precision; compute follows the autocast.
            "memory_bank_dtype": "bfloat16",
        }

    def metrics(self, measurement: Measurement) -> dict[str, Any]:
        out = super().metrics(measurement)
        if out:
            out["restarts"] = self._propagation.restarts if self._propagation else 0
        return out


class SamVideo(SamTracking, ClipTracking):
    """SAM 2.1 video predictor on a clip: --input video file or frame folder, else a synthetic clip
    with one moving object per tracked object."""

    name = "video"

    official_loop = ("the sam2 README's video loop: init_state on the JPEG folder, add_new_points_or_box per "
                     "object on the prompt frame, propagate_in_video, masks kept per frame as (logits > 0).cpu().numpy()")

    def official(self, batch_size: int) -> Callable[[], Any]:
        state, prompts, run = self._load(batch_size)
        segments: dict[int, dict[int, np.ndarray]] = {}
        frames: Iterator[tuple[int, Any, torch.Tensor]] | None = None

        def prompt() -> None:
            nonlocal frames  # on the fresh state init_state made: no reset_state, as in the README
            add_prompts(self.predictor, state, prompts, self.options.prompt, self.prompt_frame)
            frames = self.predictor.propagate_in_video(state)

        run["prompt_s"] = self.timer(prompt)

        def advance() -> int:
            # The README's loop body, one yielded frame at a time (one pass: settings_for times each frame once).
            assert frames is not None
            frame_idx, obj_ids, logits = next(frames)
            segments[frame_idx] = {obj_id: (logits[i] > 0.0).cpu().numpy() for i, obj_id in enumerate(obj_ids)}
            return frame_idx

        return self.frame_step(advance)

class SamVolume(SamTracking):
    """SAM 2.1 on a volume: slices as frames, prompts on the middle slice, propagated both ways.

    Batch size = objects tracked at once; one step = one slice. `options.extra["prompt_slice"]`
    may be "first" to prompt slice 0 and propagate one way only.
    """

    name = "volume"
    item_unit = "slice"
    PROMPT_SLICES = ("middle", "first")

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.prompt_slice = str(options.extra.get("prompt_slice", "middle"))
        if self.prompt_slice not in self.PROMPT_SLICES:
            raise InputError(f"prompt_slice must be one of {', '.join(self.PROMPT_SLICES)}, got '{self.prompt_slice}'")
        volume, self._input = volume_for(options)
        self.volume_whd = volume.shape_whd
        self._clip = Clip(slices_as_frames(volume.array), None, volume.source)
        check_prompts_inside(options, *self._clip.source_size)
        if not self.steady_state_reached():
            self.notes.append(
                f"volume: {self.n_frames} slices are too few to fill SAM 2.1's memory bank; no steady-state figures"
            )

    @classmethod
    def check_inputs(cls, options: WorkloadOptions) -> None:
        super().check_inputs(options)
        check_volume_input(options)

    @property
    def n_frames(self) -> int:
        return len(self._clip)

    @property
    def prompt_frame(self) -> int:
        return self.n_frames // 2 if self.prompt_slice == "middle" else 0

    def clip_for(self, batch_size: int) -> Clip:
        return self._clip

    def cost_query(self, batch_size: int) -> Query:
        return Query(self.model.spec.name, self.name, batch_size=batch_size, model_size=(self.size, self.size),
                     volume=tuple(self.volume_whd), offload_video_to_cpu=self.options.offload_video_to_cpu,
                     offload_state_to_cpu=self.options.offload_state_to_cpu)

    def input_info(self) -> dict[str, Any]:
        return dict(self._input)

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "prompt_slice": self.prompt_slice,
            "volume_whd": list(self.volume_whd),
            "windowing": f"clip {CT_WINDOW[0]:g}..{CT_WINDOW[1]:g} to uint8, grey in 3 channels",
        }

    def metrics(self, measurement: Measurement) -> dict[str, Any]:
        out = super().metrics(measurement)
        if out and out["frames_run"]:
            # The whole stack once: the prompt and every slice's propagation (loading apart).
            propagation_s = sum(measurement.warmup_s) + sum(measurement.samples_s)
            seconds = out["prompt_s"] + propagation_s
            out["seconds_per_volume"] = seconds
            out["slices_per_s"] = out["frames_run"] / propagation_s
            out["voxels_per_s"] = int(np.prod(self.volume_whd)) / seconds if seconds > 0 else None
        return out
