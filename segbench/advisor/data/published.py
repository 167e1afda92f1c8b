"""Published reference timings (profile `published.yaml`), each with its exact conditions and source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segbench.advisor.data.catalog import Catalog, load_catalog
from segbench.advisor.data.sources import check_source, read_sources
from segbench.profiles import profile_path
from segbench.profiles.reading import Entry, read_yaml, section_list, top_level
from segbench.workload_catalog import SCOPES, WORKLOAD_NAMES

METRICS = ("fps", "latency_ms", "seconds_per_volume")
PUBLISHED_PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
# Engines that quantise (TensorRT INT8, as MLPerf submissions run) publish int8: kept as data, never
# predicted (the advisor's references are PyTorch timings only).
ENGINE_PRECISIONS = (*PUBLISHED_PRECISIONS, "int8")
QUALITIES = ("official", "paper", "vendor-docs", "community")
RUNTIMES = ("pytorch", "onnxruntime", "tensorrt")
# What a run worked on where it differs from the defaults (see segbench.cost.footprint.Query).
CONDITIONS = ("source_size", "frames", "volume", "with_prompt", "kept_masks", "points_per_side", "classes")


@dataclass(frozen=True)
class PublishedTiming:
    id: str
    model: str
    workload: str
    gpu: str
    precision: str
    batch_size: int
    resolution: str
    metric: str
    value: float
    compiled: bool
    runtime: str
    quality: str
    source: str
    scope: str = "predictor"
    conditions: tuple[tuple[str, Any], ...] = ()  # (name, value) pairs, hashable
    notes: str = ""
    assumed_fields: tuple[str, ...] = ()
    held_out: str = ""  # why the fit leaves this figure out (it is still shown, with its error), or ""

    def condition(self, name: str, default: Any = None) -> Any:
        return dict(self.conditions).get(name, default)


_TIMING_FIELDS = ("id", "model", "workload", "gpu", "precision", "batch_size", "resolution", "metric",
                  "value", "compiled", "runtime", "quality", "scope", "conditions", "assumed_fields", "notes",
                  "source", "held_out")


def load_published(path: Path | str | None = None, *, catalog: Catalog | None = None) -> list[PublishedTiming]:
    """Published reference timings with their exact conditions (default: profiles/published.yaml)."""
    from segbench.families.registry import published_names

    model_names = published_names()
    path = Path(path) if path is not None else profile_path("published.yaml")
    catalog = catalog or load_catalog()
    data = top_level(read_yaml(path), path, ("timings", "memory", "unmapped", "sources"))
    sources = read_sources(data, path)
    out: list[PublishedTiming] = []
    for i, raw in enumerate(section_list(data, "timings", path)):
        e = Entry.listed(raw, path, "timings", i, _TIMING_FIELDS, key="id")
        ident = e.text("id")
        if any(t.id == ident for t in out):
            raise e.fail("id", f"'{ident}' is used by another timing")
        gpu = e.text("gpu")
        spec = catalog.get(gpu)
        if spec is None:
            raise e.fail("gpu", f"'{gpu}' is not a catalog name; nearest: {', '.join(catalog.nearest(gpu))}")
        if "compiled" not in e.data:
            raise e.fail("compiled", "is missing (true or false)")
        assumed = e.strings("assumed_fields", required=False)
        for name in assumed:
            if name not in _TIMING_FIELDS:
                raise e.fail("assumed_fields", f"names unknown field '{name}'")
        out.append(PublishedTiming(
            id=ident,
            model=e.choice("model", model_names),
            workload=e.choice("workload", WORKLOAD_NAMES),
            gpu=spec.name,
            precision=_precision(e),
            batch_size=e.integer("batch_size"),
            resolution=e.text("resolution"),
            metric=e.choice("metric", METRICS),
            value=e.number("value", positive=True),
            compiled=e.flag("compiled"),
            runtime=e.choice("runtime", RUNTIMES, required=False, default="pytorch"),
            scope=e.choice("scope", SCOPES),
            conditions=_conditions(e),
            quality=e.choice("quality", QUALITIES),
            source=check_source(e, "source", e.text("source"), sources),
            notes=e.text("notes", required=False) or "",
            assumed_fields=assumed,
            held_out=e.text("held_out", required=False) or "",
        ))
    return out


def _precision(e: Entry) -> str:
    precision = e.choice("precision", ENGINE_PRECISIONS)
    if precision not in PUBLISHED_PRECISIONS and e.data.get("runtime", "pytorch") == "pytorch":
        raise e.fail("precision", f"'{precision}' is published by quantising engines only: give their runtime")
    return precision


@dataclass(frozen=True)
class PublishedMemory:
    """A published memory figure: a peak (`peak_gb`) or an out-of-memory report (`at_least_gb`, the card
    it did not fit on), with the job's conditions."""

    id: str
    model: str
    workload: str
    gpu: str | None  # a catalog name, or None when the source does not say
    peak_gb: float | None
    at_least_gb: float | None
    conditions: tuple[tuple[str, Any], ...]
    source: str
    notes: str = ""
    held_out: str = ""  # why it is not a check of the memory model (a different pipeline, unknown inputs)

    def condition(self, name: str, default: Any = None) -> Any:
        return dict(self.conditions).get(name, default)


