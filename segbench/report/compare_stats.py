"""Statistics for the regression gate: the relative change of a latency metric with a bootstrap
confidence interval, and a Mann–Whitney U test on the raw per-iteration samples.

A change is called only when both agree (the asv / pytest-benchmark habit): the whole interval
lies beyond the threshold AND the rank test says the two sample sets differ. Either alone trips on
noise: a tight CI says nothing about skewed timing distributions, and a significant test alone
flags differences far too small to matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import mannwhitneyu

METRICS = ("median", "mean", "p90")
REGRESSED, IMPROVED, UNCHANGED = "regressed", "improved", "unchanged"
MIN_SAMPLES = 2


@dataclass(frozen=True)
class ChangeEstimate:
    metric: str
    baseline: float  # metric of the baseline samples, seconds
    current: float
    change: float  # current / baseline - 1; +0.20 = 20% slower
    ci_low: float
    ci_high: float
    confidence: float
    p_slower: float  # one-sided Mann–Whitney U: current tends to take longer than baseline
    p_faster: float  # one-sided: current tends to take less time
    n_baseline: int
    n_current: int

    @property
    def p_value(self) -> float:
        """The p-value in the direction of the observed change (what a table shows)."""
        return self.p_slower if self.change >= 0 else self.p_faster


def metric_of(samples: np.ndarray, metric: str, axis: int = -1) -> np.ndarray | float:
    if metric == "median":
        return np.median(samples, axis=axis)
    if metric == "mean":
        return np.mean(samples, axis=axis)
    if metric == "p90":
        return np.percentile(samples, 90, axis=axis)
    raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")


def _bootstrap(samples: np.ndarray, metric: str, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """`resamples` bootstrap replicates of the metric, drawn in chunks to bound memory."""
    n = samples.size
    out = np.empty(resamples)
    chunk = max(1, min(resamples, 4_000_000 // max(n, 1)))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = metric_of(samples[idx], metric, axis=1)
    return out


def _finite(samples) -> np.ndarray:
    """Numbers only: a null or string in a hand-edited file is dropped, not a crash."""
    values = [s for s in samples if isinstance(s, (int, float)) and not isinstance(s, bool)]
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def _p(value: float) -> float:
    # NaN when every sample on both sides is identical: no evidence of a difference.
    value = float(value)
    return value if math.isfinite(value) else 1.0


def estimate_change(
    baseline: np.ndarray | list[float],
    current: np.ndarray | list[float],
    metric: str = "median",
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> ChangeEstimate:
    """Relative change of `metric` from `baseline` to `current` samples, with a percentile bootstrap CI.

    Seeded so the same inputs always give the same answer (a CI gate must be reproducible).
    """
    base, cur = _finite(baseline), _finite(current)
    if base.size < MIN_SAMPLES or cur.size < MIN_SAMPLES:
        raise ValueError(f"need at least {MIN_SAMPLES} samples on each side (have {base.size} and {cur.size})")
    b_value, c_value = float(metric_of(base, metric)), float(metric_of(cur, metric))
    if b_value <= 0:
        raise ValueError("baseline metric is not positive")
    rng = np.random.default_rng(seed)
    b_boot = _bootstrap(base, metric, resamples, rng)
    c_boot = _bootstrap(cur, metric, resamples, rng)
    ratios = c_boot / np.where(b_boot > 0, b_boot, np.nan) - 1.0
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.nanpercentile(ratios, [tail, 100.0 - tail])
    # One-sided tests, one per verdict: each call is then made at level alpha in its own direction.
    p_slower = _p(mannwhitneyu(cur, base, alternative="greater").pvalue)
    p_faster = _p(mannwhitneyu(cur, base, alternative="less").pvalue)
    return ChangeEstimate(
        metric=metric,
        baseline=b_value,
        current=c_value,
        change=c_value / b_value - 1.0,
        ci_low=float(low),
        ci_high=float(high),
        confidence=confidence,
        p_slower=p_slower,
        p_faster=p_faster,
        n_baseline=int(base.size),
        n_current=int(cur.size),
    )


def alpha_for(confidence: float) -> float:
    """Significance level matching a confidence level (rounded: 1 - 0.95 is 0.05000000000000004)."""
    return round(1.0 - confidence, 12)


def verdict(estimate: ChangeEstimate, threshold: float, alpha: float | None = None) -> str:
    """`regressed` when even the CI's optimistic end is slower than `threshold` and the test is
    significant; `improved` symmetrically; otherwise `unchanged`. alpha defaults to 1 - confidence."""
    alpha = alpha_for(estimate.confidence) if alpha is None else alpha
    if estimate.ci_low > threshold and estimate.p_slower < alpha:
        return REGRESSED
    if estimate.ci_high < -threshold and estimate.p_faster < alpha:
        return IMPROVED
    return UNCHANGED


def min_attainable_p(n_baseline: int, n_current: int) -> float:
    """The smallest one-sided Mann–Whitney p-value these sample sizes allow (exact test, no ties):
    with 3 and 3 samples it is 0.05, so no change can ever be significant at alpha = 0.05."""
    if n_baseline + n_current > 60:  # far below any alpha; also keeps comb() within float range
        return 0.0
    return 1.0 / math.comb(n_baseline + n_current, n_baseline)
