"""The sink: where measured records go, one writer for a whole run whichever process measured them.

A results file is claimed before anything is measured (an unwritable place fails at once, not after
an hour), only ever appended to (atomically, under the folder lock), and never mixed into a file
that is not segbench's: an existing file must already hold segbench records, and a new one must be
named `.jsonl`, so `report` and `compare` find it in a folder. Telemetry samples go to a sidecar
beside it (`<stem>.telemetry.jsonl`).
"""

from __future__ import annotations

import json
from pathlib import Path

from segbench.bench.point import Measured
from segbench.errors import InputError
from segbench.records.schema import Record
from segbench.records.store import append_records, reserved
from segbench.telemetry.sampler import write_sidecar

RESULTS_SUFFIX = ".jsonl"


def check_results_file(path: Path) -> None:
    """A path `segbench run` may append records to, or an InputError saying why not."""
    if path.exists() and not path.is_file():
        raise InputError(f"--output {path} is not a file")
    if path.suffix != RESULTS_SUFFIX:
        raise InputError(f"--output {path}: results files are JSON Lines named *{RESULTS_SUFFIX}")
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with path.open(encoding="utf-8") as handle:
            first = next((line for line in handle if line.strip()), "")
        data = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not (isinstance(data, dict) and isinstance(data.get("schema_version"), int) and "model" in data):
        raise InputError(f"--output {path} exists and is not a segbench results file; name a new file")


class ResultsSink:
    """`with ResultsSink(path) as sink: sink.write(measured)`; `records` holds what was written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check_results_file(self.path)
        self.records: list[Record] = []
        self._reservation = None

    def __enter__(self) -> ResultsSink:
        self._reservation = reserved(self.path)
        self._reservation.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reservation is not None:
            self._reservation.__exit__(*exc)

    def write(self, measured: Measured) -> Record:
        record = measured.record
        if measured.telemetry:
            record.telemetry["sidecar"] = str(write_sidecar(self.path, record.id, measured.telemetry))
        append_records(self.path, [record])
        self.records.append(record)
        return record
