"""SAM 2.1 video tracking: objects prompted on one frame and propagated frame by frame through a clip.

One harness step is one propagated frame, so the harness's samples are per-frame latencies. The
memory bank fills over the first `num_maskmem` frames (7 for every SAM 2.1 size) and each of them
costs more than the last; they are the harness's warm-up (giving `fps_warmup`), and the rest of the
clip is timed (`fps_steady` and the per-frame percentiles). The first step is the prompted frame,
whose mask the prompt already decoded: it only encodes it into memory. Loading the clip (`init_state`:
JPEG decoding, resizing, the first frame's features) is timed apart as `load_s`, the prompts as `prompt_s`.

`SamTracking` is the machinery; `SamVideo` feeds it a clip, and `SamVolume` a volume's slices, the
MedSAM2 way: a prompt on the middle slice propagated up and down the stack.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tempfile
from abc import abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import psutil
import torch

from segbench.cost.footprint import Query
from segbench.errors import InputError
from segbench.inputs.video import Clip, ObjectPrompt, read_video, synthetic_clip, write_jpeg_folder
from segbench.measure.harness import Measurement, MeasureSettings, Timer
from segbench.measure.oom import release_memory
from segbench.workloads.base import Workload, WorkloadOptions, check_prompts_inside
from segbench.workloads.volume import CT_WINDOW, check_volume_input, slices_as_frames, volume_for

PROMPT_KINDS = ("point", "box")

T = TypeVar("T")


def timed(timer: Timer, fn: Callable[[], T]) -> tuple[T, float]:
    """(fn's result, seconds) with the harness's clock (device synchronised around it)."""
    box: list[T] = []
    seconds = timer(lambda: box.append(fn()))
    return box[0], seconds


def grid_prompts(size: tuple[int, int], n: int) -> list[ObjectPrompt]:
    """`n` prompts laid out one per grid cell of an (h, w) frame: its centre and the middle half of it.

    For clips and volumes whose objects are unknown (a user's file): cost does not depend on what is
    under a prompt, only on how many objects are tracked.
    """
    h, w = size
    cols = max(1, math.ceil(math.sqrt(n * w / h)))
    rows = math.ceil(n / cols)
    cell_h, cell_w = h / rows, w / cols
    prompts = []
    for i in range(n):
        r, c = divmod(i, cols)
        cy, cx = (r + 0.5) * cell_h, (c + 0.5) * cell_w
        box = (
            int(cx - cell_w / 4),
            int(cy - cell_h / 4),
            max(int(cx + cell_w / 4), int(cx) + 1),
            max(int(cy + cell_h / 4), int(cy) + 1),
        )
        prompts.append(ObjectPrompt(point=(int(cx), int(cy)), box=box))
    return prompts


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


def _check_prompt(options: WorkloadOptions) -> None:
    if options.prompt not in PROMPT_KINDS:
        raise InputError(f"prompt must be one of {', '.join(PROMPT_KINDS)}, got '{options.prompt}'")
    if options.prompt == "point" and options.boxes and not options.points:
        raise InputError("--box given but the prompt kind is point: add --prompt box")
    if options.prompt == "box" and options.points and not options.boxes:
        raise InputError("--point given but the prompt kind is box: use --box X0,Y0,X1,Y1 or --prompt point")


def _one_clip(options: WorkloadOptions) -> str | None:
    """The one --input path of a video run, or None for a synthetic clip."""
    if len(options.inputs) > 1:
        raise InputError(
            f"the video workload takes one --input (a video file or a frame folder), got {len(options.inputs)}"
        )
    return options.inputs[0] if options.inputs else None


def _has_sam2_extension(device: torch.device) -> bool:
    """sam2 fills small holes in masks with its compiled CUDA extension; without it (or on a CPU) it warns and skips."""
    if device.type != "cuda":
        return False
    try:
        from sam2 import _C  # noqa: F401
    except ImportError:
        return False
    return True


def _memory_kind(device: torch.device) -> str:
    return "gpu_allocated_bytes" if device.type == "cuda" else "host_rss_bytes"


class SamTracking(Workload):
    """The SAM 2.1 video predictor over a clip; subclasses say which clip and where the prompt goes.

    Batch size = objects tracked at once. One step = one frame.
    """

    purpose = "video"
    item_unit = "frame"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        _check_prompt(options)
        _quiet_sam2_progress()
        self.size = int(model.resolution[0])
        self.predictor = model.module
        self.timer = Timer(device)
        # The bank holds the prompted frame and the num_maskmem-1 latest ones: full from step num_maskmem on.
        self.num_maskmem = int(self.predictor.num_maskmem)
        self._process = psutil.Process()
        self._propagation: Propagation | None = None
        self._run: dict[str, Any] = {}
        if getattr(self.predictor, "fill_hole_area", 0) > 0 and not _has_sam2_extension(device):
            self.notes.append(
                f"{self.name}: sam2's hole filling of masks is skipped (it needs sam2's CUDA extension "
                "on a GPU), so post-processing is a little cheaper here than on a full install"
            )

    @classmethod
    def check_inputs(cls, options: WorkloadOptions) -> None:
        _check_prompt(options)

    # -- what subclasses provide -------------------------------------------------------------
    @property
    @abstractmethod
    def n_frames(self) -> int:
        """Frames (or slices) in the clip."""

    @property
    def prompt_frame(self) -> int:
        return 0

    @abstractmethod
    def clip_for(self, batch_size: int) -> Clip:
        """The clip to track `batch_size` objects in."""

    generated_prompts = "grid"  # where prompts come from when the user gives none

    @property
    def prompt_source(self) -> str:
        given = self.options.boxes if self.options.prompt == "box" else self.options.points
        return "user" if given else self.generated_prompts

    def prompts_for(self, clip: Clip, batch_size: int) -> list[tuple[float, ...]]:
        """One prompt of the chosen kind per object: the user's (cycled to fill the batch), else the
        synthetic clip's own objects, else a grid over the frame."""
        box = self.options.prompt == "box"
        given = self.options.boxes if box else self.options.points
        if given:
            return [tuple(given[i % len(given)]) for i in range(batch_size)]
        found = clip.objects if len(clip.objects) >= batch_size else grid_prompts(clip.source_size, batch_size)
        return [p.box if box else p.point for p in found[:batch_size]]

    # -- the harness interface ------------------------------------------------------------------
    @property
    def warmup_frames(self) -> int:
        """Frames run before the memory bank is full (at least one frame stays for timing)."""
        return max(0, min(self.num_maskmem, self.n_frames - 1))

    def steady_state_reached(self) -> bool:
        return self.n_frames > self.num_maskmem

    def settings_for(self, settings: MeasureSettings) -> MeasureSettings:
        # Exactly one pass over the clip: the filling frames as warm-up, every later frame timed once.
        timed_frames = self.n_frames - self.warmup_frames
        return dataclasses.replace(
            settings, warmup=self.warmup_frames, min_iters=timed_frames, max_iters=timed_frames, min_time_s=0.0
        )

    def items_per_step(self, batch_size: int) -> int:
        return 1  # one frame, whatever the number of objects

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
        self._run = {
            "objects": batch_size,
            "load_s": load_s,
            "jpeg_write_s": jpeg_write_s,
            "source_size": list(clip.source_size),
            "memory_by_frame": [],
        }
        return state, self.prompts_for(clip, batch_size), self._run

    def _frame_step(self, advance: Callable[[], int]) -> Callable[[], None]:
        run = self._run

        def step() -> None:
            frame_idx = advance()
            run["memory_by_frame"].append({"frame": frame_idx, "bytes": self._memory_now()})

        return step

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        state, prompts, run = self._load(batch_size)
        propagation = Propagation(self.predictor, state, prompts, self.options.prompt, self.prompt_frame)
        run["prompt_s"] = self.timer(propagation.prompt)
        self._propagation = propagation
        return self._frame_step(lambda: propagation.next_frame()[0])

    def _memory_now(self) -> int:
        if self.device.type == "cuda":
            return int(torch.cuda.memory_allocated(self.device))
        return int(self._process.memory_info().rss)

    def cost_query(self, batch_size: int) -> Query:
        """One steady frame: the image encoder once, each object's tracking at a full memory bank."""
        return Query(self.model.spec.name, self.name, batch_size=batch_size, model_size=(self.size, self.size),
                     resolution=tuple(self.source_size), frames=self.n_frames,
                     offload_video_to_cpu=self.options.offload_video_to_cpu,
                     offload_state_to_cpu=self.options.offload_state_to_cpu)

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "frames": self.n_frames,
            "prompt": self.options.prompt,
            "prompt_frame": self.prompt_frame,
            "prompt_source": self.prompt_source,
            "num_maskmem": self.num_maskmem,
            "steady_from_frame": self.warmup_frames,
            "offload_video_to_cpu": self.options.offload_video_to_cpu,
            "offload_state_to_cpu": self.options.offload_state_to_cpu,
            "vos_optimized": self.options.vos_optimized,
            "timed": "one step = one frame of propagate_in_video (image encoder once; memory attention, mask "
            "decoder and memory encoder per object), masks thresholded and moved to the host",
            "flops_counted": "per frame: image encoder once + every object's tracking at a full memory bank",
            # sam2 casts memory features to bf16 for storage at any precision; compute follows the autocast.
            "memory_bank_dtype": "bfloat16",
        }

    def metrics(self, measurement: Measurement) -> dict[str, Any]:
        run = self._run
        if not run:
            return {}
        # The harness's warm-up iterations are the frames that fill the memory bank (settings_for).
        warm, steady = measurement.warmup_s, measurement.samples_s
        times = warm + steady
        objects = run["objects"]
        return {
            "frames": self.n_frames,
            "frames_run": len(times),
            "objects": objects,
            "prompt": self.options.prompt,
            "prompt_frame": self.prompt_frame,
            "steady_from_frame": self.warmup_frames,
            "steady_state_reached": self.steady_state_reached(),
            "fps_steady": _rate(steady) if self.steady_state_reached() else None,
            "fps_warmup": _rate(warm),
            "load_s": run["load_s"],
            "prompt_s": run["prompt_s"],
            "jpeg_write_s": run["jpeg_write_s"],
            "source_resolution": run["source_size"],
            "model_resolution": [self.size, self.size],
            "memory_kind": _memory_kind(self.device),
            "memory_by_frame": run["memory_by_frame"],
            "restarts": self._propagation.restarts if self._propagation else 0,
        }


def _rate(seconds: list[float]) -> float | None:
    total = sum(seconds)
    return len(seconds) / total if seconds and total > 0 else None


class SamVideo(SamTracking):
    """SAM 2.1 video predictor on a clip: --input video file or frame folder, else a synthetic clip
    with one moving object per tracked object."""

    name = "video"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self._clip: Clip | None = None
        self._decode_s: float | None = None
        path = _one_clip(options)
        if path is not None:
            self._clip, self._decode_s = timed(self.timer, lambda: read_video(path))
        self.source_size = self._clip.source_size if self._clip else tuple(options.source_size or options.video_size)
        check_prompts_inside(options, *self.source_size)
        if not self.steady_state_reached():
            self.notes.append(
                f"video: the clip has {self.n_frames} frames, too few to fill the memory bank ({self.num_maskmem}); "
                "no steady-state figures (use --frames 16 or more)"
            )

    @classmethod
    def check_inputs(cls, options: WorkloadOptions) -> None:
        super().check_inputs(options)
        path = _one_clip(options)
        if path is not None:
            read_video(path, max_frames=1)  # opens and decodes: a file that is no video fails before the model loads

    @property
    def n_frames(self) -> int:
        return len(self._clip) if self._clip else int(self.options.frames)

    @property
    def generated_prompts(self) -> str:  # type: ignore[override]
        return "grid" if self._clip else "synthetic objects"

    def clip_for(self, batch_size: int) -> Clip:
        if self._clip is not None:
            return self._clip
        return synthetic_clip(self.n_frames, self.source_size, objects=batch_size, seed=self.options.seed)

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

        return self._frame_step(advance)

    def input_info(self) -> dict[str, Any]:
        h, w = self.source_size
        if self._clip is None:
            return {
                "source": "synthetic",
                "key": f"synthetic:{w}x{h}:{self.n_frames}f",
                "frames": self.n_frames,
                "source_size": [h, w],
            }
        return {
            "source": "file",
            "path": self._clip.source,
            "key": f"file:{Path(self._clip.source).name}:{w}x{h}:{self.n_frames}f",
            "frames": self.n_frames,
            "source_size": [h, w],
            "fps": self._clip.fps,
        }

    def metrics(self, measurement: Measurement) -> dict[str, Any]:
        out = super().metrics(measurement)
        if out and self._decode_s is not None:
            out["decode_s"] = self._decode_s  # reading the file with OpenCV, before sam2 sees it
        return out


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
