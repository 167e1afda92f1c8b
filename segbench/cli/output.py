"""Shared output helpers: one console for humans (stderr for progress), JSON for scripts."""

from __future__ import annotations

import contextlib
import json
import signal
from typing import Any, Iterator

import click
from rich.console import Console

# Progress and notes go to stderr so that `--json` leaves stdout to the JSON alone.
err_console = Console(stderr=True)


def console() -> Console:
    """The stdout console; built per call so CliRunner's captured stdout is honoured. Piped output
    (CI logs, files) gets a wide page instead of Rich's 80 columns, so tables are not squeezed."""
    stdout = Console()
    return stdout if stdout.is_terminal else Console(width=max(stdout.width, 140))


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} us"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI timeout, `kill`) ends a run the way Ctrl-C does: measured results are kept."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
