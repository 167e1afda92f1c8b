"""Progress of a measuring command on stderr: one bar per measured point, notes printed above it."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from segbench.cli.output import err_console, fmt_seconds


class ProgressObserver:
    """Rich progress on stderr: one bar per measured point, notes printed above it."""

    def __enter__(self) -> "ProgressObserver":
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self.progress.__enter__()
        self.task = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def point_started(self, label: str, min_iters: int, point: Any = None) -> None:
        self.task = self.progress.add_task(label, total=min_iters, last="warm-up")

    def sample(self, index: int, seconds: float) -> None:
        if self.task is not None:
            total = max(self.progress.tasks[-1].total or 0, index)
            self.progress.update(self.task, completed=index, total=total, last=fmt_seconds(seconds))

    def record(self, record) -> None:
        if self.task is not None:
            self.progress.update(self.task, last=record.status if record.status != "ok" else "done")

    def note(self, text: str) -> None:
        self.progress.console.print(f"[dim]note:[/] {text}")
