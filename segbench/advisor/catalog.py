"""The advisor's data: GPU/CPU catalog, build tiers with computed costs, published timings.

Everything is read from `profiles/*.yaml` (or `$SEGBENCH_PROFILES`) with `yaml.safe_load` and
validated on load, so a broken profile fails with one line naming the file, entry and field.
The performance model and the `check`/`recommend` commands build on this module; it does no
prediction itself.

    catalog = load_catalog()
    spec = catalog.match("3060").spec          # GPUSpec for "RTX 3060 12GB"
    tiers = load_tiers(overrides={"RTX 3090": 700})
    low, high = tiers[0].cost_usd()
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from segbench.advisor.profile_yaml import (
    Entry,
    default_path,
    read_yaml,
    section_list,
    section_map,
    top_level,
)
from segbench.advisor.units import GIB
from segbench.errors import InputError

FORM_FACTORS = ("desktop", "laptop", "datacenter")
METRICS = ("fps", "latency_ms", "seconds_per_volume")
PUBLISHED_PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
QUALITIES = ("official", "paper", "vendor-docs", "community")
RUNTIMES = ("pytorch", "onnxruntime", "tensorrt")
CONDITIONS = ("new", "used")
COMPONENT_KINDS = ("cpu", "motherboard", "ram", "storage", "psu", "case", "cooler")
# Published names of models segbench counts under another registry name (same architecture):
# published timings may name either; everything else comes from segbench.models.registry.
PUBLISHED_MODEL_ALIASES = {"sam2-tiny": "sam2.1-tiny", "sam2-small": "sam2.1-small",
                           "sam2-base-plus": "sam2.1-base-plus", "sam2-large": "sam2.1-large"}

_PRECISION_ALIASES = {
    "fp32": "fp32", "float32": "fp32", "float": "fp32", "32": "fp32",
    "tf32": "tf32",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "16": "fp16",
    "bf16": "bf16", "bfloat16": "bf16",
}
# Words that carry no identity in a GPU/CPU name ("NVIDIA GeForce RTX 3060" == "rtx 3060").
_NOISE_WORDS = {"nvidia", "geforce", "tesla", "gpu", "graphics", "intel", "amd", "core",
                "processor", "r", "tm"}
_CPU_WORDS = {"cpu", "--gpu=cpu"}
_LOCAL_CPU_WORDS = {"this-cpu", "this cpu", "thiscpu", "local-cpu", "local cpu", "host", "this-machine"}
# Per-core figures for `this-cpu` come from this catalog entry, scaled by the cores we may use.
LOCAL_CPU_BASIS = "Generic 2-core cloud vCPU"


def normalize_precision(precision: str) -> str:
    key = str(precision).strip().lower()
    if key not in _PRECISION_ALIASES:
        raise InputError(f"unknown precision '{precision}'; use fp32, fp16, bf16 (or tf32)")
    return _PRECISION_ALIASES[key]


def _normalize_name(name: str) -> str:
    tokens = re.findall(r"[a-z0-9.]+", name.lower().replace("(r)", " ").replace("(tm)", " "))
    return "".join(t for t in tokens if t not in _NOISE_WORDS)


# ------------------------------------------------------------------------------ sources, prices


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    url: str | None
    accessed: str


@dataclass(frozen=True)
class PriceInfo:
    """Where a price band came from: `estimate` marks segbench estimates (not quotes)."""

    date: str
    source: str
    estimate: bool


def _read_sources(data: Mapping, path: Path) -> dict[str, Source]:
    sources = {}
    for key, raw in section_map(data, "sources", path).items():
        e = Entry(raw, path, f"sources: {key}", ("title", "url", "accessed"))
        url = e.data.get("url")
        if url is not None and not isinstance(url, str):
            raise e.fail("url", f"must be a string or null, got {url!r}")
        if "url" not in e.data:
            raise e.fail("url", "is missing (use null for a source with no address)")
        sources[str(key)] = Source(str(key), e.text("title"), url, e.date("accessed"))
    return sources


def _check_source(e: Entry, field_name: str, key: str, sources: Mapping[str, Source]) -> str:
    if key not in sources:
        raise e.fail(field_name, f"refers to source '{key}', which is not in the file's sources: section")
    return key


def _read_price(e: Entry, sources: Mapping[str, Source]):
    p = e.sub("price_usd", ("new", "used", "date", "source", "estimate"))
    for key in ("new", "used"):
        if key not in p.data:
            raise p.fail(key, "is missing (use null where there is no such price)")
    info = PriceInfo(p.date("date"), _check_source(p, "source", p.text("source"), sources), p.flag("estimate"))
    return p.price_range("new"), p.price_range("used"), info


# ------------------------------------------------------------------------------ specs


@dataclass(frozen=True)
class GPUSpec:
    name: str
    aliases: tuple[str, ...]
    architecture: str
    compute_capability: tuple[int, int]
    vram_gb: float
    memory_bandwidth_gbs: float
    fp32_tflops: float
    fp16_tensor_tflops: float
    bf16_tensor_tflops: float | None
    tdp_w: float
    form_factor: str
    sustained_clock_factor: float
    price_new: tuple[float, float] | None
    price_used: tuple[float, float] | None
    price: PriceInfo
    sources: tuple[str, ...]
    sustained_clock_basis: str | None = None
    sustained_clock_estimate: bool = False
    default_variant: bool = False
    launch_msrp_usd: float | None = None
    derived_fields: tuple[str, ...] = ()

    kind: ClassVar[str] = "gpu"

    @property
    def is_laptop(self) -> bool:
        return self.form_factor == "laptop"

    @property
    def vram_bytes(self) -> int:
        """The card's memory in bytes. Marketing "GB" on a GPU is GiB: a 6GB card has 6144 MiB in nvidia-smi."""
        return int(self.vram_gb * GIB)

    def peak_tflops(self, precision: str) -> float | None:
        """Spec-sheet peak for matmul-heavy work at `precision`, or None where there is no fast path.

        - fp32: the CUDA-core FP32 rate.
        - fp16: the tensor-core rate (FP32 accumulate). On cards whose native FP16 is slower than
          FP32 (Pascal, 1/64 rate) frameworks run half-precision matmuls with FP32 math, so the
          FP32 rate is returned rather than a 64x-slower figure nobody observes.
        - bf16: the BF16 tensor rate; None before Ampere. Do not substitute the FP16 rate: BF16
          autocast on those cards falls back to slow paths, so callers should flag it.
        - tf32: half the FP16 tensor rate on Ampere and later (A100 156 vs 312, RTX 3090 35.6 vs
          71 in NVIDIA's sheets); None before Ampere.
        """
        p = normalize_precision(precision)
        if p == "fp32":
            return self.fp32_tflops
        if p == "fp16":
            return max(self.fp16_tensor_tflops, self.fp32_tflops)
        if p == "bf16":
            return self.bf16_tensor_tflops
        return None if self.bf16_tensor_tflops is None else self.fp16_tensor_tflops / 2

    def sustained_tflops(self, precision: str) -> float | None:
        """`peak_tflops` scaled by the clock a long run holds (laptops < 1)."""
        peak = self.peak_tflops(precision)
        return None if peak is None else peak * self.sustained_clock_factor


