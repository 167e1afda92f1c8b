"""Video tracking as the harness sees it: objects prompted on one frame, propagated frame by frame.

One harness step is one propagated frame, so the harness's samples are per-frame latencies. A
SAM-style tracker's memory bank fills over its first `num_maskmem` frames and each of them costs
more than the last; they are the harness's warm-up (giving `fps_warmup`), and the rest of the clip
is timed (`fps_steady` and the per-frame percentiles). Loading the clip is timed apart as `load_s`,
the prompts as `prompt_s`, and the memory held after every frame goes into `memory_by_frame`.

`Tracking` is what every tracker shares; a family's subclass loads the clip into its library and
advances it. `ClipTracking` adds where the clip comes from: `--input` (a video file or a frame
folder) or a synthetic clip with one moving object per tracked object.
"""

from __future__ import annotations

import dataclasses
import math
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil
import torch

from segbench.cost.footprint import Query
from segbench.errors import InputError
from segbench.inputs.video import Clip, ObjectPrompt, read_video, synthetic_clip
from segbench.measure.harness import Measurement, MeasureSettings, Timer
from segbench.workloads.base import Workload, WorkloadOptions, check_prompts_inside

PROMPT_KINDS = ("point", "box")

# Where a SAM-style video predictor keeps a clip (`run --offload`): the memory/speed trade of a small
# GPU, swept as an axis. "video": the decoded frames in host RAM; "state": the memory bank.
OFFLOADS: dict[str, dict[str, Any]] = {
    "none": {},
    "video": {"offload_video_to_cpu": True, "offload_state_to_cpu": False},
    "state": {"offload_video_to_cpu": False, "offload_state_to_cpu": True},
    "both": {"offload_video_to_cpu": True, "offload_state_to_cpu": True},
}

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


def check_prompt(options: WorkloadOptions) -> None:
    if options.prompt not in PROMPT_KINDS:
        raise InputError(f"prompt must be one of {', '.join(PROMPT_KINDS)}, got '{options.prompt}'")
    if options.prompt == "point" and options.boxes and not options.points:
        raise InputError("--box given but the prompt kind is point: add --prompt box")
    if options.prompt == "box" and options.points and not options.boxes:
        raise InputError("--point given but the prompt kind is box: use --box X0,Y0,X1,Y1 or --prompt point")


def one_clip(options: WorkloadOptions) -> str | None:
    """The one --input path of a video run, or None for a synthetic clip."""
    if len(options.inputs) > 1:
        raise InputError(
            f"the video workload takes one --input (a video file or a frame folder), got {len(options.inputs)}"
        )
    return options.inputs[0] if options.inputs else None


def memory_kind(device: torch.device) -> str:
    return "gpu_allocated_bytes" if device.type == "cuda" else "host_rss_bytes"


def rate(seconds: list[float]) -> float | None:
    total = sum(seconds)
    return len(seconds) / total if seconds and total > 0 else None


class Tracking(Workload):
    """A tracker over a clip; subclasses load it into their library and say which clip it is.

    Batch size = objects tracked at once. One step = one frame. A subclass sets `num_maskmem`
    (the frames its memory bank holds) before calling this `__init__`.
    """

    purpose = "video"
    item_unit = "frame"
    num_maskmem: int = 7
    sweeps = {"offload": OFFLOADS}

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        check_prompt(options)
        self.size = int(model.resolution[0])
        self.timer = Timer(device)
        self._process = psutil.Process()
        self._run: dict[str, Any] = {}
        self.restarts = 0

    @classmethod
    def check_inputs(cls, options: WorkloadOptions) -> None:
        check_prompt(options)

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

    def start_run(self, clip: Clip, batch_size: int, load_s: float, **untimed: float) -> dict[str, Any]:
        """The run's untimed figures, filled in as the clip is loaded and prompted."""
        self._run = {"objects": batch_size, "load_s": load_s, **untimed, "source_size": list(clip.source_size),
                     "memory_by_frame": []}
        return self._run

    def frame_step(self, advance: Callable[[], int]) -> Callable[[], None]:
        """The timed step: one frame advanced, and the memory held after it."""
        run = self._run

        def step() -> None:
            frame_idx = advance()
            run["memory_by_frame"].append({"frame": frame_idx, "bytes": self._memory_now()})

        return step

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
            "flops_counted": "per frame: image encoder once + every object's tracking at a full memory bank",
        }

    def metrics(self, measurement: Measurement) -> dict[str, Any]:
        run = self._run
        if not run:
            return {}
        # The harness's warm-up iterations are the frames that fill the memory bank (settings_for).
        warm, steady = measurement.warmup_s, measurement.samples_s
        times = warm + steady
        untimed = {k: v for k, v in run.items() if k not in ("objects", "source_size", "memory_by_frame")}
        return {
            "frames": self.n_frames,
            "frames_run": len(times),
            "objects": run["objects"],
            "prompt": self.options.prompt,
            "prompt_frame": self.prompt_frame,
            "steady_from_frame": self.warmup_frames,
            "steady_state_reached": self.steady_state_reached(),
            "fps_steady": rate(steady) if self.steady_state_reached() else None,
            "fps_warmup": rate(warm),
            **untimed,
            "source_resolution": run["source_size"],
            "model_resolution": [self.size, self.size],
            "memory_kind": memory_kind(self.device),
            "memory_by_frame": run["memory_by_frame"],
            "restarts": self.restarts,
        }


class ClipTracking(Tracking):
    """A tracker on a clip: --input video file or frame folder, else a synthetic clip with one
    moving object per tracked object."""

    name = "video"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self._clip: Clip | None = None
        self._decode_s: float | None = None
        path = one_clip(options)
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
        path = one_clip(options)
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
            out["decode_s"] = self._decode_s  # reading the file with OpenCV, before the tracker sees it
        return out
