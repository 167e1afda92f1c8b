"""The one user-facing error type and its exit codes.

Anything the user can fix (bad input, a missing file, an absent device) raises `SegbenchError`;
`segbench.cli.main` turns it into one line on stderr and the exit code. Other exceptions are bugs
and get a one-line summary too, with the traceback behind `--debug`.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # a run failed, a check failed, a regression was found
EXIT_USAGE = 2  # bad arguments or unusable input
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM, as shells report it


class SegbenchError(Exception):
    """A failure the user can act on; `str(error)` is the whole message."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(SegbenchError):
    """Bad arguments, unreadable files, impossible shapes: exit 2."""

    exit_code = EXIT_USAGE


class RunFailed(SegbenchError):
    """A run that could not produce results: exit 1."""

    exit_code = EXIT_FAILED


class Interrupted(SegbenchError):
    """Ctrl-C or SIGTERM arrived; what was measured has been kept."""

    exit_code = EXIT_INTERRUPTED
