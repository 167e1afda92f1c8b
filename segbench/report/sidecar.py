"""Reading telemetry sidecars (`<results stem>.telemetry.jsonl`, written by segbench/telemetry/sampler.py).

Sidecars are found three ways, so a results folder that was moved still works: the path the
record names, the same file name beside the results given, and any sidecar in a given folder.
Lines that are not JSON objects with a `record_id` are skipped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from segbench.records.schema import Record
from segbench.telemetry.sampler import SIDECAR_SUFFIX, sidecar_path


def sidecar_paths(records: Iterable[Record], inputs: Iterable[Path]) -> list[Path]:
    inputs = list(inputs)
    folders = [p if p.is_dir() else p.parent for p in inputs]
    found: list[Path] = []
    for record in records:
        named = record.telemetry.get("sidecar") if isinstance(record.telemetry, dict) else None
        if named:
            found.append(Path(named))
            found.extend(folder / Path(named).name for folder in folders)
    for path in inputs:
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{SIDECAR_SUFFIX}")))
        else:
            found.append(sidecar_path(path))
    unique: dict[Path, None] = {}
    for path in found:
        if path.is_file():
            unique.setdefault(path.resolve(), None)
    return list(unique)


def load_samples(records: Iterable[Record], inputs: Iterable[Path]) -> dict[str, pd.DataFrame]:
    """Telemetry samples per record id, sorted by time; records without samples are absent."""
    records = list(records)
    wanted = {r.id for r in records}
    rows: dict[str, list[dict]] = defaultdict(list)
    for path in sidecar_paths(records, inputs):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            try:
                sample = json.loads(line)
            except ValueError:
                continue
            if isinstance(sample, dict) and sample.get("record_id") in wanted and isinstance(sample.get("t"), (int, float)):
                rows[sample["record_id"]].append(sample)
    return {
        rid: pd.DataFrame(samples).drop_duplicates(subset="t").sort_values("t").reset_index(drop=True)
        for rid, samples in rows.items()
    }
