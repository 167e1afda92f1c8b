"""The report's `summary.md`: the same tables as the HTML, images referenced beside it."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from segbench.report.figures import Plot

SCALING_NOTE = ("`segbench fleet throughput`: one input set sharded over N workers; scaling efficiency = "
                "throughput(N) / (N × throughput(1)); worker latencies are per item, one value per worker.")


def _cell(value: object) -> str:
    # Pipes would split the cell; raw HTML would be rendered by most Markdown viewers.
    return html.escape(str(value).replace("\n", " "), quote=False).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)\n"
    lines = [
        "| " + " | ".join(_cell(c) for c in frame.columns) + " |",
        "|" + "|".join("---" for _ in frame.columns) + "|",
    ]
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False))
    return "\n".join(lines) + "\n"


def render_markdown(
    *,
    title: str,
    generated: str,
    random_statement: str | None,
    notes: Sequence[str],
    environment: pd.DataFrame,
    results: pd.DataFrame,
    plots: Sequence[Plot],
    scaling: pd.DataFrame | None = None,
) -> str:
    parts = [f"# {_cell(title)}", "", f"Generated {_cell(generated)} by segbench.", ""]
    if random_statement:
        parts += [f"> **Random weights.** {_cell(random_statement)}", ""]
    for note in notes:
        parts += [_cell(note), ""]
    parts += ["## Machines", "", markdown_table(environment)]
    parts += [f"## Results ({len(results)} records)", "", markdown_table(results)]
    if scaling is not None and not scaling.empty:
        parts += ["## Throughput scaling", "", SCALING_NOTE, "", markdown_table(scaling)]
    if plots:
        parts += ["## Plots", ""]
        for plot in plots:
            parts += [f"### {_cell(plot.title)}", "", f"![{_cell(plot.title)}]({plot.filename})", "", _cell(plot.caption), ""]
    return "\n".join(parts).rstrip() + "\n"