@dataclass(frozen=True)
class CPUSpec:
    name: str
    aliases: tuple[str, ...]
    cores: int
    threads: int
    fp32_gflops: float
    fp32_gflops_basis: str
    memory_bandwidth_gbs: float
    memory_basis: str
    price_new: tuple[float, float] | None
    price_used: tuple[float, float] | None
    price: PriceInfo
    sources: tuple[str, ...]
    tdp_w: float | None = None
    bf16_gflops: float | None = None
    fp32_gflops_estimate: bool = False
    memory_estimate: bool = False
    default_variant: bool = False
    launch_msrp_usd: float | None = None

    kind: ClassVar[str] = "cpu"
    form_factor: ClassVar[str] = "cpu"
    sustained_clock_factor: ClassVar[float] = 1.0  # the gflops figure is already an all-core rate
    vram_gb: ClassVar[None] = None  # system RAM is a tier choice, not a CPU property
    vram_bytes: ClassVar[None] = None

    @property
    def is_laptop(self) -> bool:
        return False

    def peak_tflops(self, precision: str) -> float | None:
        """FP32 peak in TFLOPS; bf16 only where the catalog gives a native rate; fp16 None.

        tf32 is a CUDA setting that does nothing on a CPU, so it returns the FP32 rate.
        """
        p = normalize_precision(precision)
        if p in ("fp32", "tf32"):
            return self.fp32_gflops / 1000
        if p == "bf16" and self.bf16_gflops is not None:
            return self.bf16_gflops / 1000
        return None

    def sustained_tflops(self, precision: str) -> float | None:
        return self.peak_tflops(precision)


