"""Reading result files for the report commands, with the reader's warnings collected as lines."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segbench.errors import InputError
from segbench.records.schema import Record
from segbench.records.store import CorruptLineWarning, read_records


@dataclass
class LoadedResults:
    records: list[Record]
    inputs: list[Path]  # what the user named (files or folders); sidecars are looked for there
    warnings: list[str] = field(default_factory=list)


def load_results(paths: Sequence[str | Path], *, role: str = "results") -> LoadedResults:
    """Records from files/folders; `InputError` when a path is missing or holds no records.

    Corrupt lines come back as warning strings so a command can print them as one line each
    (and keep stdout clean under `--json`).
    """
    inputs = [Path(p) for p in paths]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = read_records(inputs)
    messages: list[str] = []
    for item in caught:
        if issubclass(item.category, CorruptLineWarning):
            messages.append(str(item.message))
        else:  # not ours to swallow
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if not records:
        named = ", ".join(str(p) for p in inputs)
        raise InputError(f"no result records in {role} {named}")
    return LoadedResults(records=records, inputs=inputs, warnings=messages)
