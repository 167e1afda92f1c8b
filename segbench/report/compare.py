"""`segbench compare`: match baseline and current records and call each pair regressed, improved
or unchanged (statistics in `compare_stats.py`). Failed points are listed, never compared."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segbench.errors import InputError
from segbench.formatting import is_number
from segbench.measure.stats import NOISY_IQR_REL
from segbench.records.schema import DESCRIPTIVE_PARAMS, Record
from segbench.report.compare_stats import (
    METRICS,
    MIN_SAMPLES,
    REGRESSED,
    ChangeEstimate,
    alpha_for,
    estimate_change,
    min_attainable_p,
    verdict,
)
from segbench.report.load import load_results

NOT_COMPARED = "not compared"
ONLY_BASELINE = "only in baseline"
ONLY_CURRENT = "only in current"
# Names for the parts of `Record.match_key()`, in its order.
KEY_FIELDS = ("kind", "model", "workload", "precision", "batch_size", "input", "execution", "params_key")


def parse_threshold(text: str) -> float:
    """'5%' -> 0.05 and '0.05' -> 0.05; anything else is an InputError."""
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100.0
        else:
            value = float(raw)
            if value >= 1:  # "5" is ambiguous: 5% or 500%?
                raise ValueError(raw)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 10:  # also false for nan
        raise InputError(f"--threshold {text!r} is not a percentage like 5% or a fraction like 0.05")
    return value


@dataclass
class Comparison:
    key: tuple
    baseline: Record | None
    current: Record | None
    verdict: str
    estimate: ChangeEstimate | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(zip(KEY_FIELDS, self.key))
        out.update(verdict=self.verdict, note=self.note)
        out["baseline_id"] = self.baseline.id if self.baseline else None
        out["current_id"] = self.current.id if self.current else None
        out["baseline_status"] = self.baseline.status if self.baseline else None
        out["current_status"] = self.current.status if self.current else None
        if self.estimate is not None:
            e = self.estimate
            out.update(
                baseline_s=e.baseline, current_s=e.current, change=e.change, ci_low=e.ci_low, ci_high=e.ci_high,
                p_value=e.p_value, p_slower=e.p_slower, p_faster=e.p_faster,
                n_baseline=e.n_baseline, n_current=e.n_current,
            )
        return out


@dataclass
class CompareResult:
    comparisons: list[Comparison]
    metric: str
    threshold: float
    confidence: float
    baseline_hardware: list[str]
    current_hardware: list[str]
    warnings: list[str] = field(default_factory=list)

    def by_verdict(self, name: str) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict == name]

    @property
    def regressed(self) -> bool:
        return bool(self.by_verdict(REGRESSED))

    @property
    def compared(self) -> int:
        """Points that got a verdict from the statistics (regressed, improved or unchanged)."""
        return sum(1 for c in self.comparisons if c.estimate is not None and c.verdict != NOT_COMPARED)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.comparisons:
            counts[c.verdict] = counts.get(c.verdict, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "threshold": self.threshold,
            "confidence": self.confidence,
            "baseline_hardware": self.baseline_hardware,
            "current_hardware": self.current_hardware,
            "regressed": self.regressed,
            "compared": self.compared,
            "counts": self.counts(),
            "warnings": self.warnings,
            "comparisons": [c.to_dict() for c in self.comparisons],
        }


def _newest_by_key(records: list[Record], role: str, warnings: list[str]) -> dict[tuple, Record]:
    chosen: dict[tuple, Record] = {}
    repeats = 0
    for record in sorted(records, key=lambda r: r.created):
        if record.match_key() in chosen:
            repeats += 1
        chosen[record.match_key()] = record
    if repeats:
        warnings.append(f"{role} holds {repeats} repeated measurement(s) of the same point; the newest of each is used")
    return chosen


def _settings_note(record: Record, other_side: dict[tuple, Record], own_side: dict[tuple, Record]) -> str:
    """Why a point went unmatched when the other side ran it (unmatched too) with other settings:
    the params that differ."""
    twins = [r for k, r in other_side.items() if k[:-1] == record.match_key()[:-1] and k not in own_side]
    if not twins:
        return ""
    other = twins[0].params
    names = sorted(k for k in set(record.params) | set(other)
                   if k not in DESCRIPTIVE_PARAMS and record.params.get(k) != other.get(k))
    return "same point with other settings on the other side: " + ", ".join(
        f"{n} {record.params.get(n)!r} vs {other.get(n)!r}" for n in names)


def _compare_pair(base: Record, cur: Record, metric: str, threshold: float, confidence: float) -> Comparison:
    key = base.match_key()
    if base.status != "ok" or cur.status != "ok":
        return Comparison(key, base, cur, NOT_COMPARED, note=f"status: baseline {base.status}, current {cur.status}")
    n_base = sum(1 for s in base.samples_s if is_number(s))
    n_cur = sum(1 for s in cur.samples_s if is_number(s))
    if n_base < MIN_SAMPLES or n_cur < MIN_SAMPLES:
        return Comparison(key, base, cur, NOT_COMPARED, note=f"too few raw samples (baseline {n_base}, current {n_cur})")
    try:
        estimate = estimate_change(base.samples_s, cur.samples_s, metric, confidence=confidence)
    except ValueError as exc:
        return Comparison(key, base, cur, NOT_COMPARED, note=str(exc))
    notes = []
    if min_attainable_p(estimate.n_baseline, estimate.n_current) >= alpha_for(confidence):
        notes.append(f"only {estimate.n_baseline} vs {estimate.n_current} samples: too few for any change to be significant")
    noisy = [f"{role} IQR {spread * 100:.0f}%" for role, spread in
             (("baseline", _iqr_rel(base.samples_s)), ("current", _iqr_rel(cur.samples_s))) if spread > NOISY_IQR_REL]
    if noisy:
        # A busy machine shifts whole runs: the statistics then see a real change whose cause is load.
        notes.append(f"noisy ({', '.join(noisy)} of median): check machine load")
    return Comparison(key, base, cur, verdict(estimate, threshold), estimate, note="; ".join(notes))


def _iqr_rel(samples: list[float]) -> float:
    q25, q50, q75 = np.percentile([s for s in samples if is_number(s)], [25, 50, 75])
    return float((q75 - q25) / q50) if q50 > 0 else 0.0


def compare_records(
    baseline: list[Record],
    current: list[Record],
    *,
    metric: str = "median",
    threshold: float = 0.05,
    confidence: float = 0.95,
    allow_different_hardware: bool = False,
) -> CompareResult:
    if metric not in METRICS:
        raise InputError(f"--metric {metric!r} is not one of {', '.join(METRICS)}")
    warnings: list[str] = []
    base_map = _newest_by_key(baseline, "baseline", warnings)
    cur_map = _newest_by_key(current, "current", warnings)
    matched = [k for k in base_map if k in cur_map]
    if not matched:
        raise InputError(
            "no current result matches a baseline result (same kind, model, workload, precision, batch size, input"
            " and settings such as model size, roi, overlap or points)"
        )
    mismatched = sorted({(base_map[k].hardware, cur_map[k].hardware) for k in matched
                         if base_map[k].hardware != cur_map[k].hardware})
    if mismatched:
        pairs = "; ".join(f"{b!r} vs {c!r}" for b, c in mismatched)
        message = f"baseline and current ran on different hardware ({pairs}): timings are not comparable"
        if not allow_different_hardware:
            raise InputError(message + "; pass --allow-different-hardware to compare anyway")
        warnings.append(message)
    comparisons = [_compare_pair(base_map[k], cur_map[k], metric, threshold, confidence) for k in matched]
    comparisons += [Comparison(k, base_map[k], None, ONLY_BASELINE, note=_settings_note(base_map[k], cur_map, base_map))
                    for k in base_map if k not in cur_map]
    comparisons += [Comparison(k, None, cur_map[k], ONLY_CURRENT, note=_settings_note(cur_map[k], base_map, cur_map))
                    for k in cur_map if k not in base_map]
    return CompareResult(
        comparisons=comparisons,
        metric=metric,
        threshold=threshold,
        confidence=confidence,
        baseline_hardware=sorted({r.hardware for r in baseline}),
        current_hardware=sorted({r.hardware for r in current}),
        warnings=warnings,
    )


def compare_paths(baseline: str | Path, current: str | Path, **options: Any) -> CompareResult:
    base = load_results([baseline], role="baseline")
    cur = load_results([current], role="current")
    result = compare_records(base.records, cur.records, **options)
    result.warnings[:0] = base.warnings + cur.warnings
    return result

