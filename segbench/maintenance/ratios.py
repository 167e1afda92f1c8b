"""Write `execution_ratios.yaml` from `run` / `tune` records: every compiled or exported point over
the eager point of the same work measured beside it (`advisor.model.executions.ratios_from_records`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from segbench.advisor.model.executions import ratios_from_records
from segbench.errors import InputError
from segbench.atomic import atomic_write_text
from segbench.records.store import read_records

HEADER = ("# Measured execution ratios: time per item with a configuration over eager PyTorch's, the two\n"
          "# measured beside each other on one machine (same inputs, precision and batch). Written by\n"
          "#   python -m segbench.maintenance ratios RECORDS... --out segbench/profiles/execution_ratios.yaml\n"
          "# from `segbench tune` / `segbench run --compile/--backend` records. Random weights: the ratios are\n"
          "# real for the architecture's speed, and rel_error is a numerics check, not an accuracy claim.\n")


def write(paths: list[str], out: Path) -> Path:
    found = []
    for path in paths:
        found += ratios_from_records(read_records([path]), Path(path).name)
    if not found:
        raise InputError(f"no compiled or exported record with an eager record of the same work in {', '.join(paths)}")
    data = {"method": "seconds_per_item / eager_seconds_per_item, medians of the harness's samples; eager is the "
                      "nearest-in-time eager record of the same model, workload, precision, batch, inputs and hardware",
            "ratios": [r.to_dict() for r in found]}
    atomic_write_text(out, HEADER + yaml.safe_dump(data, sort_keys=False, width=110))
    return out
