"""The two paths through a large set of similar images, per machine, from that machine's records:
SAM 2.1's automatic masks on every image, against labeling a few with SAM prompts, fine-tuning a
small model on them and running it on the rest (cumulative hours against images processed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segbench.advisor.advice import MANY_IMAGES, paths_from
from segbench.families.registry import get_spec
from segbench.formatting import slug
from segbench.report.figures import Plot, new_figure
from segbench.report.frame import ok_rows
from segbench.report.plots import finish, latest_per_point

PROMPTS_PER_IMAGE = 3  # as the advice's labeling assumption


def _fastest(rows: pd.DataFrame) -> pd.Series | None:
    rows = rows[rows["item_median_s"].notna()]
    return None if rows.empty else rows.sort_values("item_median_s").iloc[0]


def _small_models(group: pd.DataFrame) -> pd.DataFrame:
    """Image rows of models that also have a training step here and do not make masks from prompts."""
    trained = set(group.loc[group["workload"] == "train", "model"])
    promptable = {m for m in trained if "auto" in get_spec(m).workloads}
    return group[(group["workload"] == "image") & group["model"].isin(trained - promptable)]


def two_paths_plots(frame: pd.DataFrame, images: int = MANY_IMAGES) -> list[Plot]:
    plots: list[Plot] = []
    rows = ok_rows(frame)
    if rows.empty:
        return plots
    for hardware, group in latest_per_point(rows).groupby("hardware", sort=True):
        auto = _fastest(group[group["workload"] == "auto"])
        small = _fastest(_small_models(group))
        if auto is None or small is None:
            continue
        train = _fastest(group[(group["workload"] == "train") & (group["model"] == small["model"])])
        sam = group[group["model"] == auto["model"]]
        encode = _fastest(sam[sam["workload"] == "image"])
        prompt = _fastest(sam[sam["workload"] == "prompt"])
        label = (encode["item_median_s"] if encode is not None else 0.0) + \
            (PROMPTS_PER_IMAGE * prompt["item_median_s"] if prompt is not None else 0.0)
        paths = paths_from(str(hardware), images, small_model=small["model"], auto_s=float(auto["item_median_s"]),
                           small_s=float(small["item_median_s"]), train_s=float(train["item_median_s"]),
                           label_s=float(label), basis="measured")
        if paths is None:
            continue
        x = np.linspace(0, images, 201)
        a, b = zip(*(paths.cumulative_hours(v) for v in x))
        fig, (ax,) = new_figure(width=9.5, height=4.8)
        ax.plot(x, a, label=f"(a) {auto['model']} automatic masks on every image")
        ax.plot(x, b, label=f"(b) label {paths.labeled} with SAM, fine-tune {small['model']} "
                            f"{paths.epochs} epochs, run it on the rest")
        ax.set_xlabel("images processed")
        ax.set_ylabel("cumulative hours (machine, plus a person's labeling time on path b)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        missing = [w for w, r in (("image", encode), ("prompt", prompt)) if r is None]
        plots.append(finish(
            fig, [ax], f"{images:,} similar images: two paths — {hardware}",
            filename=f"two-paths-{slug(str(hardware))}.png", title=f"two paths: SAM on every image or a small model — {hardware}",
            caption=(f"Per-image times measured on this machine ({auto['model']} auto, {small['model']} image and "
                     f"train step, weights as recorded); per image {small['model']} ran {paths.speed_ratio:,.0f}x faster "
                     f"than automatic masks. {paths.labeled} labeled images, {paths.label_human_per_image_s:g} s "
                     f"of a person per image and "
                     f"{paths.epochs} epochs are assumptions (profiles/calibration.yaml)"
                     + (f"; no {' or '.join(missing)} row of {auto['model']}, so labeling's machine time leaves it out"
                        if missing else "") + "."),
            section="two paths"))
    return plots
