"""The advice users need beyond the numbers, each line backed by a prediction where one applies.

- automatic masks on cluttered scenes give dozens of useless masks: prompts are cheaper and better;
- for 10K+ similar images: label a few hundred with SAM prompts and fine-tune a small model,
  with the predicted time of both paths;
- 2D is VRAM-light, 3D (and long video) is VRAM-hungry;
- sustained thermals matter more than spec sheets.
"""

from __future__ import annotations

import dataclasses

from segbench.advisor.data.calibration import load_calibration
from segbench.advisor.data.catalog import GIB
from segbench.advisor.evaluate import Evaluation, evaluate
from segbench.advisor.model.roofline import Params, rates
from segbench.cost.counting import Counts
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


def finetune_paths(ev: Evaluation, images: int, params: Params) -> str:
    """SAM on every image vs. label a few with SAM, fine-tune a small model, run it on the rest."""
    ft = load_calibration().finetune
    if not ft:
        return ""
    q = ev.footprint.query
    # Path A: SAM on every image, automatically (no human in the loop but the sorting of masks).
    auto = ev if q.workload == "auto" else _same_device(ev, "auto", params)
    sam_all = images * auto.seconds_per_item
    # Path B: a person labels a few hundred images with SAM prompts, then a small model is trained and run.
    labeled = min(int(ft["labeled_images"]), images)
    encode = _same_device(ev, "image", params).seconds_per_item
    prompt = _same_device(ev, "prompt", params).seconds_per_item
    label_machine = labeled * (encode + ft["prompts_per_image"] * prompt)
    label_human = labeled * float(ft["human_seconds_per_image"])
    per_image = Counts(flops=float(ft["gflops_per_image"]) * 1e9, other_bytes=float(ft["gb_moved_per_image"]) * 1e9,
                       kernels=float(ft["kernels_per_forward"]))
    r = rates(ev.spec, "fp32" if ev.is_cpu else q.precision, params)
    batch = int(ft["train_batch_size"])

    host = float(ft["host_seconds_per_image"])  # decoding and augmentation, overlapped with the GPU by loader workers

    def seconds(n_images: float, factor: float, per_batch: int) -> float:
        busy = (per_image.flops / r.matmul_flops_s + per_image.other_bytes / r.bytes_s) * factor
        launches = per_image.kernels * factor * r.launch_s / per_batch
        return n_images * max(busy + launches, host)

    train = seconds(labeled * float(ft["epochs"]), float(ft["train_flops_factor"]), batch)
    infer = seconds(images, 1.0, 1)
    small_total = label_machine + label_human + train + infer
    return (f"{images:,} similar images: SAM 2.1 automatic masks on all of them take about {fmt_duration(sam_all)} of "
            f"machine time on {ev.spec.name} (and every mask still needs a class and a check). Labeling "
            f"{labeled} images with SAM prompts (~{fmt_duration(label_human)} of your time, {fmt_duration(label_machine)} of "
            f"machine time), fine-tuning {ft['small_model']} for {ft['epochs']} epochs (~{fmt_duration(train)}) and running "
            f"it on the rest (~{fmt_duration(infer)}) takes about {fmt_duration(small_total)} in all, and the small model keeps "
            f"working on the next batch of images.")


def vram_story(ev: Evaluation) -> str:
    fp, q = ev.footprint, ev.footprint.query
    if ev.is_cpu:
        return ""
    peak = (ev.peak_device_bytes or 0) / GIB
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


def advice_for(ev: Evaluation, images: int | None = None, *, params: Params) -> list[str]:
    q = ev.footprint.query
    lines = []
    if q.workload == "auto":
        lines.append(auto_vs_prompts(ev, params))
    # Models that make masks from prompts, automatic ones included: the ones a small model can replace.
    labels_with_prompts = {"prompt", "auto"} <= set(get_spec(q.model).workloads)
    if images is not None and images >= MANY_IMAGES and labels_with_prompts and q.workload in ("image", "prompt", "auto"):
        lines.append(finetune_paths(ev, images, params))
    lines.append(vram_story(ev))
    lines.append(thermals(ev, images))
    return [line for line in lines if line]
