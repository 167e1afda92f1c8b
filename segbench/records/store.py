"""JSON Lines result files: appended atomically, read tolerantly, never silently overwritten."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import warnings
from pathlib import Path
from typing import Iterable, Iterator

from segbench.errors import InputError
from segbench.atomic import atomic_append_text
from segbench.records.schema import SCHEMA_VERSION, Record

DEFAULT_RESULTS_DIR = Path("results")


class CorruptLineWarning(UserWarning):
    """A results line that could not be parsed; the rest of the file is still read."""


def new_results_path(directory: Path = DEFAULT_RESULTS_DIR, prefix: str = "run") -> Path:
    """A fresh file name under `directory`; never one that exists already (see `reserve`)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    host = socket.gethostname().split(".")[0] or "host"
    candidate = directory / f"{prefix}-{stamp}-{host}.jsonl"
    n = 1
    while candidate.exists():
        n += 1
        candidate = directory / f"{prefix}-{stamp}-{host}-{n}.jsonl"
    return candidate


@contextlib.contextmanager
def reserved(path: Path) -> Iterator[Path]:
    """Claim a results file before measuring: created (or opened for appending) now, so an unwritable
    place fails at once, not after an hour of measuring. A file that exists (--output, or a name another
    run took in the same second) is appended to under the folder lock, so no record is lost; records
    carry their run_id. A file this run created and left empty is removed afterwards."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o666)  # a data file, not executable
        created = True
    except FileExistsError:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise InputError(f"cannot write results to {path}: {exc.strerror}") from None
        created = False
    except OSError as exc:
        raise InputError(f"cannot write results to {path}: {exc.strerror}") from None
    os.close(fd)
    try:
        yield path
    finally:
        if created and path.exists() and path.stat().st_size == 0:
            path.unlink()


def append_records(path: str | Path, records: Iterable[Record]) -> None:
    lines = "".join(json.dumps(r.to_dict(), sort_keys=True, default=str) + "\n" for r in records)
    if lines:
        atomic_append_text(path, lines)


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(p.rglob("*.jsonl"))
            files.extend(f for f in found if not f.name.endswith(".telemetry.jsonl"))
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"results file not found: {p}")
    return files


def read_records(paths: Iterable[str | Path]) -> list[Record]:
    """Read records from files or folders of `.jsonl`.

    A corrupt or truncated line is skipped with a `CorruptLineWarning` naming file and line; a
    record written by a newer segbench (higher `schema_version`) is an `InputError`.
    """
    records: list[Record] = []
    for file in _expand(paths):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read results file {file}: {exc}") from None
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                version = data.get("schema_version")
                if not isinstance(version, int):
                    raise ValueError("no schema_version")
                if version > SCHEMA_VERSION:
                    raise InputError(
                        f"{file}:{lineno} has schema_version {version}, newer than this segbench "
                        f"understands ({SCHEMA_VERSION}); upgrade segbench to read it"
                    )
                records.append(Record.from_dict(data))
            except InputError:
                raise
            except (ValueError, TypeError) as exc:
                warnings.warn(f"{file}:{lineno}: skipped unreadable record ({exc})", CorruptLineWarning, stacklevel=2)
    return records
