"""The advice users need beyond the numbers, each line backed by a prediction where one applies.

- automatic masks on cluttered scenes give dozens of useless masks: prompts are cheaper and better;
- for 10K+ similar images: label a few hundred with SAM prompts and fine-tune a small model,
  with the predicted time of both paths;
- 2D is VRAM-light, 3D (and long video) is VRAM-hungry;
- sustained thermals matter more than spec sheets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from segbench.advisor.data.calibration import load_calibration
from segbench.advisor.data.catalog import GIB
from segbench.advisor.evaluate import Evaluation, evaluate
from segbench.advisor.model.roofline import Params
from segbench.cost.footprint import Query
from segbench.families.registry import get_spec
from segbench.formatting import fmt_seconds as fmt_duration

MANY_IMAGES = 10_000
LONG_RUN_ITEMS = 1_000  # a job this many images long runs long enough to heat-soak a card


def _same_device(ev: Evaluation, workload: str, params: Params, **changes) -> Evaluation:
    q = dataclasses.replace(ev.footprint.query, workload=workload, batch_size=1, **changes)
    return evaluate(ev.spec, q, params=params, scale=ev.scale)


def auto_vs_prompts(ev: Evaluation, params: Params, objects: int = 5) -> str:
    image = _same_device(ev, "image", params)
    prompt = _same_device(ev, "prompt", params)
    prompted = image.seconds_per_item + objects * prompt.seconds_per_item
    grid = ev.footprint.query.points_per_side ** 2
    return (f"Automatic mode decodes a {grid}-point grid and, on cluttered scenes, returns dozens of small, "
            f"overlapping or meaningless masks you then have to sort. If you know what you want, click points or "
            f"draw boxes instead: on {ev.spec.name} one image encodes in {fmt_duration(image.seconds_per_item)} and each "
            f"prompt decodes in {fmt_duration(prompt.seconds_per_item)}, so {objects} objects take {fmt_duration(prompted)} "
            f"against {fmt_duration(ev.seconds_per_item)} for automatic masks.")


@dataclass(frozen=True)
class Paths:
    """The two ways through a large set of similar images on one device: (a) SAM 2.1 automatic masks on
    every image; (b) SAM-assisted labeling of a few, fine-tuning a small model on them, and the small
    model on the rest. Held as per-image seconds; every total is derived from them."""

    device: str
    images: int
    labeled: int
    epochs: int
    small_model: str
    sam_auto_per_image_s: float
    small_per_image_s: float  # the small model's inference, per image
    train_per_image_s: float  # the small model's training step, per image of one epoch
    label_machine_per_image_s: float  # SAM's machine time to label one image with prompts
    label_human_per_image_s: float  # a person's time to check and correct one image
    basis: str = "predicted"  # or "measured": per-image times read off a machine's records (report)

    @property
    def sam_all_s(self) -> float:
        return self.images * self.sam_auto_per_image_s

    @property
    def label_machine_s(self) -> float:
        return self.labeled * self.label_machine_per_image_s

    @property
    def label_human_s(self) -> float:
        return self.labeled * self.label_human_per_image_s

    @property
    def train_s(self) -> float:
        return self.labeled * self.epochs * self.train_per_image_s

    @property
    def infer_s(self) -> float:
        return (self.images - self.labeled) * self.small_per_image_s

    @property
    def small_total_s(self) -> float:
        return self.label_machine_s + self.label_human_s + self.train_s + self.infer_s

    @property
    def speed_ratio(self) -> float:
        """How many times faster per image the small model is than SAM 2.1's automatic mode."""
        return self.sam_auto_per_image_s / self.small_per_image_s

    def cumulative_hours(self, processed: float) -> tuple[float, float]:
        """(path a, path b) hours after `processed` images: b pays labeling and training up front."""
        upfront = self.label_machine_s + self.label_human_s + self.train_s
        a = processed * self.sam_auto_per_image_s
        b = upfront + max(0.0, processed - self.labeled) * self.small_per_image_s
        return a / 3600, b / 3600

    def to_dict(self) -> dict[str, float | int | str]:
        totals = ("sam_all_s", "label_machine_s", "label_human_s", "train_s", "infer_s", "small_total_s", "speed_ratio")
        return {**dataclasses.asdict(self), **{name: getattr(self, name) for name in totals}}