Spec = GPUSpec | CPUSpec


@dataclass(frozen=True)
class Match:
    """The result of `Catalog.match`: the spec, and a note to show the user when it was a guess."""

    spec: Spec
    note: str | None = None
    ambiguous: bool = False
    query: str = ""


_GPU_FIELDS = (
    "name", "aliases", "architecture", "compute_capability", "vram_gb", "memory_bandwidth_gbs",
    "fp32_tflops", "fp16_tensor_tflops", "bf16_tensor_tflops", "tdp_w", "form_factor",
    "sustained_clock_factor", "sustained_clock_basis", "sustained_clock_estimate", "price_usd",
    "sources", "default_variant", "launch_msrp_usd", "derived_fields", "notes",
)
_CPU_FIELDS = (
    "name", "aliases", "cores", "threads", "fp32_gflops", "fp32_gflops_basis", "fp32_gflops_estimate",
    "bf16_gflops", "memory_bandwidth_gbs", "memory_basis", "memory_estimate", "tdp_w", "price_usd",
    "sources", "default_variant", "launch_msrp_usd", "notes",
)


def _compute_capability(e: Entry) -> tuple[int, int]:
    value = e.data.get("compute_capability")
    if "compute_capability" not in e.data:
        raise e.fail("compute_capability", "is missing")
    if not isinstance(value, str) or not re.fullmatch(r"\d+\.\d+", value.strip()):
        raise e.fail("compute_capability", f'must be a quoted string like "8.6", got {value!r}')
    major, minor = value.strip().split(".")
    return int(major), int(minor)


def _source_keys(e: Entry, sources: Mapping[str, Source]) -> tuple[str, ...]:
    keys = e.strings("sources")
    if not keys:
        raise e.fail("sources", "must list at least one source key")
    for key in keys:
        _check_source(e, "sources", key, sources)
    return keys


def _read_gpu(raw, path: Path, index: int, sources: Mapping[str, Source]) -> GPUSpec:
    label = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else f"#{index}"
    e = Entry(raw, path, f"gpus[{index}] ({label})", _GPU_FIELDS)
    form = e.choice("form_factor", FORM_FACTORS)
    factor = e.number("sustained_clock_factor", positive=True)
    if factor > 1:
        raise e.fail("sustained_clock_factor", f"must be <= 1, got {factor!r}")
    basis = e.text("sustained_clock_basis", required=False)
    if factor < 1 and basis is None:
        raise e.fail("sustained_clock_basis", "is missing (needed when sustained_clock_factor < 1)")
    if "bf16_tensor_tflops" not in e.data:
        raise e.fail("bf16_tensor_tflops", "is missing (use null before Ampere)")
    price_new, price_used, info = _read_price(e, sources)
    derived = e.strings("derived_fields", required=False)
    for name in derived:
        if name not in _GPU_FIELDS:
            raise e.fail("derived_fields", f"names unknown field '{name}'")
    return GPUSpec(
        name=e.text("name"),
        aliases=e.strings("aliases", required=False),
        architecture=e.text("architecture"),
        compute_capability=_compute_capability(e),
        vram_gb=e.number("vram_gb", positive=True),
        memory_bandwidth_gbs=e.number("memory_bandwidth_gbs", positive=True),
        fp32_tflops=e.number("fp32_tflops", positive=True),
        fp16_tensor_tflops=e.number("fp16_tensor_tflops", positive=True),
        bf16_tensor_tflops=e.number("bf16_tensor_tflops", required=False, positive=True),
        tdp_w=e.number("tdp_w", positive=True),
        form_factor=form,
        sustained_clock_factor=factor,
        sustained_clock_basis=basis,
        sustained_clock_estimate=e.flag("sustained_clock_estimate"),
        price_new=price_new,
        price_used=price_used,
        price=info,
        sources=_source_keys(e, sources),
        default_variant=e.flag("default_variant"),
        launch_msrp_usd=e.number("launch_msrp_usd", required=False, positive=True),
        derived_fields=derived,
    )


