"""Turning a failed write (read-only folder, full disk, a path that names a file) into one clear line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from segbench.errors import InputError


@contextlib.contextmanager
def writing(path: Path, what: str) -> Iterator[None]:
    """Inside this block an OSError is the user's to fix (another --out/-o, free space): InputError (exit 2)."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
            # mkdir of a parent that is a file says "File exists": name the file that is in the way.
            reason = f"{exc.filename} is a file, not a folder"
        elif exc.filename and str(exc.filename) != str(path):
            reason += f" ({exc.filename})"
        raise InputError(f"cannot write {what} {path}: {reason}") from exc
