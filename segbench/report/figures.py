"""Matplotlib plumbing shared by every plot: headless figures, one colour per series, PNG bytes.

Figures are built with `matplotlib.figure.Figure` directly (no pyplot), so there is no global
state and no GUI backend to select: rendering is Agg whatever the environment says.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

DPI = 110
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


@dataclass
class Plot:
    """One rendered figure: written as `filename` and shown under `title` with `caption`."""

    filename: str
    title: str
    caption: str
    png: bytes
    section: str


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 10.0, height: float = 4.8, sharex: bool = False):
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=sharex, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def wrap(text: str, width: int = 70) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


class SeriesStyle:
    """The same series keeps the same colour and marker in every figure of one report."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._index: dict[str, int] = {}
        for name in sorted(set(names)):
            self._slot(name)

    def _slot(self, name: str) -> int:
        return self._index.setdefault(name, len(self._index))

    def color(self, name: str) -> str:
        return _PALETTE[self._slot(name) % len(_PALETTE)]

    def marker(self, name: str) -> str:
        return _MARKERS[(self._slot(name) // len(_PALETTE)) % len(_MARKERS)]


def size_axis(ax, values: Sequence[float]) -> None:
    """Sizes (batch, depth) on a log2 axis when they span a range, ticked exactly at the sizes measured."""
    ticks = sorted({int(v) for v in values})
    if len(ticks) > 1 and ticks[0] > 0 and ticks[-1] / ticks[0] >= 4:
        ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(ScalarFormatter())
    if len(ticks) == 1:
        ax.set_xlim(ticks[0] - 1, ticks[0] + 1)


def legend(fig: Figure, axes: Sequence, title: str | None = None) -> None:
    """One legend for the figure, beside the last axes (outside the plotting area, below the title),
    so it never covers data or text; constrained layout makes room for it."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if not label.startswith("_"):
                seen.setdefault(label, handle)
    if seen:
        axes[-1].legend(list(seen.values()), list(seen), loc="upper left", bbox_to_anchor=(1.02, 1.0),
                        borderaxespad=0, fontsize="small", title=title, title_fontsize="small")
