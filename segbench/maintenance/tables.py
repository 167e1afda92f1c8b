"""The README's advisor tables, as Markdown: predictions for the common builds (the profile
`readme_tables.yaml` says which), and the published figures the model was checked against (each
predicted with that figure left out of the fit).

    python -m segbench.maintenance tables > advisor_tables.md
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segbench.advisor.evaluate import build_query, default_precision, evaluate
from segbench.advisor.model.fit import current_fit, device_class, held_out_rows, workload_of
from segbench.advisor.targets import resolve_target
from segbench.profiles import profile_path
from segbench.profiles.reading import Entry, read_yaml, section_list, top_level


@dataclass(frozen=True)
class Column:
    title: str
    model: str
    workload: str
    resolution: tuple[int, int] | None = None
    volume: tuple[int, int, int] | None = None
    frames: int | None = None
    aggregate_on: str = "device"
    batch_size: int = 1


def layout() -> tuple[list[tuple[str, str]], list[Column]]:
    """(builds as (label, device name), columns) from the profile."""
    path = profile_path("readme_tables.yaml")
    data = top_level(read_yaml(path), path, ("builds", "columns"))
    builds = []
    for i, raw in enumerate(section_list(data, "builds", path)):
        e = Entry(raw, path, f"builds[{i}]", ("label", "device"))
        builds.append((e.text("label"), e.text("device")))
    columns = []
    for i, raw in enumerate(section_list(data, "columns", path)):
        e = Entry(raw, path, f"columns[{i}]", ("title", "model", "workload", "resolution", "volume", "frames",
                                                "aggregate_on", "batch_size"))
        sizes: dict[str, Any] = {k: tuple(e.data[k]) for k in ("resolution", "volume") if k in e.data}
        columns.append(Column(e.text("title"), e.text("model"), e.text("workload"),
                              frames=e.integer("frames", required=False),
                              aggregate_on=e.choice("aggregate_on", ("device", "cpu"), required=False, default="device"),
                              batch_size=e.integer("batch_size", required=False) or 1, **sizes))
    return builds, columns


def _cell(ev) -> str:
    p = ev.predicted()
    if "fps" in p:
        speed = f"{p['fps']:.1f} fps" if p["fps"] >= 1 else f"{p['latency_ms'] / 1e3:.1f} s/frame"
    elif "seconds_per_volume" in p:
        speed = f"{p['seconds_per_volume']:.0f} s/vol" if p["seconds_per_volume"] < 600 else \
            f"{p['seconds_per_volume'] / 60:.0f} min/vol"
    else:
        ms = p["latency_ms"] * (ev.footprint.query.batch_size if ev.footprint.query.workload == "train" else 1)
        speed = f"{ms:.0f} ms" if ms < 2000 else f"{ms / 1e3:.1f} s"
        if ev.footprint.query.workload == "train":
            speed += "/step"
    memory = p.get("peak_vram_gb", p.get("peak_ram_gb"))
    flag = "" if ev.fits else " **OOM**"
    return f"{speed}, {memory:.1f} GiB{flag}"


def predictions_table() -> str:
    params = current_fit().params
    builds, columns = layout()
    lines = ["| build | precision | " + " | ".join(c.title for c in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for label, name in builds:
        spec = resolve_target(name).spec
        precision = default_precision(spec)
        cells = []
        for c in columns:
            q = build_query(c.model, c.workload, precision, resolution=c.resolution, volume=c.volume, frames=c.frames,
                            aggregate_on=c.aggregate_on, batch_size=c.batch_size)
            cells.append(_cell(evaluate(spec, q, params=params)))
        lines.append(f"| {label} | {precision} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def references_table() -> str:
    fit = current_fit()
    lines = ["| reference | device | scope | quality | published / measured | predicted (left out) | error |",
             "|---|---|---|---|---|---|---|"]
    for ref, predicted, error in fit.loo.rows:
        device = ref.spec.name if hasattr(ref, "spec") else ref.spec_name
        lines.append(f"| {ref.id} | {device} | {getattr(ref, 'scope', '')} | {ref.quality} | {_ms(ref.seconds_per_item)} "
                     f"| {_ms(predicted)} | {error:.0f}% |")
    lines.append("")
    lines.append(f"Leave-one-out over {len(fit.loo.rows)} reference points on "
                 f"{len({getattr(r, 'spec_name', None) or r.spec.name for r, _, _ in fit.loo.rows})} devices: "
                 f"median {fit.loo.median:.0f}%, worst {fit.loo.worst:.0f}% absolute error.")
    lines.append("")
    lines.append("| group | points | median | worst |")
    lines.append("|---|---|---|---|")
    for title, key in (("workload", workload_of), ("device class", device_class)):
        for name, (n, median, worst) in fit.loo.by(key).items():
            lines.append(f"| {title}: {name} | {n} | {median:.0f}% | {worst:.0f}% |")
    held = held_out_rows(fit.params)
    if held:
        lines.append("")
        lines.append("Held out of the fit (shown, not fitted), predicted by the fit on all points:")
        lines.append("")
        lines.append("| reference | device | published | predicted | error | why held out |")
        lines.append("|---|---|---|---|---|---|")
        for ref, predicted, error in held:
            lines.append(f"| {ref.id} | {ref.spec.name} | {_ms(ref.seconds_per_item)} | {_ms(predicted)} | {error:.0f}% "
                         f"| {ref.held_out} |")
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def print_tables() -> None:
    print("### Predicted on common builds\n")
    print("Per image / per frame / per volume, and the predicted peak GPU memory in GiB (system RAM for the CPU "
          "build).\n")
    print(predictions_table())
    print("\n### Checked against\n")
    print(references_table())
