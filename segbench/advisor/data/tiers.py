"""Builds to price: rest-of-build parts (profile `components.yaml`), the build tiers (`tiers.yaml`)
with their GPU candidates, and the user's price overrides (`--price NAME=USD`).

    tiers = load_tiers(overrides={"RTX 3090": 700})
    low, high = tiers[0].cost_usd()
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from segbench.advisor.data.catalog import CPU_WORDS, AmbiguousName, Catalog, CPUSpec, GPUSpec, load_catalog
from segbench.advisor.data.sources import PriceInfo, Source, check_source, read_sources
from segbench.errors import InputError
from segbench.profiles import profile_path
from segbench.profiles.reading import Entry, read_yaml, section_list, section_map, top_level

CONDITIONS = ("new", "used")
COMPONENT_KINDS = ("cpu", "motherboard", "ram", "storage", "psu", "case", "cooler")
# Names that mean a CPU target without naming a part (`--price cpu=...` cannot say which part).
_CPU_TARGET_WORDS = CPU_WORDS | {"this-cpu", "this cpu", "thiscpu", "local-cpu", "local cpu", "host", "this-machine"}


def parse_price(text: str) -> tuple[str, float]:
    """'RTX 3060 12GB=250' -> ('RTX 3060 12GB', 250.0); 0 is allowed for a part already owned."""
    name, sep, value = str(text).rpartition("=")
    name = name.strip()
    cleaned = value.strip().lstrip("$").replace(",", "").replace("_", "")
    try:
        price = float(cleaned) if re.fullmatch(r"\d+(\.\d+)?", cleaned) else math.nan
    except ValueError:
        price = math.nan
    if not sep or not name or not math.isfinite(price) or price < 0:
        raise InputError(
            f"--price {text!r}: expected NAME=USD with USD >= 0, "
            "e.g. --price 'RTX 3090=700' or --price ram-ddr4-32gb=60"
        )
    return name, price


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
        info = PriceInfo(e.date("date"), check_source(e, "source", e.text("source"), sources), e.flag("estimate"))
        catalog_cpu = e.text("catalog_cpu", required=False)
        if catalog_cpu is not None and not isinstance(catalog.get(catalog_cpu), CPUSpec):
            raise e.fail("catalog_cpu", f"'{catalog_cpu}' is not a CPU in the catalog's cpus: section")
        watts = e.number("watts", required=kind == "psu", positive=True)
        out[str(key)] = Component(str(key), kind, e.text("title"), price, info, catalog_cpu, watts)
    return out


def load_components(path: Path | str | None = None, *, catalog: Catalog | None = None) -> dict[str, Component]:
    """Rest-of-build parts by key (default: profiles/components.yaml)."""
    path = Path(path) if path is not None else profile_path("components.yaml")
    catalog = catalog or load_catalog()
    data = top_level(read_yaml(path), path, ("components", "sources"))
    return _read_components(section_map(data, "components", path), path, read_sources(data, path), catalog)


def parse_price_overrides(items: Iterable[str]) -> dict[str, float]:
    """`--price NAME=USD` strings to {NAME: USD}; USD may be 0 for a part already owned."""
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
        if str(name).strip().lower() in _CPU_TARGET_WORDS:
            cpu_keys = ", ".join(k for k, c in components.items() if c.kind == "cpu")
            raise InputError(f"--price '{name}': name the CPU part to reprice ({cpu_keys})")
        try:
            found = catalog.match(str(name))
        except AmbiguousName as exc:
            raise InputError(f"--price '{name}': {exc}") from None  # one price, one card
        except InputError:
            found = None
        if found is not None and found.ambiguous:
            raise InputError(f"--price '{name}': {found.note.split(';')[0]}; name the exact variant")  # one price, one card
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
    path = Path(path) if path is not None else profile_path("tiers.yaml")
    catalog = catalog or load_catalog()
    components = load_components(components_path, catalog=catalog)
    data = top_level(read_yaml(path), path, ("tiers",), ("components", "gpu_prices", "sources"))
    if "components" in data:
        local_sources = read_sources(data, path) if "sources" in data else {}
        components.update(_read_components(section_map(data, "components", path), path, local_sources, catalog))
    gpu_prices = _read_gpu_prices(section_map(data, "gpu_prices", path), path, catalog) if "gpu_prices" in data else {}
    by_key, by_gpu = _resolve_overrides(overrides or {}, components, catalog)
    for key, usd in by_key.items():
        components[key] = replace(components[key], price_usd=(usd, usd), overridden=True)

    tiers: list[Tier] = []
    for i, raw in enumerate(section_list(data, "tiers", path)):
        e = Entry.listed(raw, path, "tiers", i, _TIER_FIELDS)
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
            g = Entry(raw_gpu, path, f"{e.where}: gpus[{j}]", ("name", "condition"))
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