def paths_from(device: str, images: int, *, small_model: str, auto_s: float, small_s: float, train_s: float,
               label_s: float, epochs: int | None = None, label_seconds: float | None = None,
               basis: str = "predicted") -> Paths | None:
    """Both paths from per-image seconds (`train_s` per image of one epoch, `label_s` SAM's machine time to
    label one image), with the profile's labeling assumptions where the user set none; None without them."""
    ft = load_calibration().finetune
    if not ft:
        return None
    return Paths(device=device, images=images, labeled=min(int(ft["labeled_images"]), images),
                 epochs=int(ft["epochs"] if epochs is None else epochs), small_model=small_model,
                 sam_auto_per_image_s=auto_s, small_per_image_s=small_s, train_per_image_s=train_s,
                 label_machine_per_image_s=label_s,
                 label_human_per_image_s=float(ft["human_seconds_per_image"] if label_seconds is None else label_seconds),
                 basis=basis)


def two_paths(ev: Evaluation, images: int, params: Params, epochs: int | None = None,
              label_seconds: float | None = None) -> Paths | None:
    """Both paths for `images` images on `ev`'s device, predicted; None without the profile's fine-tune settings."""
    ft = load_calibration().finetune
    if not ft:
        return None
    q = ev.footprint.query
    auto = ev if q.workload == "auto" else _same_device(ev, "auto", params)
    encode = _same_device(ev, "image", params).seconds_per_item
    prompt = _same_device(ev, "prompt", params).seconds_per_item
    small = str(ft["small_model"])
    precision = "fp32" if ev.is_cpu else q.precision
    train = evaluate(ev.spec, Query(small, "train", precision, int(ft["train_batch_size"])), params=params)
    # The small model's training batch may not fit a small card: halve it until it does (what users do).
    while not train.fits and train.footprint.query.batch_size > 1:
        train = evaluate(ev.spec, train.footprint.query.replace(batch_size=train.footprint.query.batch_size // 2),
                         params=params)
    infer = evaluate(ev.spec, Query(small, "image", precision, 1), params=params)
    return paths_from(ev.spec.name, images, small_model=small, auto_s=auto.seconds_per_item,
                      small_s=infer.seconds_per_item, train_s=train.seconds_per_item,
                      label_s=encode + float(ft["prompts_per_image"]) * prompt, epochs=epochs,
                      label_seconds=label_seconds)


def finetune_paths(p: Paths) -> str:
    """SAM on every image vs. label a few with SAM, fine-tune a small model, run it on the rest."""
    return (f"{p.images:,} similar images: SAM 2.1 automatic masks on all of them take about {fmt_duration(p.sam_all_s)} of "
            f"machine time on {p.device} (and every mask still needs a class and a check). Labeling "
            f"{p.labeled} images with SAM prompts (~{fmt_duration(p.label_human_s)} of your time, "
            f"{fmt_duration(p.label_machine_s)} of machine time), fine-tuning {p.small_model} for {p.epochs} epochs "
            f"(~{fmt_duration(p.train_s)}) and running it on the other {p.images - p.labeled:,} "
            f"(~{fmt_duration(p.infer_s)}) takes about {fmt_duration(p.small_total_s)} in all; per image the small model "
            f"is predicted {p.speed_ratio:,.0f}x faster than automatic masks there, and it keeps working on the next batch "
            "of images. All figures predicted (segbench check's model, same stated error).")


def vram_story(ev: Evaluation) -> str:
    fp, q = ev.footprint, ev.footprint.query
    if ev.is_cpu:
        return ""
    peak = (ev.peak_device_bytes or 0) / GIB
    if q.workload == "train":
        fit = f"; about {ev.max_fit[1]} images per batch fit" if ev.max_fit and ev.max_fit[1] else ""
        return (f"Training is VRAM-hungry where inference is not: besides the weights, {q.model} keeps a gradient and "
                f"optimiser state per trained parameter and every activation for the backward pass, {peak:.1f} GiB at "
                f"batch {q.batch_size}{fit}. VRAM decides the batch size; `segbench run -w train --batch-sizes 8,16,32,64` "
                "finds the largest that fits on a real card.")
    if q.workload == "volume" and fp.item_unit == "volume":
        return (f"3D is VRAM-hungry: {q.model} needs about {peak:.1f} GiB here, of which the full-size output buffers "
                f"of the volume take {fp.state_bytes / GIB:.1f} GiB on the GPU (--aggregate-on cpu moves them to RAM) "
                "and each window in a batch adds its activations; a larger window or --sw-batch-size multiplies that.")
    if fp.growth_bytes_per_frame > 0:
        return (f"Video and slice-by-slice volumes are VRAM-hungry in a way images are not: the video predictor keeps every "
                f"{fp.item_unit} resized to the model input on the GPU, {fp.growth_bytes_per_frame / 2**20:.0f} MiB "
                f"per {fp.item_unit}, so memory grows with clip length ({peak:.1f} GiB for {fp.frames}); "
                "--offload-video-to-cpu keeps them in RAM at a small cost in speed.")
    return (f"2D images are VRAM-light: {q.model} peaks near {peak:.1f} GiB for {q.batch_size} image(s) at a time, "
            "so VRAM buys batch size and video length rather than the ability to run at all; 3D volumes and long "
            "videos are where memory decides.")


def thermals(ev: Evaluation, images: int | None) -> str:
    spec, q = ev.spec, ev.footprint.query
    long_run = q.workload in ("video", "volume") or (images or 0) >= LONG_RUN_ITEMS
    laptop = getattr(spec, "form_factor", "") == "laptop" or getattr(spec, "sustained_clock_factor", 1.0) < 1
    if not (long_run or laptop):
        return ""
    held = getattr(spec, "sustained_clock_factor", 1.0)
    return (f"Sustained thermals matter more than spec sheets: these figures assume {spec.name} holds "
            f"{held:.0%} of its rated clock for the whole job; small cases, dusty coolers and laptops lose 10-30% "
            "after a few minutes. Run `segbench soak` on the real machine to see its sustained speed.")


def paths_for(ev: Evaluation, images: int | None, params: Params, epochs: int | None = None,
              label_seconds: float | None = None) -> Paths | None:
    """The two paths, where the job is one where labeling a few and fine-tuning a small model is the better
    path: many images, on a model that makes masks from prompts (automatic ones included), the ones a small
    model replaces. None otherwise. check and recommend put them in their basis and pass them to the advice."""
    q = ev.footprint.query
    labels_with_prompts = {"prompt", "auto"} <= set(get_spec(q.model).workloads)
    if images is None or images < MANY_IMAGES or not labels_with_prompts or q.workload not in ("image", "prompt", "auto"):
        return None
    return two_paths(ev, images, params, epochs, label_seconds)


def advice_for(ev: Evaluation, images: int | None = None, *, params: Params, paths: Paths | None = None) -> list[str]:
    """The advice lines for `ev`; `paths` (from `paths_for`, computed once by the caller) adds the two paths."""
    q = ev.footprint.query
    lines = []
    if q.workload == "auto":
        lines.append(auto_vs_prompts(ev, params))
    if paths is not None:
        lines.append(finetune_paths(paths))
    lines.append(vram_story(ev))
    lines.append(thermals(ev, images))
    return [line for line in lines if line]
