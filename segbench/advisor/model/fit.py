"""The fitted performance model and its stated error.

The efficiencies, the per-kernel overheads and the share of launches and elementwise traffic
`torch.compile` leaves (`roofline.PARAMETERS`) are fitted by robust (soft L1) least squares on log time, bounded,
with a weak pull toward physically sensible values so a parameter that one reference alone
constrains stays sane, to the reference points (`references.py`). `leave_one_out` refits without
each point in turn and predicts it: that is the error stated. The fit and its leave-one-out table
are cached in the profile `perfmodel_fit.yaml`, keyed by a digest of every input file; when the
inputs changed since, the parameters are refitted on load and the cached error is flagged stale.

    python -m segbench.maintenance loo                  # the leave-one-out table and its summary
    python -m segbench.maintenance fit --out FILE       # refit and write the cache
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from segbench.advisor.model.references import Reference, all_references, base_params, held_out_references
from segbench.advisor.model.roofline import MODEL_VERSION, PARAMETERS, Params, matrix, terms
from segbench.profiles import profile_path
from segbench.profiles.reading import read_yaml

FIT_FILE = "perfmodel_fit.yaml"
INPUT_FILES = ("gpus.yaml", "published.yaml", "calibration.yaml", "reference_runs.yaml", "footprints.yaml")
ROBUST_SCALE = 0.2  # log-error beyond which a residual counts linearly (soft_l1)
PRIOR_WEIGHT = 0.15  # residual weight of the pull toward the prior, per log unit
# Residual weights by the quality of a reference: community figures (forum posts, other
# implementations) count half.
QUALITY_WEIGHT = {"official": 1.0, "paper": 1.0, "vendor-docs": 1.0, "measured": 1.0, "community": 0.5}


def _prior(base: Params) -> np.ndarray:
    return base.with_vector(np.log([v[1] for v in PARAMETERS.values()])).vector()


def fit_matrix(x: np.ndarray, seconds: np.ndarray, base: Params, weights: np.ndarray | None = None) -> Params:
    """The parameters that best explain rows `x` measured at `seconds` per item."""
    from scipy.optimize import least_squares

    prior = _prior(base)
    target = np.log(seconds)
    w = np.ones(len(seconds)) if weights is None else np.asarray(weights, dtype=float)

    def residuals(values: np.ndarray) -> np.ndarray:
        p = base.with_vector(values)
        return np.concatenate([w * (np.log(terms(x, p)["per_item"]) - target), PRIOR_WEIGHT * (values - prior)])

    lower = np.log([v[0] for v in PARAMETERS.values()])
    upper = np.log([v[2] for v in PARAMETERS.values()])
    # soft_l1: errors beyond about ROBUST_SCALE count linearly, so one community figure with conditions
    # nobody stated cannot drag every parameter toward it.
    result = least_squares(residuals, prior, bounds=(lower, upper), loss="soft_l1", f_scale=ROBUST_SCALE)
    return base.with_vector(result.x)


def fit(refs: Sequence[Reference], base: Params | None = None) -> Params:
    base = base or Params()
    return fit_matrix(matrix([r.features() for r in refs]), np.array([r.seconds_per_item for r in refs]), base,
                      np.array([QUALITY_WEIGHT.get(r.quality, 1.0) for r in refs]))


@dataclass
class LooResult:
    rows: list[tuple[Any, float, float]] = field(default_factory=list)  # (point, predicted, abs % error)

    @property
    def errors(self) -> list[float]:
        return [e for _, _, e in self.rows]

    @property
    def median(self) -> float:
        return statistics.median(self.errors) if self.rows else float("nan")

    @property
    def worst(self) -> float:
        return max(self.errors) if self.rows else float("nan")

    def summary(self) -> str:
        return (f"leave-one-out over {len(self.rows)} reference points: median {self.median:.0f}% "
                f"and worst {self.worst:.0f}% absolute error")

    def by(self, key: Callable[[Any], str]) -> dict[str, tuple[int, float, float]]:
        """(points, median %, worst %) per group of points, `key(point)` naming a point's group."""
        groups: dict[str, list[float]] = {}
        for point, _, error in self.rows:
            groups.setdefault(key(point), []).append(error)
        return {k: (len(v), statistics.median(v), max(v)) for k, v in sorted(groups.items())}


def device_class(point: Any) -> str:
    """The kind of device a reference point was measured on: cpu, or the GPU's form factor (a row read
    back from an older cache may not say: "unknown")."""
    spec = getattr(point, "spec", None)
    return getattr(point, "device_class", None) or (spec.form_factor if spec is not None else "unknown")


def workload_of(point: Any) -> str:
    query = getattr(point, "query", None)
    return getattr(point, "workload", None) or (query.workload if query is not None else "unknown")


