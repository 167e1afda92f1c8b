"""Reference points: a measured time per item under stated conditions, on a known device.

Two kinds: published timings (profile `published.yaml`, each with its scope and conditions) and
runs measured on the calibration machine (`calibration.yaml`). The fit is made to these and its
stated error is how well it predicts each one left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from segbench.advisor.data.calibration import Calibration, load_calibration
from segbench.advisor.data.catalog import CPUSpec, GPUSpec, load_catalog
from segbench.advisor.data.published import PublishedTiming, load_published
from segbench.advisor.model.roofline import Params, features, matrix, terms
from segbench.cost.footprint import Footprint, Query
from segbench.families.costs import footprint
from segbench.families.registry import canonical_model
from segbench.workload_catalog import FULL, SCOPES


@dataclass(frozen=True)
class Reference:
    """A measured time per item under stated conditions, on a known device."""

    id: str
    query: Query
    spec: GPUSpec | CPUSpec
    seconds_per_item: float
    compiled: str  # none | encoder | full
    source: str  # published.yaml source key, or "measured here"
    quality: str  # official | paper | vendor-docs | community | measured
    label: str = ""
    scope: str = "predictor"  # encoder | predictor | pipeline: what the figure times
    held_out: str = ""  # why the fit leaves it out (published.yaml `held_out`), or ""

    def features(self) -> dict[str, float]:
        return _features(self.query, self.spec, self.compiled, self.scope)

    def predicted_s(self, p: Params) -> float:
        return float(terms(matrix([self.features()]), p)["per_item"][0])

    def footprint(self) -> Footprint:
        return _footprint(self.query)


@lru_cache(maxsize=512)
def _footprint(q: Query) -> Footprint:
    return footprint(q)


@lru_cache(maxsize=512)
def _features(q: Query, spec, compiled: str, scope: str) -> dict[str, float]:
    return features(_footprint(q), spec, compiled, scope)


def published_query(t: PublishedTiming) -> Query:
    """The footprint query of a published timing: its model, precision and batch, the network input
    its `resolution` gives ("HxW" for 2D, "WxHxD" for a 3D window) and its stated conditions."""
    text = t.resolution
    size = tuple(int(v) for v in text.split("x")) if "x" in text and text[0].isdigit() else ()
    return Query(
        canonical_model(t.model), t.workload, t.precision, t.batch_size,
        resolution=t.condition("source_size"),
        model_size=size if len(size) == 2 else None,
        roi=size if len(size) == 3 else None,
        volume=t.condition("volume"),
        frames=t.condition("frames", FULL.frames),
        with_prompt=t.condition("with_prompt", False),
        kept_masks=t.condition("kept_masks"),
        points_per_side=t.condition("points_per_side", FULL.points_per_side),
    )


def _compile_level(t) -> str:
    if not t.compiled:
        return "none"
    text = t.notes.lower()
    return "encoder" if "encoder compiled only" in text or "compile of the image encoder" in text else "full"


def published_references(catalog=None) -> list[Reference]:
    """PyTorch timings from published.yaml, one per distinct measurement (SAM 2.0 twins of SAM 2.1
    rows and a paper repeating a README figure are kept once, so leave-one-out cannot peek)."""
    catalog = catalog or load_catalog()
    out: list[Reference] = []
    seen: list[tuple] = []
    for t in load_published(catalog=catalog):
        if t.runtime != "pytorch":
            continue
        q = published_query(t)
        value = {"fps": 1 / t.value, "latency_ms": t.value / 1000, "seconds_per_volume": t.value}[t.metric]
        level = _compile_level(t)
        key = (q, t.gpu, level)
        if any(k == key and abs(v / value - 1) < 0.05 for k, v in seen):
            continue
        seen.append((key, value))
        out.append(Reference(t.id, q, catalog.get(t.gpu), value, level, t.source, t.quality,
                             f"{t.model} {t.workload} {t.gpu} {t.precision}" + (" compiled" if t.compiled else ""),
                             t.scope, t.held_out))
    return out


def measured_query(model: str, workload: str, precision: str, batch_size: int, c: dict) -> Query:
    """The footprint query of a run measured under conditions `c` (a calibration point's, or a folded
    run's): a 2D `model_size` is the network input, a 3D one (or `roi`) the sliding window."""
    size = tuple(c["model_size"]) if c.get("model_size") else None
    roi = tuple(c["roi"]) if c.get("roi") else size if size and len(size) == 3 else None
    return Query(
        model, workload, precision, batch_size,
        resolution=tuple(c["resolution"]) if c.get("resolution") else None,
        model_size=size if size and len(size) == 2 else None,
        frames=int(c.get("frames", FULL.frames)), points_per_side=int(c.get("points_per_side", FULL.points_per_side)),
        volume=tuple(c["volume"]) if c.get("volume") else None, roi=roi,
        kept_masks=int(c["kept_masks"]) if c.get("kept_masks") is not None else None,
    )


def measured_references(calibration: Calibration | None = None) -> list[Reference]:
    calibration = calibration or load_calibration()
    machine = calibration.reference_machine()
    out = []
    for m in calibration.measurements:
        c = m.conditions
        q = measured_query(m.model, m.workload, m.precision, m.batch_size, c)
        out.append(Reference(m.id, q, machine, m.seconds_per_item, "none", "measured here", "measured",
                             f"{m.model} {m.workload} this CPU {m.precision}", c.get("scope", "predictor")))
    return out


def run_references(catalog=None) -> list[Reference]:
    """Runs measured on catalogued GPUs and folded into the reference-runs profile."""
    from segbench.profiles import profile_path
    from segbench.profiles.reading import Entry, read_yaml, section_list, top_level

    path = profile_path(RUNS_FILE)
    if not path.exists():
        return []
    catalog = catalog or load_catalog()
    data = top_level(read_yaml(path), path, ("runs",))
    out = []
    for i, raw in enumerate(section_list(data, "runs", path)):
        e = Entry(raw, path, f"runs[{i}]", _RUN_FIELDS)
        spec = catalog.get(e.text("device"))
        if spec is None:
            raise e.fail("device", f"'{e.data['device']}' is not a catalog name")
        q = measured_query(e.text("model"), e.text("workload"), e.text("precision"), e.integer("batch_size"), e.data)
        out.append(Reference(e.text("id"), q, spec, e.number("seconds_per_item", positive=True), "none",
                             f"segbench run ({e.text('source')})", "measured",
                             f"{q.model} {q.workload} {spec.name} {q.precision}", e.choice("scope", SCOPES)))
    return out


RUNS_FILE = "reference_runs.yaml"
_RUN_FIELDS = ("id", "device", "model", "workload", "precision", "batch_size", "scope", "seconds_per_item", "samples",
               "measured", "source", "model_size", "resolution", "frames", "volume", "peak_allocated_bytes")


def all_references() -> list[Reference]:
    """The points the fit is made to (held-out figures excluded)."""
    return [r for r in published_references() if not r.held_out] + measured_references() + run_references()


def held_out_references() -> list[Reference]:
    """Published figures the fit leaves out, each with its reason: shown beside the error, never fitted."""
    return [r for r in published_references() if r.held_out]


def base_params(calibration: Calibration | None = None) -> Params:
    calibration = calibration or load_calibration()
    return Params(host_pixel_s=calibration.host_pixel_s, decode_pixel_s=calibration.decode_pixel_s,
                  decode_voxel_s=calibration.decode_voxel_s)
