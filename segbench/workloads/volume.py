"""3D volumes: the scan a workload runs on, and sliding-window inference of any 3D network over it.

`SlidingWindowVolume`: one step = one whole volume through MONAI's `sliding_window_inference`
(the library every 3D family here stitches windows with), windows batched `--sw-batch-size` at a
time and stitched on the device or the CPU (`--aggregate-on`). After the timed run, one more
inference per depth in `options.depths` gives peak memory against volume depth: the figure that
says whether a scan fits a 12 GB or a 24 GB card.

Families that propagate through slices instead (a promptable video model on a stack) take the
scan from `volume_for` and its slices from `slices_as_frames`.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from segbench.cost.footprint import Query
from segbench.errors import InputError
from segbench.inputs.parsing import WHD
from segbench.inputs.volume import Volume, phantom, read_volume
from segbench.measure.harness import Measurement, Timer
from segbench.measure.memory import PeakMemory
from segbench.measure.oom import describe_failure, is_oom, release_memory
from segbench.workloads.base import Workload, WorkloadOptions
from segbench.workload_catalog import FULL

CT_WINDOW = (-1000.0, 1000.0)  # Hounsfield units kept, as CT pipelines clip before scaling
AGGREGATE_ON = ("device", "cpu")
# Depths for the memory-vs-depth curve on a GPU when none are asked for: where 12 GB and 24 GB
# cards part ways for CT. A CPU run measures none unless asked (each is a whole inference).
GPU_DEPTHS = (128, 256, 512, 1000)
BLEND_MODE = "constant"  # sliding_window_inference's default


def volume_for(options: WorkloadOptions) -> tuple[Volume, dict[str, Any]]:
    """The scan to run on (--input, else a phantom of options.volume) and its input info for the record."""
    if options.inputs:
        _one_input(options)
        volume = _scan(options.inputs[0], None, options.seed)
        shape = volume.shape_whd
        info = {"source": "file", "path": volume.source, "key": f"file:{Path(volume.source).name}:{shape}"}
    else:
        volume = _scan(None, tuple(options.volume or FULL.volume), options.seed)
        shape = volume.shape_whd
        info = {"source": "phantom", "key": f"phantom:{shape}"}
    info.update(
        shape_whd=list(shape), voxels=volume.voxels, spacing_mm=list(volume.spacing) if volume.spacing else None
    )
    return volume, info


@functools.lru_cache(maxsize=2)
def _scan(path: str | None, shape_whd: tuple[int, int, int] | None, seed: int) -> Volume:
    """Read (or make) a scan once per process: the input check, and every model after it, reuse it
    instead of decoding a large series or drawing a 512x512x200 phantom again. Workloads never write to it."""
    return read_volume(path) if path is not None else phantom(shape_whd, seed=seed)


def _one_input(options: WorkloadOptions) -> None:
    if len(options.inputs) > 1:
        raise InputError(
            f"the volume workload takes one --input (NIfTI, .npy, DICOM file or series folder), got {len(options.inputs)}"
        )


def check_volume_input(options: WorkloadOptions) -> None:
    """One --input at most, and it must read as a volume: checked before any model loads."""
    _one_input(options)
    if options.inputs:
        _scan(options.inputs[0], None, options.seed)


def _check_window_options(options: WorkloadOptions) -> None:
    if options.aggregate_on not in AGGREGATE_ON:
        raise InputError(f"--aggregate-on must be one of {', '.join(AGGREGATE_ON)}, got '{options.aggregate_on}'")
    if not 0.0 <= options.overlap < 1.0:
        raise InputError(f"--overlap must be at least 0 and below 1, got {options.overlap}")


def normalised(array: np.ndarray) -> np.ndarray:
    """Clip to the CT window and scale to 0..1, as a CT segmentation pipeline does before inference."""
    from monai.transforms import ScaleIntensityRange

    lo, hi = CT_WINDOW
    scale = ScaleIntensityRange(a_min=lo, a_max=hi, b_min=0.0, b_max=1.0, clip=True, dtype=np.float32)
    return np.asarray(scale(array), dtype=np.float32)


def count_windows(shape_dhw: tuple[int, ...], roi_dhw: tuple[int, ...], overlap: float) -> int:
    """How many windows sliding_window_inference runs over one volume: MONAI's own scan logic
    (a volume smaller than the window is padded up to it)."""
    from monai.data.utils import dense_patch_slices
    from monai.inferers.utils import _get_scan_interval

    image = tuple(max(s, r) for s, r in zip(shape_dhw, roi_dhw))
    interval = _get_scan_interval(image, roi_dhw, len(image), (overlap,) * len(image))
    return len(dense_patch_slices(image, roi_dhw, interval))


def count_windows_whd(volume_whd: tuple[int, int, int], roi_whd: tuple[int, int, int], overlap: float) -> int:
    """`count_windows` for sizes written W x H x D, as users and queries give them."""
    return count_windows(tuple(reversed(volume_whd)), tuple(reversed(roi_whd)), overlap)


def _window(model, roi: tuple[int, int, int] | None) -> WHD:
    """The window to slide: --roi, else the model's own; checked by the model's family where it can."""
    window = tuple(roi or model.resolution)
    return model.check_roi(window) if model.check_roi is not None else WHD(*window)


def _autocast_now(device: torch.device) -> tuple[bool, torch.dtype]:
    return torch.is_autocast_enabled(device.type), torch.get_autocast_dtype(device.type)


class SlidingWindowVolume(Workload):
    """A 3D network over a whole volume with sliding windows. Batch size = windows per forward."""

    name = "volume"
    item_unit = "volume"

    def __init__(self, model, device: torch.device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        _check_window_options(options)
        self.roi = _window(model, options.roi)
        self.volume, self._input = volume_for(options)
        self.array = normalised(self.volume.array)  # once, untimed: the network's input, not its cost
        self.windows = count_windows(self.array.shape, self.roi.dhw, options.overlap)
        # Where the stitched output (and the input volume) live; windows always run on the device.
        self.output_device = torch.device("cpu") if options.aggregate_on == "cpu" else device
        self.timer = Timer(device)
        self.depths = tuple(options.depths if options.depths is not None else
                            (GPU_DEPTHS if device.type == "cuda" else ()))
        self._run: dict[str, Any] = {}
        self._depth_curves_done: set[tuple[bool, torch.dtype]] = set()

    @classmethod
    def check_inputs(cls, options: WorkloadOptions) -> None:
        _check_window_options(options)
        check_volume_input(options)

    def items_per_step(self, batch_size: int) -> int:
        return 1  # one volume, whatever the windows per forward

    def _infer(self, x: torch.Tensor, sw_batch_size: int) -> torch.Tensor:
        from monai.inferers import sliding_window_inference

        return sliding_window_inference(
            x,
            self.roi.dhw,
            sw_batch_size,
            self.model.module,
            overlap=self.options.overlap,
            mode=BLEND_MODE,
            sw_device=self.device,
            device=self.output_device,
        )

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array)[None, None].to(self.output_device)

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        x = self._tensor(self.array)
        self._start_run(batch_size)
        return lambda: self._infer(x, batch_size)

    def _start_run(self, batch_size: int, official: bool = False) -> None:
        # The sweep's precision, kept for the depth runs in metrics() (they run after the timed block).
        self._run = {"batch_size": batch_size, "autocast": _autocast_now(self.device), "official": official}

    def official_params(self) -> dict[str, Any]:
        return {**super().official_params(), "aggregate_on": "device (the input's, MONAI's default)"}

    official_loop = ("MONAI's bare sliding_window_inference(inputs, roi_size, sw_batch_size, model, overlap) "
                     "with the volume on the device, as MONAI's tutorials call it (its defaults elsewhere)")

    def official(self, batch_size: int) -> Callable[[], Any]:
        from monai.inferers import sliding_window_inference

        self._start_run(batch_size, official=True)
        x = torch.from_numpy(self.array)[None, None].to(self.device)
        return lambda: sliding_window_inference(x, self.roi.dhw, batch_size, self.model.module,
                                                overlap=self.options.overlap)

    def network(self) -> Any:
        from segbench.backends.slot import NetworkSlot

        return NetworkSlot(self.model, "module", "network", "per-class logits of each window", masks="classes")

    def cost_query(self, batch_size: int) -> Query:
        """The network on every window of the volume (blending and stitching are not FLOP work)."""
        return Query(self.model.spec.name, self.name, batch_size=batch_size, roi=tuple(self.roi),
                     volume=tuple(self.volume.shape_whd), overlap=self.options.overlap,
                     aggregate_on=self.options.aggregate_on, classes=self.model.spec.config.get("out_channels"))

    def params(self) -> dict[str, Any]:
        return {
            "resolution": list(self.roi),
            "scope": self.scope,
            "roi": list(self.roi),
            "overlap": self.options.overlap,
            "aggregate_on": self.options.aggregate_on,
            "blend_mode": BLEND_MODE,
            "volume_whd": list(self.volume.shape_whd),
            "windows": self.windows,
            "network": self.model.spec.config.get("network"),
            "out_channels": self.model.spec.config.get("out_channels"),
            "normalisation": f"clip {CT_WINDOW[0]:g}..{CT_WINDOW[1]:g}, scale to 0..1 (before timing)",
            "timed": "sliding_window_inference over the whole volume: window extraction, network, blending and "
            "stitching into a full-size logit map (no argmax)",
        }

    def input_info(self) -> dict[str, Any]:
        return dict(self._input)

    def metrics(self, measurement: Measurement) -> dict[str, Any]:
        run = self._run
        if not run or not measurement.samples_s:
            return {}
        seconds = statistics.median(measurement.samples_s)
        out = {
            "seconds_per_volume": seconds,
            "voxels": self.volume.voxels,
            "voxels_per_s": self.volume.voxels / seconds if seconds > 0 else None,
            "windows": self.windows,
            "windows_per_s": self.windows / seconds if seconds > 0 else None,
            "sw_batch_size": run["batch_size"],
        }
        # The depth curve once per precision (at the first batch size measured): it answers "which card
        # fits this scan", and repeating up to 1000 slices at every batch size would only cost time.
        # (Not for the official loop: the depth runs go through segbench's own call.)
        if run["autocast"] not in self._depth_curves_done and not run["official"]:
            self._depth_curves_done.add(run["autocast"])
            out["memory_by_depth"] = self._memory_by_depth(run)
        return out

    def _memory_by_depth(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """One inference per depth (W x H kept, slices repeated), each in its own PeakMemory.

        Runs after the timed block, so the point's own peak memory is untouched. An out-of-memory
        depth is an answer, not a failure: it is recorded and deeper ones are skipped.
        """
        enabled, dtype = run["autocast"]
        out: list[dict[str, Any]] = []
        failed_at: int | None = None
        for depth in self.depths:
            depth = int(depth)
            shape = (depth, *self.array.shape[1:])
            entry: dict[str, Any] = {
                "depth": depth,
                "voxels": int(np.prod(shape)),
                "windows": count_windows(shape, self.roi.dhw, self.options.overlap),
            }
            if failed_at is not None and depth >= failed_at:
                entry["status"] = "skipped"
                out.append(entry)
                continue
            peak = PeakMemory(self.device)
            try:
                with peak, torch.inference_mode(), torch.autocast(self.device.type, dtype=dtype, enabled=enabled):
                    entry["seconds"] = self._time_depth(depth, run["batch_size"])
                entry["status"] = "ok"
            except Exception as exc:  # noqa: BLE001 - a failed depth is a row, the point stays measured
                entry["status"] = "oom" if is_oom(exc) else "error"
                if entry["status"] == "oom":
                    failed_at = depth
                else:
                    entry["error"] = describe_failure(exc)
            if entry["status"] != "ok":
                release_memory()  # after the except block, whose traceback held the failed depth's tensors
            entry.update(_peak_bytes(peak.result()))
            out.append(entry)
        return out

    def _time_depth(self, depth: int, sw_batch_size: int) -> float:
        """One inference over the volume with its slices repeated (or cut) to `depth`."""
        # Made here, inside the caller's PeakMemory: the volume sits on the aggregation device too.
        x = self._tensor(np.take(self.array, np.arange(depth) % self.array.shape[0], axis=0))
        return self.timer(lambda: self._infer(x, sw_batch_size))


def _peak_bytes(memory: dict[str, Any]) -> dict[str, Any]:
    """The peak that decides fit: allocator peak on a GPU, the process's peak RSS on the host."""
    if "peak_allocated_bytes" in memory:
        return {
            "peak_bytes": memory["peak_allocated_bytes"],
            "peak_kind": "gpu_allocated",
            "peak_reserved_bytes": memory.get("peak_reserved_bytes"),
            "nvml_used_end_bytes": memory.get("nvml_used_end_bytes"),
        }
    if "peak_rss_bytes" in memory:
        before = memory.get("rss_before_bytes")
        # The process's RSS includes torch itself; what the inference added is the part that grows with depth.
        return {
            "peak_bytes": memory["peak_rss_bytes"],
            "peak_kind": "host_rss",
            "rss_before_bytes": before,
            "added_bytes": memory["peak_rss_bytes"] - before if before is not None else None,
        }
    return {}


def slices_as_frames(array: np.ndarray) -> list[np.ndarray]:
    """(D, H, W) values -> D frames of H x W x 3 uint8: the CT window mapped to 0..255, grey in 3 channels."""
    grey = np.rint(normalised(array) * 255.0).astype(np.uint8)
    return [np.repeat(s[:, :, None], 3, axis=2) for s in grey]