def leave_one_out(points: Sequence, fit_fn: Callable, predict_fn: Callable) -> LooResult:
    """For each point: fit on all the others, predict it, record the absolute % error.

    `fit_fn(points) -> model` and `predict_fn(model, point) -> (predicted, measured)`; generic so
    it can be tested on synthetic data.
    """
    result = LooResult()
    for i, point in enumerate(points):
        model = fit_fn([q for j, q in enumerate(points) if j != i])
        predicted, measured = predict_fn(model, point)
        result.rows.append((point, predicted, abs(predicted / measured - 1) * 100))
    return result


def reference_loo(refs: Sequence[Reference], base: Params) -> LooResult:
    return leave_one_out(refs, lambda subset: fit(subset, base), lambda p, ref: (ref.predicted_s(p), ref.seconds_per_item))


# ------------------------------------------------------------------------------ the cached fit


def inputs_digest() -> str:
    """A digest of everything the fit depends on: profile files and the formula's version."""
    h = hashlib.sha256(f"perfmodel v{MODEL_VERSION}".encode())
    for name in INPUT_FILES:
        path = profile_path(name)
        h.update(name.encode())
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:16]


@dataclass
class Fit:
    params: Params
    loo: LooResult
    current: bool  # False: the cache was made from other inputs (refresh it with the maintenance tools)


def compute_fit() -> Fit:
    refs = all_references()
    base = base_params()
    return Fit(fit(refs, base), reference_loo(refs, base), True)


def fit_document(result: Fit) -> dict[str, Any]:
    """What the cache file holds: the parameters, the leave-one-out table, the inputs' digest."""
    return {
        "inputs_digest": inputs_digest(),
        "params": result.params.to_dict(),
        "loo": {"median_pct": round(result.loo.median, 2), "worst_pct": round(result.loo.worst, 2),
                "by_workload": _groups(result.loo.by(workload_of)),
                "by_device_class": _groups(result.loo.by(device_class)),
                "points": [{"id": r.id, "device": r.spec.name, "device_class": device_class(r),
                            "workload": workload_of(r), "quality": r.quality,
                            "measured_s": float(f"{r.seconds_per_item:.6g}"), "predicted_s": float(f"{pred:.6g}"),
                            "error_pct": round(err, 2)} for r, pred, err in result.loo.rows]},
        "held_out": [{"id": r.id, "device": r.spec.name, "measured_s": float(f"{r.seconds_per_item:.6g}"),
                      "predicted_s": float(f"{pred:.6g}"), "error_pct": round(err, 2), "why": r.held_out}
                     for r, pred, err in held_out_rows(result.params)],
    }


def _groups(groups: dict[str, tuple[int, float, float]]) -> dict[str, dict[str, float]]:
    return {k: {"points": n, "median_pct": round(med, 2), "worst_pct": round(worst, 2)}
            for k, (n, med, worst) in groups.items()}


def held_out_rows(params: Params) -> list[tuple[Reference, float, float]]:
    """Held-out published figures predicted by the full fit: (point, predicted, abs % error)."""
    rows = []
    for ref in held_out_references():
        predicted = ref.predicted_s(params)
        rows.append((ref, predicted, abs(predicted / ref.seconds_per_item - 1) * 100))
    return rows


@dataclass(frozen=True)
class _CachedPoint:
    """A leave-one-out row read back from the cache: enough of a Reference for reports."""

    id: str
    spec_name: str
    quality: str
    seconds_per_item: float
    workload: str = ""
    device_class: str = ""


@lru_cache(maxsize=1)
def _fitted() -> Fit:
    path = profile_path(FIT_FILE)
    data = read_yaml(path) if path.exists() else None
    if not isinstance(data, dict) or "params" not in data:
        return Fit(fit(all_references(), base_params()), LooResult(), False)
    params = Params(**{k: float(v) for k, v in data["params"].items()})
    refs = {r.id: r for r in all_references()}
    loo = LooResult()
    for row in data["loo"]["points"]:
        point = refs.get(row["id"]) or _CachedPoint(row["id"], row["device"], row["quality"], row["measured_s"],
                                                    row.get("workload", ""), row.get("device_class", ""))
        loo.rows.append((point, float(row["predicted_s"]), float(row["error_pct"])))
    current = data.get("inputs_digest") == inputs_digest()
    if not current:  # inputs changed since the cache: refit (fast); keep the cached error table as the stated error
        params = fit(list(refs.values()), base_params())
    return Fit(params, loo, current)


def current_fit() -> Fit:
    """The fit in use: the cached one when current, else refitted now (its error table then stale)."""
    return _fitted()


def fitted() -> tuple[Params, LooResult]:
    """The fitted parameters and the leave-one-out error (from the cache when it is current)."""
    f = _fitted()
    return f.params, f.loo


STALE_FIT_NOTE = (f"profiles/{FIT_FILE} was made from other inputs: the parameters were refitted now, but the "
                  "leave-one-out error shown is the cached one (refresh it: python -m segbench.maintenance fit)")


def fit_is_current() -> bool:
    """False when the profiles changed since the cached fit: its leave-one-out table is then stale."""
    return _fitted().current
