"""File-system helpers shared by the readers: existence checks, natural sorting, decoder errors."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from segbench.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def existing_path(path: str | os.PathLike, what: str) -> Path:
    """`path` as a Path, or InputError when nothing is there."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: no such {what}")
    return p


def non_empty_file(path: Path) -> Path:
    """InputError for a zero-byte or unreadable file: decoders give confusing messages for both."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if size == 0:
        raise InputError(f"{path}: file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: cannot read (permission denied)")
    return path


def natural_key(path: Path) -> list[object]:
    """Sort key putting frame2.jpg before frame10.jpg (digit runs compare as numbers)."""
    parts = re.split(r"(\d+)", path.name.lower())
    return [int(part) if part.isdigit() else part for part in parts]


def files_in(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """Regular files directly in `folder` (not recursive) with one of `suffixes`, naturally sorted.

    Hidden files (macOS `._x.jpg` resource forks and the like) are skipped.
    """
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise InputError(f"{folder}: cannot list folder ({exc.strerror or exc})") from exc
    found = [p for p in entries if p.suffix.lower() in suffixes and not p.name.startswith(".") and p.is_file()]
    return sorted(found, key=natural_key)


@contextmanager
def decoding(path: Path | str, what: str) -> Iterator[None]:
    """Turn whatever a third-party decoder raises on a broken file into one InputError line.

    Decoders (PIL, nibabel, pydicom, numpy) each raise their own zoo of exceptions for corrupt
    data; the user only needs the file and the reason. MemoryError is not the file's fault and
    passes through, as does an InputError raised inside.
    """
    try:
        yield
    except (InputError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - see docstring
        raise decode_error(path, what, exc) from exc


def decode_error(path: Path | str, what: str, exc: BaseException) -> InputError:
    """One line: the file, what it should have been, and the decoder's first line of complaint."""
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    return InputError(f"{path}: cannot read {what}: {reason}")
