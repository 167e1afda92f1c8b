"""Shared output helpers: one console for humans (stderr for progress), JSON for scripts."""

from __future__ import annotations

import contextlib
import json
import signal
from typing import Any, Iterator

import click
from rich.console import Console

from segbench.formatting import fmt_bytes, fmt_seconds  # noqa: F401  (re-exported for commands)

# Progress and notes go to stderr so that `--json` leaves stdout to the JSON alone.
err_console = Console(stderr=True)


def console() -> Console:
    """The stdout console; built per call so CliRunner's captured stdout is honoured. Piped output
    (CI logs, files) gets a wide page instead of Rich's 80 columns, so tables are not squeezed."""
    stdout = Console()
    return stdout if stdout.is_terminal else Console(width=max(stdout.width, 140))


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


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
