"""Soak analysis: did sustained load slow this machine down, and why? Pure functions, no model code.

Input: throughput windows `[{"t_start", "t_end", "items", "items_per_s"}, ...]` in the sampler's
time base (stamp them with `TelemetrySampler.now()`), and the telemetry samples (or, with less
detail, the `summary()` dict). The first window is warm-up; "first steady" is the second.

The verdict, in this order (thresholds in `SoakThresholds`):

1. `throttling (thermal)`: a thermal reason (sw_thermal, hw_thermal) was active for at least
   `throttle_share` (5 %) of the soak. The cooler is the limit, whether or not throughput fell yet.
2. If throughput fell by `drift_pct` (5 %) or more from the first steady window to the last, or the
   clock did (GPU SM clock; CPU frequency without GPU):
   `throttling (power)` / `throttling (other)` for the category active longest (at least 5 % of
   the time: power = sw_power_cap, hw_power_brake; other = hw_slowdown, sync_boost, ...);
   `throttling (other)` when the clock fell with no reason reported; otherwise
   `unstable timings` (slower with no sign from the hardware: contention, memory pressure).
3. `unstable timings`: throughput moved by `drift_pct` or more either way, or the steady windows
   spread (coefficient of variation) by more than `spread_pct` (5 %).
4. `stable` otherwise. Running at the power limit without losing throughput is normal for a GPU
   under full load and is stated in `notes`, not called throttling.

With fewer than two windows there is no steady window to compare: the verdict is `too short`
unless step 1 already applies.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from segbench.probe.nvml import reason_category, throttling
from segbench.telemetry.sampler import sample_spans, summarize, throttle_signals

VERDICTS = ("stable", "throttling (thermal)", "throttling (power)", "throttling (other)", "unstable timings", "too short")


@dataclass(frozen=True)
class SoakThresholds:
    drift_pct: float = 5.0  # throughput or clock change, last vs first steady window, that is real
    spread_pct: float = 5.0  # coefficient of variation of steady windows above which timings are unstable
    throttle_share: float = 0.05  # share of the soak under one throttle category that counts


@dataclass
class SoakVerdict:
    verdict: str
    reason: str  # one sentence: why this verdict
    n_windows: int
    first_steady_items_per_s: float | None
    last_items_per_s: float | None
    throughput_drift_pct: float | None  # negative: slower at the end
    spread_pct: float | None
    clock_drift_pct: float | None  # negative: lower clock at the end
    clock_signal: str | None
    peak_temperature_c: float | None
    peak_temperature_signal: str | None
    measured_s: float
    throttled_s: float  # time with any throttling reason (an upper bound of each reason's time)
    throttle_s: dict[str, float] = field(default_factory=dict)  # per reason
    throttle_category_s: dict[str, float] = field(default_factory=dict)  # thermal / power / other
    notes: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(new: float, old: float) -> float | None:
    return None if not old else round((new - old) / old * 100.0, 2)


def _throttle_times(samples: Sequence[dict[str, Any]], interval_s: float) -> tuple[float, dict[str, float], dict[str, float], float]:
    """(total span, seconds per reason, seconds per category, seconds with any reason)."""
    per_reason: dict[str, float] = {}
    per_category: dict[str, float] = {}
    any_s = 0.0
    spans = sample_spans(samples, interval_s)
    for sample, span in zip(samples, spans):
        reasons = {r for _, names in throttle_signals(sample) for r in throttling(names)}
        for reason in reasons:
            per_reason[reason] = per_reason.get(reason, 0.0) + span
        for category in {reason_category(r) for r in reasons}:
            per_category[category] = per_category.get(category, 0.0) + span
        if reasons:
            any_s += span
    return sum(spans), per_reason, per_category, any_s


def _mean_in(samples: Sequence[dict[str, Any]], key: str, t0: float, t1: float) -> float | None:
    values = [s[key] for s in samples if t0 <= s["t"] <= t1 and isinstance(s.get(key), (int, float))]
    return statistics.fmean(values) if values else None


def _clock_drift(samples: Sequence[dict[str, Any]], first: dict, last: dict) -> tuple[float | None, str | None]:
    """The largest clock loss between two windows: GPU SM clocks, else the CPU frequency."""
    keys = sorted({k for s in samples for k in s if k.endswith(".sm_clock_mhz")}) or ["cpu.freq_mhz"]
    worst: tuple[float | None, str | None] = (None, None)
    for key in keys:
        before = _mean_in(samples, key, first["t_start"], first["t_end"])
        after = _mean_in(samples, key, last["t_start"], last["t_end"])
        if before is None or after is None:
            continue
        drift = _pct(after, before)
        if drift is not None and (worst[0] is None or drift < worst[0]):
            worst = (drift, key)
    return worst


def _peak_temperature(signals: dict[str, dict[str, float]]) -> tuple[float | None, str | None]:
    gpu = {k: v["max"] for k, v in signals.items() if k.endswith(".temperature_c") and k.startswith("gpu")}
    source = gpu or {k: v["max"] for k, v in signals.items() if k == "cpu.temp_c"}
    if not source:
        return None, None
    key = max(source, key=source.get)
    return source[key], key


def analyze(
    windows: Sequence[dict[str, Any]],
    telemetry: Sequence[dict[str, Any]] | dict[str, Any],
    thresholds: SoakThresholds = SoakThresholds(),
    interval_s: float = 0.1,
) -> SoakVerdict:
    """Judge a soak from its throughput windows and telemetry (samples, or a summary dict)."""
    notes: list[str] = []
    if isinstance(telemetry, dict):  # a summary: no per-window clocks, no union of reasons
        summary = telemetry
        interval_s = float(summary.get("interval_s", interval_s))
        measured_s = float(summary.get("duration_s", 0.0)) + interval_s if summary.get("n_samples") else 0.0
        per_reason = dict(summary.get("throttle_s", {}))
        per_category: dict[str, float] = {}
        for reason, seconds in per_reason.items():
            category = reason_category(reason)
            per_category[category] = max(per_category.get(category, 0.0), seconds)
        any_s = max(per_reason.values(), default=0.0)
        samples: Sequence[dict[str, Any]] = []
        notes.append("judged from a telemetry summary: clock drift not available")
    else:
        samples = sorted(telemetry, key=lambda s: s["t"])
        summary = summarize(samples, interval_s)
        measured_s, per_reason, per_category, any_s = _throttle_times(samples, interval_s)
    peak, peak_key = _peak_temperature(summary.get("signals", {}))

    n = len(windows)
    first = windows[1] if n >= 2 else None
    last = windows[-1] if n >= 2 else None
    steady = [float(w["items_per_s"]) for w in windows[1:]]
    drift = _pct(float(last["items_per_s"]), float(first["items_per_s"])) if n >= 3 else None
    spread = (
        round(statistics.stdev(steady) / statistics.fmean(steady) * 100.0, 2)
        if len(steady) >= 2 and statistics.fmean(steady) > 0
        else None
    )
    clock_drift, clock_key = _clock_drift(samples, first, last) if (n >= 3 and samples) else (None, None)
    if n == 2:
        notes.append("only one steady window: throughput drift needs at least three windows")

    share = {cat: (sec / measured_s if measured_s > 0 else 0.0) for cat, sec in per_category.items()}
    limit = thresholds.throttle_share
    slowed = drift is not None and drift <= -thresholds.drift_pct
    clock_fell = clock_drift is not None and clock_drift <= -thresholds.drift_pct

    def described(cat: str) -> str:
        reasons = sorted(r for r in per_reason if reason_category(r) == cat)
        return f"{', '.join(reasons)} active {share[cat] * 100:.0f} % of the time"

    if share.get("thermal", 0.0) >= limit:
        verdict, reason = "throttling (thermal)", described("thermal")
    elif n < 2:
        verdict, reason = "too short", "fewer than two throughput windows: nothing steady to compare"
    elif slowed or clock_fell:
        what = f"throughput {drift:+.1f} %" if slowed else f"{clock_key} {clock_drift:+.1f} %"
        candidates = [c for c in ("power", "other") if share.get(c, 0.0) >= limit]
        if candidates:
            cat = max(candidates, key=lambda c: share[c])
            verdict, reason = f"throttling ({cat})", f"{what} with {described(cat)}"
        elif clock_fell:
            verdict, reason = "throttling (other)", f"{what}, clocks fell with no throttle reason reported"
        else:
            verdict, reason = "unstable timings", f"{what} with no throttling or clock drop to explain it"
    elif drift is not None and abs(drift) >= thresholds.drift_pct:
        verdict, reason = "unstable timings", f"throughput {drift:+.1f} % from the first steady window to the last"
    elif spread is not None and spread > thresholds.spread_pct:
        verdict, reason = "unstable timings", f"steady windows vary by {spread:.1f} % (coefficient of variation)"
    else:
        verdict = "stable"
        reason = (f"throughput {drift:+.1f} % from the first steady window to the last, no throttling"
                  if drift is not None else "no throttling seen (one steady window: drift not measurable)")

    if verdict == "stable" and share.get("power", 0.0) >= limit:
        notes.append(f"ran at its power limit ({described('power')}) without losing throughput: normal under full load")
    if verdict != "too short" and any_s > 0 and not verdict.startswith("throttling"):
        notes.append(f"throttle reasons seen for {any_s:.1f} s in all")

    return SoakVerdict(
        verdict=verdict,
        reason=reason,
        n_windows=n,
        first_steady_items_per_s=None if first is None else float(first["items_per_s"]),
        last_items_per_s=None if last is None else float(last["items_per_s"]),
        throughput_drift_pct=drift,
        spread_pct=spread,
        clock_drift_pct=clock_drift,
        clock_signal=clock_key,
        peak_temperature_c=peak,
        peak_temperature_signal=peak_key,
        measured_s=round(measured_s, 3),
        throttled_s=round(any_s, 3),
        throttle_s={k: round(v, 3) for k, v in sorted(per_reason.items())},
        throttle_category_s={k: round(v, 3) for k, v in sorted(per_category.items())},
        notes=notes,
        thresholds=asdict(thresholds),
    )
