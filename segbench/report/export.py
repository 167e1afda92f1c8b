"""`segbench export --format pytest-benchmark`: records in pytest-benchmark's JSON format.

The layout follows pytest-benchmark's own writer (plugin.pytest_benchmark_generate_json and
stats.Metadata.as_dict): top-level machine_info, commit_info, benchmarks, datetime, version; per
benchmark group/name/fullname/params/param/extra_info/options/stats. The statistics are computed
by pytest-benchmark's `Stats` class itself, so `pytest-benchmark compare` and
github-action-benchmark (which reads fullname, stats.ops/mean/stddev/rounds) see what they expect.

One benchmark "round" is one timed step of segbench (one batch), iterations = 1; throughput in
items per second is kept in extra_info.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest_benchmark
from pytest_benchmark.stats import Stats

from segbench.formatting import is_number
from segbench.records.schema import Record


def benchmark_name(record: Record) -> tuple[str, str, str, str]:
    """(group, name, fullname, param): stable across runs, so a dashboard keeps one series per point."""
    key = str(record.input.get("key", ""))
    param = f"{record.model}-{record.precision}-bs{int(record.batch_size)}" + (f"-{key}" if key else "")
    name = f"{record.workload}[{param}]"
    group = record.workload if record.kind == "run" else f"{record.kind} {record.workload}"
    return group, name, f"segbench::{record.kind}::{name}", param


def exportable(record: Record) -> bool:
    return record.status == "ok" and sum(1 for s in record.samples_s if is_number(s)) >= 1


def _benchmark(record: Record) -> dict[str, Any]:
    stats = Stats()
    for sample in record.samples_s:
        if is_number(sample):
            stats.update(float(sample))
    as_dict = stats.as_dict()
    as_dict["data"] = list(stats.data)
    as_dict["iterations"] = 1
    group, name, fullname, param = benchmark_name(record)
    settings = record.settings if isinstance(record.settings, dict) else {}
    record_stats = record.stats if isinstance(record.stats, dict) else {}
    return {
        "group": group,
        "name": name,
        "fullname": fullname,
        "params": {
            "model": record.model,
            "precision": record.precision,
            "batch_size": int(record.batch_size),
            "input": record.input.get("key", ""),
        },
        "param": param,
        "extra_info": {
            "segbench_record_id": record.id,
            "run_id": record.run_id,
            "kind": record.kind,
            "workload": record.workload,
            "device": record.device,
            "hardware": record.hardware,
            "weights": record.weights,
            "items_per_s": record_stats.get("items_per_s"),
            "item_unit": record_stats.get("item_unit"),
            "memory": record.memory,
            "metrics": record.metrics,
        },
        "options": {
            "disable_gc": False,
            "timer": "perf_counter",
            "min_rounds": settings.get("min_iters"),
            "max_time": settings.get("max_time_s"),
            "min_time": settings.get("min_time_s"),
            "warmup": settings.get("warmup"),
        },
        "stats": as_dict,
    }


def _most_common(records: Sequence[Record], pick) -> Any:
    return Counter(pick(r) for r in records).most_common(1)[0][0]


def _machine_info(record: Record) -> dict[str, Any]:
    """pytest-benchmark's machine_info keys, filled from the record's environment fingerprint."""
    env = record.environment if isinstance(record.environment, dict) else {}
    versions = env.get("versions") if isinstance(env.get("versions"), dict) else {}
    cpu = env.get("cpu") if isinstance(env.get("cpu"), dict) else {}
    python = str(env.get("python") or versions.get("python") or "")
    return {
        "node": str(env.get("host", "")),
        "processor": str(cpu.get("model_name") or cpu.get("model") or ""),
        "machine": str(cpu.get("architecture") or ""),
        "python_compiler": "",
        "python_implementation": "CPython",
        "python_implementation_version": python,
        "python_version": python,
        "python_build": [],
        "release": "",
        "system": str(env.get("os") or ""),
        "cpu": {**cpu, "brand_raw": str(cpu.get("model_name") or cpu.get("model") or record.hardware)},
        "segbench_hardware": record.hardware,
        "segbench_environment": env,
    }


def _commit_info(record: Record) -> dict[str, Any]:
    env = record.environment if isinstance(record.environment, dict) else {}
    commit = str(env.get("git_commit") or "unversioned")
    dirty = bool(env.get("git_dirty")) or commit.endswith("dirty")
    for suffix in ("-dirty", "+dirty"):
        commit = commit.removesuffix(suffix)
    return {
        "id": commit,
        "time": None,
        "author_time": None,
        "dirty": dirty,
        "project": "segbench",
        "branch": str(env.get("git_branch") or "(unknown)"),
    }


def to_pytest_benchmark(records: Sequence[Record]) -> tuple[dict[str, Any], list[str]]:
    """The pytest-benchmark document for the exportable records, and warnings about what was left out."""
    chosen = [r for r in records if exportable(r)]
    warnings = []
    skipped = len(records) - len(chosen)
    if skipped:
        warnings.append(f"{skipped} record(s) not exported: not status ok or no raw samples")
    if not chosen:
        return {}, warnings
    machines = {r.hardware for r in chosen}
    reference = max(chosen, key=lambda r: r.created)
    if len(machines) > 1:
        main = _most_common(chosen, lambda r: r.hardware)
        reference = max((r for r in chosen if r.hardware == main), key=lambda r: r.created)
        warnings.append(
            f"records from {len(machines)} machines go into one file; machine_info describes {main!r}"
            " (each benchmark's extra_info names its own hardware)"
        )
    names = Counter(benchmark_name(r)[2] for r in chosen)
    repeated = sum(1 for n in names.values() if n > 1)
    if repeated:
        warnings.append(
            f"{repeated} point(s) appear more than once (several runs given); dashboards expect one file per run"
        )
    document = {
        "machine_info": _machine_info(reference),
        "commit_info": _commit_info(reference),
        "benchmarks": [_benchmark(r) for r in sorted(chosen, key=lambda r: benchmark_name(r)[2])],
        "datetime": reference.created,
        "version": pytest_benchmark.__version__,
    }
    return document, warnings


def dumps(document: dict[str, Any]) -> str:
    # pytest-benchmark writes ASCII-only JSON with an indent of 4.
    return json.dumps(document, ensure_ascii=True, indent=4, default=str) + "\n"
