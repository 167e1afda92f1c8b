"""The report's tables (results, environments) as pandas frames of display strings, plus the
plain statement about random weights. HTML and Markdown render these same frames."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from segbench.formatting import (
    fmt_bytes,
    fmt_number,
    fmt_percent,
    fmt_seconds,
    is_number,
)
from segbench.measure.stats import NOISY_IQR_REL
from segbench.records.schema import Record
from segbench.report.frame import machine_label

RANDOM_WEIGHTS_STATEMENT = (
    "timings are real for this architecture, accuracy/mask outputs are not"
)


def random_weights_statement(frame: pd.DataFrame) -> str | None:
    """One plain sentence when any result came from random weights, naming the models."""
    random = frame[frame["weights"] != "pretrained"]
    if random.empty:
        return None
    models = ", ".join(sorted(random["model"].unique()))
    share = "All results" if len(random) == len(frame) else f"{len(random)} of {len(frame)} results"
    return f"{share} came from random weights ({models}): {RANDOM_WEIGHTS_STATEMENT}."


def results_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every record as one row of display strings (failed points included, with their error)."""

    def latency_range(row: pd.Series) -> str:
        if not (is_number(row["lat_p10_s"]) and is_number(row["lat_p90_s"])):
            return "—"
        return f"{fmt_seconds(row['lat_p10_s'])} – {fmt_seconds(row['lat_p90_s'])}"

    def noise(row: pd.Series) -> str:
        text = fmt_percent(row["lat_iqr_rel"])
        return f"{text} (noisy)" if is_number(row["lat_iqr_rel"]) and row["lat_iqr_rel"] > NOISY_IQR_REL else text

    def note(row: pd.Series) -> str:
        parts = []
        if row["status"] != "ok" and row["error"]:
            parts.append(str(row["error"]))
        if row["throttled"]:
            parts.append("throttled during measurement")
        return "; ".join(parts)

    table = pd.DataFrame(
        {
            "model": frame["model"],
            "workload": frame["workload"],
            "kind": frame["kind"],
            "precision": frame["precision"],
            "batch": frame["batch_size"].astype(str),
            "execution": frame["execution"],  # eager, official, compile, onnxruntime, eager+offload:both, ...
            "input": frame["input_key"],
            "status": frame["status"],
            "weights": frame["weights"],
            "machine": frame["hardware"],
            "median / batch": frame["lat_median_s"].map(fmt_seconds),
            "p10 – p90": frame.apply(latency_range, axis=1),
            "throughput": [
                f"{fmt_number(v)} {u}/s" if is_number(v) else "—" for v, u in zip(frame["items_per_s"], frame["item_unit"])
            ],
            "peak memory": [
                f"{fmt_bytes(b)} ({source})" if isinstance(source, str) else fmt_bytes(b)
                for b, source in zip(frame["mem_bytes"], frame["mem_source"])
            ],
            "IQR/median": frame.apply(noise, axis=1),
            "run": frame["run_id"].map(lambda r: str(r)[:12]),
            "note": frame.apply(note, axis=1),
        }
    )
    return table.reset_index(drop=True)


def _join(values: Iterable) -> str:
    seen = [str(v) for v in dict.fromkeys(values) if v not in (None, "")]
    return ", ".join(seen) or "—"


def environment_table(records: list[Record]) -> pd.DataFrame:
    """One row per machine (hardware + host): what it was, what ran there and with which software."""
    rows = []
    for record in records:
        env = record.environment if isinstance(record.environment, dict) else {}
        versions = env.get("versions") if isinstance(env.get("versions"), dict) else {}
        rows.append(
            {
                "machine": machine_label(record),
                "host": str(env.get("host", "unknown")),
                "os": str(env.get("os") or "—"),
                "device": record.device,
                "git commit": str(env.get("git_commit") or "unknown"),
                "torch threads": env.get("torch_threads"),
                "software": ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
                "created": record.created,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    grouped = frame.groupby(["machine", "host"], sort=True)
    return grouped.agg(
        **{
            "os": ("os", _join),
            "devices": ("device", _join),
            "git commits": ("git commit", _join),
            "torch threads": ("torch threads", _join),
            "software": ("software", _join),
            "results": ("created", "size"),
            "first": ("created", "min"),
            "last": ("created", "max"),
        }
    ).reset_index().astype(str)
