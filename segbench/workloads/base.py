"""The interface between workloads and the harness: inputs prepared once, a `step()` to time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Protocol

import torch

from segbench import limits as L
from segbench.errors import InputError
from segbench.measure.harness import Measurement, MeasureSettings
from segbench.workload_catalog import AUTO_MASKS, FULL


class Model(Protocol):
    """What a workload knows of its model: `segbench.families.base.LoadedModel` is one. Everything a
    workload needs comes with it, so workloads never ask the registry (and sit below the families)."""

    spec: Any  # the registry entry: name, family, config, published size
    module: Any  # the torch.nn.Module (or the library's predictor) that runs
    weights: str  # "pretrained" | "random"
    checkpoint: str | None
    resolution: tuple[int, ...]  # the model input size it was built at
    classes: int | None  # output classes, where the model has them
    check_roi: Callable[[tuple[int, ...]], Any] | None  # the family's check of a sliding window
    options: dict[str, Any]  # the family's own options, defaults filled in


@dataclass
class WorkloadOptions:
    """Everything a workload may take from the command line; each workload reads what it needs."""

    inputs: tuple[str, ...] = ()  # image files/folders, a video, a volume; empty: synthetic
    source_size: tuple[int, int] | None = None  # (h, w) of synthetic images and frames; None: the defaults
    video_size: tuple[int, int] = FULL.video_size  # (h, w) of synthetic frames when source_size is None
    points_per_side: int = FULL.points_per_side  # auto: the point grid of the automatic mask generator
    points_per_batch: int = FULL.points_per_batch  # auto: points decoded per forward of the mask decoder
    auto_mode: str = "relaxed"  # auto: "default" thresholds or "relaxed" (a stated post-processing load)
    auto_masks: int = AUTO_MASKS  # auto, relaxed: masks kept per image (the load of the output stage)
    frames: int = FULL.frames  # video: clip length when synthetic
    prompt: str = "point"  # video/volume-sam: "point" or "box" on the first frame
    points: tuple[tuple[float, float], ...] = ()  # user prompts (x, y) in input pixels; empty: generated
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # user boxes (x0, y0, x1, y1) in input pixels
    offload_video_to_cpu: bool = False
    offload_state_to_cpu: bool = False
    volume: tuple[int, int, int] | None = None  # volume: synthetic phantom size (w, h, d)
    roi: tuple[int, int, int] | None = None  # volume: sliding-window size (w, h, d)
    overlap: float = FULL.overlap
    aggregate_on: str = "device"  # volume: where sliding-window outputs are stitched ("cpu" or "device")
    depths: tuple[int, ...] | None = None  # volume: extra depths for the memory-vs-depth curve; None: the device's
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    # The stated limits of each field (segbench.limits); a field's type comes from its annotation.
    RULES: ClassVar[dict[str, L.Rule]] = {
        "inputs": L.Rule(), "source_size": L.Rule(L.FRAME_SIDE), "video_size": L.Rule(L.FRAME_SIDE),
        "points_per_side": L.Rule(L.POINTS_PER_SIDE), "points_per_batch": L.Rule(L.POINTS_PER_BATCH),
        "auto_mode": L.Rule(choices=("relaxed", "default")), "auto_masks": L.Rule(L.AUTO_MASKS),
        "frames": L.Rule(L.FRAMES), "prompt": L.Rule(choices=("point", "box")),
        "points": L.Rule(L.PROMPT_COORDINATE, items=L.MAX_PROMPTS),
        "boxes": L.Rule(L.PROMPT_COORDINATE, items=L.MAX_PROMPTS),
        # Every side within the widest of the plane's and the depth's bounds; `check` narrows w and h.
        "volume": L.Rule((min(L.VOLUME_PLANE_SIDE[0], L.VOLUME_DEPTH[0]),
                          max(L.VOLUME_PLANE_SIDE[1], L.VOLUME_DEPTH[1]))),
        "roi": L.Rule(L.ROI_SIDE), "overlap": L.Rule(L.OVERLAP), "aggregate_on": L.Rule(choices=("device", "cpu")),
        "depths": L.Rule(L.VOLUME_DEPTH, items=L.MAX_DEPTHS), "seed": L.Rule(L.SEED),
    }

    def check(self, where: str = "options", path: str = "") -> None:
        """Types and the stated limits: a one-line InputError naming the field."""
        L.check_fields(self, self.RULES, where, path)
        if self.volume is not None:
            w, h, _ = self.volume
            if not all(L.VOLUME_PLANE_SIDE[0] <= side <= L.VOLUME_PLANE_SIDE[1] for side in (w, h)):
                raise InputError(f"{where}: {path}volume width and height must be between {L.VOLUME_PLANE_SIDE[0]} "
                                 f"and {L.VOLUME_PLANE_SIDE[1]}, got {L.shown(self.volume)}")
            if w * h * self.volume[2] > L.MAX_VOLUME_VOXELS:
                raise InputError(f"{where}: {path}volume has more than {L.MAX_VOLUME_VOXELS:,} voxels")
        for x0, y0, x1, y1 in self.boxes:
            if x1 <= x0 or y1 <= y0:
                raise InputError(f"{where}: {path}boxes need x1 > x0 and y1 > y0, got {L.shown((x0, y0, x1, y1))}")


class Workload(ABC):
    """One use of a model. Subclasses set `name` and `item_unit` and implement the abstract methods."""

    name: str = ""
    item_unit: str = "image"
    purpose: str = "image"  # what the model must be built for: "image", or "video" (SAM 2.1's video predictor)
    # What one timed step covers (the advisor's scopes): "encoder" (the network's forward alone) or
    # "predictor" (the library call a user makes, its pre- and post-processing included).
    scope: str = "predictor"
    # True for a step that needs autograd (a training step): the harness then runs it with gradients
    # on instead of under inference_mode.
    grad: bool = False
    # Axes a plan may sweep on this workload (`segbench.bench.sweeps`): axis -> value -> the options it
    # sets. The first value, "none", leaves the options as given. Tracking declares "offload".
    sweeps: dict[str, dict[str, dict[str, Any]]] = {}

    def __init__(self, model: Model, device: torch.device, options: WorkloadOptions) -> None:
        self.model = model
        self.device = device
        self.options = options
        self.notes: list[str] = []

    @classmethod
    def check_inputs(cls, options: WorkloadOptions) -> None:
        """Read the user's inputs once before any model loads, so a bad file fails fast."""

    @abstractmethod
    def prepare(self, batch_size: int) -> Callable[[], Any]:
        """Make inputs for one batch size and return the step to time (inputs already on the device)."""

    def settings_for(self, settings: MeasureSettings) -> MeasureSettings:
        """The harness settings this workload needs; e.g. video times frames, with the memory-bank
        fill-up as its warm-up. Default: the plan's settings unchanged."""
        return settings

    def release(self) -> None:
        """Drop what one point built (frames, memory banks) before the next point's memory is measured."""

    def items_per_step(self, batch_size: int) -> int:
        return batch_size

    def supports_batch_size(self, batch_size: int) -> bool:
        return batch_size >= 1

    def cost_query(self, batch_size: int) -> Any:
        """This point as a `segbench.cost.Query`, from which its FLOPs are counted (the advisor's
        footprints, counted on the meta device); None where the work is not countable."""
        return None

    def params(self) -> dict[str, Any]:
        """Parameters that change the cost, recorded and used to match records."""
        return {"resolution": list(self.model.resolution), "scope": self.scope}

    def input_info(self) -> dict[str, Any]:
        """{"source", "key", ...}: `key` identifies the input for `compare`."""
        return {"source": "synthetic", "key": "synthetic"}

    def network(self) -> Any:
        """The `segbench.backends.NetworkSlot` the step calls, which --compile / --backend may replace and
        whose outputs the fidelity check compares; None where the step has no such single network."""
        return None

    # What `official()` runs, in words (None: the workload offers no official loop).
    official_loop: str | None = None

    # False where the official loop does other work than segbench's step on purpose (automatic masks
    # without a kept-mask cap): a row to look at, not a reference to state a speed-up against.
    official_same_work: bool = True

    def official_params(self) -> dict[str, Any]:
        """What differs in the official row's params from segbench's step (merged into its record)."""
        return {"timed": self.official_loop}

    def official(self, batch_size: int) -> Callable[[], Any] | None:
        """The model library's own documented loop over the same inputs as `prepare(batch_size)`, as a
        user writes it from the library's README (its `--backend official`), or None where there is
        none. It is what segbench's step is checked against: the two should agree."""
        return None

    def metrics(self, measurement: Measurement) -> dict[str, Any]:
        """Workload-specific results from the point's measurement (masks produced, fps, ...)."""
        return {}


def check_prompts_inside(options: WorkloadOptions, height: int, width: int) -> None:
    """User prompts must fall on the image: SAM would silently decode a mask for nothing."""
    for x, y in options.points:
        if not (0 <= x < width and 0 <= y < height):
            raise InputError(f"--point {x:g},{y:g} is outside the {width}x{height} image")
    for x0, y0, x1, y1 in options.boxes:
        if not (0 <= x0 < width and 0 <= y0 < height and x1 <= width and y1 <= height):
            raise InputError(f"--box {x0:g},{y0:g},{x1:g},{y1:g} is outside the {width}x{height} image")
