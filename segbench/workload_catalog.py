"""The workloads segbench knows, and what each runs on when the user does not say.

One table of defaults for every command: `run` measures, and `check`, `recommend` and `doctor`
predict, the same job unless told otherwise. `--quick` (run and soak only) swaps in the small sizes
that finish in minutes on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass

WORKLOAD_NAMES = ("image", "prompt", "auto", "video", "volume", "train")
DESCRIPTIONS = {
    "image": "one image through the model (SAM: set_image; semantic/panoptic models: a forward pass)",
    "prompt": "a point and a box decoded against a cached image embedding, as a labeling tool does",
    "auto": "automatic masks over a grid of point prompts",
    "video": "objects prompted on one frame and propagated through a clip",
    "volume": "a whole 3D scan: sliding windows, or propagation through its slices",
    "train": "one fine-tuning step (forward, loss, backward, optimiser step) on synthetic images with instance masks",
}

# What a time covers, for a run's records and the advisor's references and predictions alike.
SCOPE_MEANS = {
    "encoder": "the model's forward pass alone, on inputs already on the device",
    "predictor": "the library call a user makes (set_image, one propagation step, a sliding-window inference): "
                 "pre- and post-processing and host-device copies included, reading files not",
    "pipeline": "the predictor plus reading each image, clip frame or scan from its file",
}
SCOPES = tuple(SCOPE_MEANS)

# What `recommend` answers when no --task is given: promptable segmentation wherever prompts apply,
# semantic labels of every voxel for whole 3D scans.
DEFAULT_TASK = {"image": "promptable", "prompt": "promptable", "auto": "promptable", "video": "promptable",
                "volume": "semantic", "train": "instance"}


@dataclass(frozen=True)
class Defaults:
    source_size: tuple[int, int]  # (h, w) of images: a 4:3 photo, the common camera shape
    video_size: tuple[int, int]  # (h, w) of video frames
    frames: int  # video clip length
    volume: tuple[int, int, int]  # (w, h, d) of a scan
    points_per_side: int  # automatic masks: the point grid (sam2's default is 32)
    points_per_batch: int  # automatic masks: points decoded per forward
    overlap: float  # volume: sliding-window overlap (MONAI's default)


# Masks an automatic-mask run keeps per image in relaxed mode (`--auto-masks`): SA-1B, made with SAM's
# automatic generator, holds 1.1B masks on 11M images, about 100 per image.
AUTO_MASKS = 100
AUTO_MASKS_SOURCE = ("the N highest-scoring masks kept after relaxed filters; default 100, SA-1B's average per "
                     "image (1.1B masks / 11M images, Kirillov et al., Segment Anything, ICCV 2023)")

# What a user's job looks like: a 10 s clip at 30 fps at 1080p, a typical abdominal CT series.
FULL = Defaults(source_size=(768, 1024), video_size=(1080, 1920), frames=300, volume=(512, 512, 200),
                points_per_side=32, points_per_batch=64, overlap=0.25)
# --quick: the same models and model sizes on small inputs (480p video: SAM resizes every frame to its own size).
QUICK = Defaults(source_size=(768, 1024), video_size=(480, 854), frames=16, volume=(128, 128, 64),
                 points_per_side=8, points_per_batch=64, overlap=0.25)
