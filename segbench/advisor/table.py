"""The README's advisor tables, as Markdown: predictions for the common builds, and the published
figures the model was checked against (each predicted with that figure left out of the fit).

    python -m segbench.advisor.table > advisor_tables.md
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from segbench.advisor.check import build_query, default_precision, evaluate, resolve_target
from segbench.advisor.perfmodel import _fitted

# (label, catalog name or 'cpu')
TIERS = [("CPU only (Core i5-12400)", "cpu"), ("GTX 1060 6GB", "GTX 1060 6GB"), ("GTX 1660 Super", "GTX 1660 Super"),
         ("RTX 3060 12GB", "RTX 3060 12GB"), ("RTX 3090 (24 GB)", "RTX 3090"), ("RTX 4090 (24 GB)", "RTX 4090")]


@dataclass(frozen=True)
class Column:
    title: str
    model: str
    workload: str
    resolution: tuple[int, int] | None = None
    volume: tuple[int, int, int] | None = None
    frames: int | None = None


COLUMNS = [
    Column("SAM 2.1 tiny, image", "sam2.1-tiny", "image"),
    Column("SAM 2.1 large, image", "sam2.1-large", "image"),
    Column("SAM 2.1 tiny, 1080p video (300 frames)", "sam2.1-tiny", "video", resolution=(1080, 1920), frames=300),
    Column("SAM 2.1 large, 1080p video (300 frames)", "sam2.1-large", "video", resolution=(1080, 1920), frames=300),
    Column("SwinUNETR, 512x512x200 CT", "monai-swinunetr", "volume", volume=(512, 512, 200)),
]


def _cell(ev) -> str:
    p = ev.predicted()
    if "fps" in p:
        speed = f"{p['fps']:.1f} fps" if p["fps"] >= 1 else f"{p['latency_ms'] / 1e3:.1f} s/frame"
    elif "seconds_per_volume" in p:
        speed = f"{p['seconds_per_volume']:.0f} s/vol" if p["seconds_per_volume"] < 600 else \
            f"{p['seconds_per_volume'] / 60:.0f} min/vol"
    else:
        ms = p["latency_ms"]
        speed = f"{ms:.0f} ms" if ms < 2000 else f"{ms / 1e3:.1f} s"
    memory = p.get("peak_vram_gb", p.get("peak_ram_gb"))
    flag = "" if ev.fits else " **OOM**"
    return f"{speed}, {memory:.1f} GiB{flag}"


def predictions_table() -> str:
    params = _fitted().params
    lines = ["| build | precision | " + " | ".join(c.title for c in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for label, name in TIERS:
        spec = resolve_target(name).spec
        precision = default_precision(spec)
        cells = []
        for c in COLUMNS:
            q = build_query(c.model, c.workload, precision, resolution=c.resolution, volume=c.volume, frames=c.frames)
            cells.append(_cell(evaluate(spec, q, params=params)))
        lines.append(f"| {label} | {precision} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def references_table() -> str:
    fit = _fitted()
    lines = ["| reference | device | quality | published / measured | predicted (left out) | error |",
             "|---|---|---|---|---|---|"]
    for ref, predicted, error in fit.loo.rows:
        device = ref.spec.name if hasattr(ref, "spec") else ref.spec_name
        lines.append(f"| {ref.id} | {device} | {ref.quality} | {_ms(ref.seconds_per_item)} | {_ms(predicted)} | {error:.0f}% |")
    lines.append("")
    lines.append(f"Leave-one-out over {len(fit.loo.rows)} reference points: median {fit.loo.median:.0f}%, "
                 f"worst {fit.loo.worst:.0f}% absolute error.")
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def main() -> int:
    print("### Predicted on common builds\n")
    print("Per image / per frame / per volume, and the predicted peak GPU memory in GiB (system RAM for the CPU "
          "build).\n")
    print(predictions_table())
    print("\n### Checked against\n")
    print(references_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
