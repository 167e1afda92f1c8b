"""Latency statistics: the median is the headline, percentiles and IQR give the spread."""

from __future__ import annotations

from typing import Sequence

import numpy as np

# torch.utils.benchmark warns when IQR/median exceeds about this; so do we.
NOISY_IQR_REL = 0.1


def summarize(samples: Sequence[float]) -> dict[str, float | int]:
    """Order statistics of `samples` (seconds). Empty input gives n=0 and nothing else."""
    values = np.asarray(list(samples), dtype=float)
    if values.size == 0:
        return {"n": 0}
    p10, p25, median, p75, p90, p99 = np.percentile(values, [10, 25, 50, 75, 90, 99])
    iqr = float(p75 - p25)
    return {
        "n": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "min": float(values.min()),
        "p10": float(p10),
        "p25": float(p25),
        "median": float(median),
        "p75": float(p75),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(values.max()),
        "iqr": iqr,
        "iqr_rel": iqr / float(median) if median > 0 else 0.0,
    }


def scaled(stats: dict[str, float | int], factor: float) -> dict[str, float | int]:
    """The same statistics with every time divided by `factor` (batch -> per item)."""
    return {k: (v if k in ("n", "iqr_rel") else v / factor) for k, v in stats.items()}


def is_noisy(stats: dict[str, float | int]) -> bool:
    return stats.get("n", 0) > 1 and float(stats.get("iqr_rel", 0.0)) > NOISY_IQR_REL