def _read_cpu(raw, path: Path, index: int, sources: Mapping[str, Source]) -> CPUSpec:
    label = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else f"#{index}"
    e = Entry(raw, path, f"cpus[{index}] ({label})", _CPU_FIELDS)
    if "tdp_w" not in e.data:
        raise e.fail("tdp_w", "is missing (use null where it does not apply)")
    price_new, price_used, info = _read_price(e, sources)
    cores = e.integer("cores")
    threads = e.integer("threads")
    if threads < cores:
        raise e.fail("threads", f"must be >= cores ({cores}), got {threads}")
    return CPUSpec(
        name=e.text("name"),
        aliases=e.strings("aliases", required=False),
        cores=cores,
        threads=threads,
        fp32_gflops=e.number("fp32_gflops", positive=True),
        fp32_gflops_basis=e.text("fp32_gflops_basis"),
        fp32_gflops_estimate=e.flag("fp32_gflops_estimate"),
        bf16_gflops=e.number("bf16_gflops", required=False, positive=True),
        memory_bandwidth_gbs=e.number("memory_bandwidth_gbs", positive=True),
        memory_basis=e.text("memory_basis"),
        memory_estimate=e.flag("memory_estimate"),
        tdp_w=e.number("tdp_w", required=False, positive=True),
        price_new=price_new,
        price_used=price_used,
        price=info,
        sources=_source_keys(e, sources),
        default_variant=e.flag("default_variant"),
        launch_msrp_usd=e.number("launch_msrp_usd", required=False, positive=True),
    )


# ------------------------------------------------------------------------------ the catalog