_MEMORY_FIELDS = ("id", "model", "workload", "gpu", "peak_gb", "at_least_gb", "conditions", "source", "notes",
                  "held_out")


def load_published_memory(path: Path | str | None = None, *, catalog: Catalog | None = None
                          ) -> list[PublishedMemory]:
    """Published peaks and out-of-memory reports (the `memory:` section of published.yaml)."""
    from segbench.families.registry import published_names

    path = Path(path) if path is not None else profile_path("published.yaml")
    catalog = catalog or load_catalog()
    data = top_level(read_yaml(path), path, ("timings", "memory", "unmapped", "sources"))
    sources = read_sources(data, path)
    out: list[PublishedMemory] = []
    for i, raw in enumerate(section_list(data, "memory", path) if "memory" in data else []):
        e = Entry.listed(raw, path, "memory", i, _MEMORY_FIELDS, key="id")
        gpu = e.text("gpu", required=False)
        if gpu is not None and catalog.get(gpu) is None:
            raise e.fail("gpu", f"'{gpu}' is not a catalog name; nearest: {', '.join(catalog.nearest(gpu))}")
        peak = e.number("peak_gb", positive=True, required=False)
        at_least = e.number("at_least_gb", positive=True, required=False)
        if (peak is None) == (at_least is None):
            raise e.fail("peak_gb", "give exactly one of peak_gb (a measured peak) and at_least_gb (an OOM)")
        out.append(PublishedMemory(
            id=e.text("id"), model=e.choice("model", published_names()), workload=e.choice("workload", WORKLOAD_NAMES),
            gpu=catalog.get(gpu).name if gpu else None, peak_gb=peak, at_least_gb=at_least,
            conditions=_conditions(e), source=check_source(e, "source", e.text("source"), sources),
            notes=e.text("notes", required=False) or "", held_out=e.text("held_out", required=False) or ""))
    return out


def _conditions(e: Entry) -> tuple[tuple[str, Any], ...]:
    c = e.sub("conditions", CONDITIONS, required=False)
    if c is None:
        return ()
    out = []
    for name, value in c.data.items():
        if name == "with_prompt":
            out.append((name, c.flag(name)))
        elif name in ("source_size", "volume"):
            size = tuple(value) if isinstance(value, list) else ()
            if len(size) != (2 if name == "source_size" else 3) or not all(isinstance(v, int) and v > 0 for v in size):
                raise c.fail(name, f"must be a list of {2 if name == 'source_size' else 3} positive integers, got {value!r}")
            out.append((name, size))
        else:
            out.append((name, c.integer(name)))
    return tuple(sorted(out))
