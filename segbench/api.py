"""segbench from Python (notebooks, scripts): build a plan, run it, get records and a DataFrame.

    from segbench import api

    plan = api.plan(models=["sam2.1-tiny"], workloads=["image"], quick=True, device="cpu")
    records = api.run(plan, "results/notebook.jsonl")      # measured, and appended to that file
    df = api.frame(records)                                 # one row per record (pandas)
    df[["model", "precision", "batch_size", "item_median_s", "items_per_s"]]

    api.plan(...).save("plan.yaml")                         # the same file `segbench run --plan` replays
    api.frame(api.read(["results/"]))                       # earlier results

`plan()` takes the options of `segbench run` (see `segbench.bench.presets.make_plan`); `run()`
measures with the plan's launcher (`"process"`: each model in a fresh process; `"inline"`: here).
A notebook's Ctrl-C keeps what was measured and raises `segbench.errors.Interrupted`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from segbench.bench.observer import Observer
from segbench.bench.plan import Plan
from segbench.bench.presets import make_plan
from segbench.records.schema import Record

__all__ = ["Plan", "frame", "load_plan", "models", "plan", "read", "run"]


def plan(models: Iterable[str] = (), workloads: Iterable[str] = ("image",), **options: Any) -> Plan:
    """A plan as `segbench run` builds it; keyword options as `make_plan` takes them."""
    return make_plan(list(models), list(workloads), **options)


def load_plan(path: str | Path) -> Plan:
    return Plan.load(path)


def run(plan: Plan, output: str | Path | None = None, *, observer: Observer | None = None,
        launcher: str | None = None) -> list[Record]:
    """Measure `plan`; every record is appended to `output` (default: a new file under results/)."""
    from segbench.bench.runner import execute
    from segbench.records.store import new_results_path

    return execute(plan, Path(output) if output else new_results_path(), observer, launcher)


def read(paths: Iterable[str | Path]) -> list[Record]:
    """Records from results files or folders (corrupt lines are skipped with a warning)."""
    from segbench.records.store import read_records

    return read_records(list(paths))


def frame(records: Iterable[Record]) -> Any:
    """One flat pandas DataFrame, one row per record (the table report and compare read)."""
    from segbench.report.frame import records_frame

    return records_frame(list(records))


def models(workload: str | None = None, task: str | None = None) -> list[str]:
    """Registered model names, optionally those serving a workload or a task."""
    from segbench.families.registry import model_names

    return model_names(workload, task)