@dataclass
class Catalog:
    gpus: list[GPUSpec]
    cpus: list[CPUSpec]
    sources: dict[str, Source]
    path: Path | None = None
    _index: dict[str, list[Spec]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for spec in [*self.gpus, *self.cpus]:
            for key in {_normalize_name(n) for n in (spec.name, *spec.aliases)} - {""}:
                bucket = self._index.setdefault(key, [])
                if spec not in bucket:
                    bucket.append(spec)

    def names(self) -> list[str]:
        return [s.name for s in self.gpus] + [s.name for s in self.cpus]

    def get(self, name: str) -> Spec | None:
        """The spec whose canonical name is `name` (case-insensitive), else None. No guessing."""
        wanted = name.strip().lower()
        return next((s for s in [*self.gpus, *self.cpus] if s.name.lower() == wanted), None)

    def match(self, name: str) -> Match:
        """Find a GPU or CPU target from a loose name; InputError with the nearest names if unknown.

        "3060", "rtx 3060 12gb", "RTX3060" and "NVIDIA GeForce RTX 3060" all find RTX 3060 12GB.
        A family name shared by several variants ("A100") takes the variant marked
        `default_variant` and says so in `note`. "cpu" is the CPU-only tier's processor;
        "this-cpu" is this machine's CPU, estimated from its core count.
        """
        query = str(name).strip()
        if not query:
            raise InputError("empty GPU name; give a name such as 'RTX 3060 12GB' or 'cpu'")
        lowered = query.lower()
        if lowered in _CPU_WORDS:
            spec = self._default_cpu()
            return Match(spec, f"'{query}' means the CPU-only build's processor; using {spec.name}", query=query)
        if lowered in _LOCAL_CPU_WORDS:
            return self._local_cpu(query)
        key = _normalize_name(query)
        found = self._index.get(key, [])
        if len(found) == 1:
            spec = found[0]
            note = None if key == _normalize_name(spec.name) else f"'{query}' matched {spec.name}"
            return Match(spec, note, query=query)
        if len(found) > 1:
            names = ", ".join(s.name for s in found)
            defaults = [s for s in found if s.default_variant]
            if len(defaults) != 1:
                raise InputError(f"'{query}' is ambiguous ({names}); name one of them")
            spec = defaults[0]
            return Match(spec, f"'{query}' is ambiguous ({names}); using {spec.name} (most common)",
                         ambiguous=True, query=query)
        raise InputError(f"unknown GPU '{query}'; nearest: {', '.join(self.nearest(query))} "
                         "(or 'cpu' / 'this-cpu'; the full list is in profiles/gpus.yaml)")

    def nearest(self, query: str, n: int = 5) -> list[str]:
        """Up to `n` catalog names closest to `query` (difflib ratio over names and aliases)."""
        key = _normalize_name(query) or query.lower()
        scored: dict[str, float] = {}
        for alias_key, specs in self._index.items():
            ratio = difflib.SequenceMatcher(None, key, alias_key).ratio()
            if len(key) >= 3 and key in alias_key:  # "4060ti" is part of "rtx4060ti16gb": rank it first
                ratio = max(ratio, 0.9 + len(key) / (100 * len(alias_key)))
            for spec in specs:
                scored[spec.name] = max(scored.get(spec.name, 0.0), ratio)
        return [name for name, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]

    def _default_cpu(self) -> CPUSpec:
        defaults = [c for c in self.cpus if c.default_variant] or self.cpus
        if not defaults:
            raise InputError(f"{self.path}: no CPU targets in the catalog's cpus: section")
        return defaults[0]

    def _local_cpu(self, query: str) -> Match:
        from segbench.advisor.localcpu import this_cpu_spec  # it reads the calibration, which reads the catalog

        facts = _local_cpu_facts()
        logical, physical = facts.get("logical_cores"), facts.get("physical_cores")
        threads = max(1, facts.get("usable_cores") or logical or 1)
        smt = max(1, round(logical / physical)) if logical and physical and logical >= physical else 1
        return this_cpu_spec(self, facts.get("model_name"), threads, smt=smt, label="this machine's CPU", query=query)


def _local_cpu_facts() -> dict:
    """This machine's CPU as segbench.probe reports it (model name, logical/physical/usable cores)."""
    from segbench.probe.host import cpu_info  # probe/ owns facts about this machine

    return cpu_info()


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Read and validate the GPU/CPU catalog (default: profiles/gpus.yaml), once per file version.

    Cached on the resolved path and the file's mtime and size: sweeps ask for it per record, and an
    edited file is read again. A missing file is not cached (read_yaml says so)."""
    path = Path(path) if path is not None else default_path("gpus.yaml")
    try:
        resolved = path.resolve()
        stat = resolved.stat()
    except OSError:
        return _read_catalog(path)
    return _cached_catalog(resolved, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _cached_catalog(path: Path, mtime_ns: int, size: int) -> Catalog:
    return _read_catalog(path)


def _read_catalog(path: Path) -> Catalog:
    data = top_level(read_yaml(path), path, ("gpus", "cpus", "sources"))
    sources = _read_sources(data, path)
    gpus = [_read_gpu(raw, path, i, sources) for i, raw in enumerate(section_list(data, "gpus", path))]
    cpus = [_read_cpu(raw, path, i, sources) for i, raw in enumerate(section_list(data, "cpus", path))]
    seen: dict[str, str] = {}
    for spec in [*gpus, *cpus]:
        key = spec.name.lower()
        if key in seen:
            raise InputError(f"{path}: name '{spec.name}' appears twice")
        seen[key] = spec.name
    if len([c for c in cpus if c.default_variant]) > 1:
        raise InputError(f"{path}: more than one CPU is marked default_variant")
    catalog = Catalog(gpus=gpus, cpus=cpus, sources=sources, path=path)
    # A name shared by several entries must pick one of them, or `match` could never resolve it.
    for key, specs in catalog._index.items():
        if len(specs) > 1 and sum(s.default_variant for s in specs) != 1:
            raise InputError(f"{path}: the name '{key}' is shared by {', '.join(s.name for s in specs)}; "
                             "mark exactly one of them default_variant: true or drop the alias")
    return catalog


# ------------------------------------------------------------------------------ components, tiers


@dataclass(frozen=True)
class Component:
    key: str
    kind: str
    title: str
    price_usd: tuple[float, float]
    price: PriceInfo
    catalog_cpu: str | None = None
    watts: float | None = None
    overridden: bool = False


@dataclass(frozen=True)
class GPUCandidate:
    name: str
    condition: str  # "new" or "used"
    price_usd: tuple[float, float]
    overridden: bool = False


@dataclass(frozen=True)
class Tier:
    name: str
    title: str
    description: str
    gpus: tuple[GPUCandidate, ...]
    components: tuple[Component, ...]

    @property
    def cpu(self) -> str | None:
        """The catalog CPU target of this build (for CPU-only predictions), if it names one."""
        return next((c.catalog_cpu for c in self.components if c.catalog_cpu), None)

    def candidate(self, gpu: str | None = None, condition: str | None = None) -> GPUCandidate | None:
        """The GPU candidate for `gpu` (canonical name, case-insensitive), default the first one."""
        if gpu is None:
            pool = [c for c in self.gpus if condition in (None, c.condition)]
            return pool[0] if pool else None
        wanted = gpu.strip().lower()
        for c in self.gpus:
            if c.name.lower() == wanted and condition in (None, c.condition):
                return c
        options = ", ".join(f"{c.name} ({c.condition})" for c in self.gpus) or "none"
        raise InputError(f"tier '{self.name}' has no GPU '{gpu}'{f' ({condition})' if condition else ''}; "
                         f"its candidates: {options}")

    def parts(self, gpu: str | None = None, condition: str | None = None) -> list[tuple[str, float, float]]:
        """Itemised (label, low, high) USD lines whose sum is `cost_usd`."""
        lines = [(c.title, *c.price_usd) for c in self.components]
        cand = self.candidate(gpu, condition)
        if cand is not None:
            lines.insert(0, (f"{cand.name} ({cand.condition})", *cand.price_usd))
        return lines

    def cost_usd(self, gpu: str | None = None, condition: str | None = None) -> tuple[float, float]:
        """(low, high) total build cost in USD: the chosen GPU candidate plus every component."""
        lines = self.parts(gpu, condition)
        return (sum(line[1] for line in lines), sum(line[2] for line in lines))


_COMPONENT_FIELDS = ("kind", "title", "price_usd", "date", "source", "estimate", "catalog_cpu", "watts", "notes")
_TIER_FIELDS = ("name", "title", "description", "gpus", "components", "notes")


def _read_components(raw_map: Mapping, path: Path, sources: Mapping[str, Source],
                     catalog: Catalog) -> dict[str, Component]:
    out = {}
    for key, raw in raw_map.items():
        e = Entry(raw, path, f"components: {key}", _COMPONENT_FIELDS)
        kind = e.choice("kind", COMPONENT_KINDS)
        price = e.price_range("price_usd")
        if price is None:
            raise e.fail("price_usd", "must be [low, high], not null")
        info = PriceInfo(e.date("date"), _check_source(e, "source", e.text("source"), sources), e.flag("estimate"))
        catalog_cpu = e.text("catalog_cpu", required=False)
        if catalog_cpu is not None and not isinstance(catalog.get(catalog_cpu), CPUSpec):
            raise e.fail("catalog_cpu", f"'{catalog_cpu}' is not a CPU in the catalog's cpus: section")
        watts = e.number("watts", required=kind == "psu", positive=True)
        out[str(key)] = Component(str(key), kind, e.text("title"), price, info, catalog_cpu, watts)
    return out


def load_components(path: Path | str | None = None, *, catalog: Catalog | None = None) -> dict[str, Component]:
    """Rest-of-build parts by key (default: profiles/components.yaml)."""
    path = Path(path) if path is not None else default_path("components.yaml")
    catalog = catalog or load_catalog()
    data = top_level(read_yaml(path), path, ("components", "sources"))
    return _read_components(section_map(data, "components", path), path, _read_sources(data, path), catalog)


def parse_price_overrides(items: Iterable[str]) -> dict[str, float]:
    """`--price NAME=USD` strings to {NAME: USD}; USD may be 0 for a part already owned."""
    from segbench.cli.params import parse_price

    return dict(parse_price(item) for item in items)


def _resolve_overrides(overrides: Mapping[str, float], components: Mapping[str, Component],
                       catalog: Catalog) -> tuple[dict[str, float], dict[str, float]]:
    """Split {NAME: USD} into component-key overrides and GPU-name overrides (canonical names)."""
    by_key: dict[str, float] = {}
    by_gpu: dict[str, float] = {}
    lower_keys = {k.lower(): k for k in components}
    for name, usd in overrides.items():
        if not isinstance(usd, (int, float)) or isinstance(usd, bool) or not math.isfinite(usd) or usd < 0:
            raise InputError(f"price override for '{name}' must be a number >= 0, got {usd!r}")
        if str(name).strip().lower() in lower_keys:
            by_key[lower_keys[str(name).strip().lower()]] = float(usd)
            continue
        if str(name).strip().lower() in _CPU_WORDS | _LOCAL_CPU_WORDS:
            cpu_keys = ", ".join(k for k, c in components.items() if c.kind == "cpu")
            raise InputError(f"--price '{name}': name the CPU part to reprice ({cpu_keys})")
        try:
            found = catalog.match(str(name))
        except InputError:
            found = None
        if found is not None and found.ambiguous:
            raise InputError(f"--price '{name}': {found.note.split(';')[0]}; name the exact variant")
        if found is not None and isinstance(found.spec, GPUSpec):
            by_gpu[found.spec.name] = float(usd)
            continue
        if found is not None and isinstance(found.spec, CPUSpec):
            keys = [k for k, c in components.items() if c.catalog_cpu == found.spec.name]
            if keys:
                for k in keys:
                    by_key[k] = float(usd)
                continue
        pool = list(components) + [g.name for g in catalog.gpus]
        near = difflib.get_close_matches(str(name), pool, n=5, cutoff=0.3) or pool[:5]
        raise InputError(f"--price '{name}': not a component key or GPU name; nearest: {', '.join(near)}")
    return by_key, by_gpu


def _read_gpu_prices(raw_map: Mapping, path: Path, catalog: Catalog) -> dict[str, dict[str, tuple[float, float] | None]]:
    out = {}
    for name, raw in raw_map.items():
        e = Entry(raw, path, f"gpu_prices: {name}", ("new", "used", "date", "notes"))
        spec = catalog.get(str(name))
        if not isinstance(spec, GPUSpec):
            raise InputError(f"{path}: gpu_prices: '{name}' is not a GPU name in the catalog; "
                             f"nearest: {', '.join(catalog.nearest(str(name)))}")
        out[spec.name] = {k: e.price_range(k, required=False) for k in CONDITIONS if k in e.data}
    return out


def load_tiers(overrides: Mapping[str, float] | None = None, path: Path | str | None = None, *,
               catalog: Catalog | None = None, components_path: Path | str | None = None) -> list[Tier]:
    """Build tiers with computed costs (default: profiles/tiers.yaml + components.yaml).

    `overrides` ({NAME: USD}, e.g. from `parse_price_overrides(--price ...)`) replace the price of
    a component key, a CPU named in the catalog, or a GPU name (both ends of its range).
    `path` may be a user profile file of the same shape as tiers.yaml; it may also carry its own
    `components:` (merged over components.yaml), `gpu_prices:` (per-GPU new/used ranges replacing
    the catalog's) and `sources:` sections.
    """
    path = Path(path) if path is not None else default_path("tiers.yaml")
    catalog = catalog or load_catalog()
    components = load_components(components_path, catalog=catalog)
    data = top_level(read_yaml(path), path, ("tiers",), ("components", "gpu_prices", "sources"))
    if "components" in data:
        local_sources = _read_sources(data, path) if "sources" in data else {}
        components.update(_read_components(section_map(data, "components", path), path, local_sources, catalog))
    gpu_prices = _read_gpu_prices(section_map(data, "gpu_prices", path), path, catalog) if "gpu_prices" in data else {}
    by_key, by_gpu = _resolve_overrides(overrides or {}, components, catalog)
    for key, usd in by_key.items():
        components[key] = replace(components[key], price_usd=(usd, usd), overridden=True)

    tiers: list[Tier] = []
    for i, raw in enumerate(section_list(data, "tiers", path)):
        label = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else f"#{i}"
        e = Entry(raw, path, f"tiers[{i}] ({label})", _TIER_FIELDS)
        name = e.text("name")
        if any(t.name == name for t in tiers):
            raise e.fail("name", f"'{name}' is used by another tier")
        parts = []
        for key in e.strings("components"):
            if key not in components:
                near = difflib.get_close_matches(key, list(components), n=3, cutoff=0.3)
                raise e.fail("components", f"refers to unknown component '{key}'"
                             + (f"; nearest: {', '.join(near)}" if near else ""))
            parts.append(components[key])
        raw_gpus = e.data.get("gpus")
        if not isinstance(raw_gpus, list):
            raise e.fail("gpus", f"must be a list (empty for a CPU-only tier), got {raw_gpus!r}")
        candidates = []
        for j, raw_gpu in enumerate(raw_gpus):
            g = Entry(raw_gpu, path, f"tiers[{i}] ({label}): gpus[{j}]", ("name", "condition"))
            spec = catalog.get(g.text("name"))
            if not isinstance(spec, GPUSpec):
                raise g.fail("name", f"'{g.data['name']}' is not a GPU name in the catalog; "
                             f"nearest: {', '.join(catalog.nearest(g.data['name']))}")
            condition = g.choice("condition", CONDITIONS)
            if spec.name in by_gpu:
                price, overridden = (by_gpu[spec.name], by_gpu[spec.name]), True
            else:
                table = gpu_prices.get(spec.name, {})
                price = table.get(condition, spec.price_new if condition == "new" else spec.price_used)
                overridden = condition in table
                if price is None:
                    raise g.fail("condition", f"{spec.name} has no {condition} price in the catalog; "
                                 f"give one with --price '{spec.name}=USD'")
            candidates.append(GPUCandidate(spec.name, condition, price, overridden))
        tiers.append(Tier(name, e.text("title"), e.text("description"), tuple(candidates), tuple(parts)))
    if not tiers:
        raise InputError(f"{path}: section 'tiers' is empty")
    return tiers


# ------------------------------------------------------------------------------ published timings


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
    notes: str = ""
    assumed_fields: tuple[str, ...] = ()


_TIMING_FIELDS = ("id", "model", "workload", "gpu", "precision", "batch_size", "resolution", "metric",
                  "value", "compiled", "runtime", "quality", "assumed_fields", "notes", "source")


def load_published(path: Path | str | None = None, *, catalog: Catalog | None = None) -> list[PublishedTiming]:
    """Published reference timings with their exact conditions (default: profiles/published.yaml)."""
    from segbench.models.registry import MODELS  # the registry (and torch) only when timings are read
    from segbench.workloads.registry import WORKLOADS

    model_names = (*MODELS, *PUBLISHED_MODEL_ALIASES)
    path = Path(path) if path is not None else default_path("published.yaml")
    catalog = catalog or load_catalog()
    data = top_level(read_yaml(path), path, ("timings", "sources"))
    sources = _read_sources(data, path)
    out: list[PublishedTiming] = []
    for i, raw in enumerate(section_list(data, "timings", path)):
        label = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{i}"
        e = Entry(raw, path, f"timings[{i}] ({label})", _TIMING_FIELDS)
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
            workload=e.choice("workload", tuple(WORKLOADS)),
            gpu=spec.name,
            precision=e.choice("precision", PUBLISHED_PRECISIONS),
            batch_size=e.integer("batch_size"),
            resolution=e.text("resolution"),
            metric=e.choice("metric", METRICS),
            value=e.number("value", positive=True),
            compiled=e.flag("compiled"),
            runtime=e.choice("runtime", RUNTIMES, required=False, default="pytorch"),
            quality=e.choice("quality", QUALITIES),
            source=_check_source(e, "source", e.text("source"), sources),
            notes=e.text("notes", required=False) or "",
            assumed_fields=assumed,
        ))
    return out
