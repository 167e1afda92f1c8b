"""Which device a prediction is for: a catalog name, or this machine's CPU.

A CPU known only by its model name and thread count becomes a spec by one rule, for
`check --gpu this-cpu` and for `check --from` a CPU run:

0. A measured roofline of it (`segbench probe --measure`, or the one a run recorded): its matmul
   rates and copy bandwidth, on the catalog entry's (or the generic basis's) other figures.
1. The CPU the calibration points were measured on (same model name): its measured per-thread rates
   times the threads.
2. A CPU in the catalog: that entry, scaled per thread when fewer threads than it has are used.
3. Anything else: the per-core figures of `LOCAL_CPU_BASIS` times the cores (threads / SMT).
"""

from __future__ import annotations

from dataclasses import replace

from segbench.advisor.data.calibration import load_calibration
from segbench.advisor.data.catalog import Catalog, CPUSpec, Match, load_catalog, normalize_name
from segbench.errors import InputError

LOCAL_CPU_WORDS = {"this-cpu", "this cpu", "thiscpu", "local-cpu", "local cpu", "host", "this-machine"}
# Per-core figures for an unknown CPU come from this catalog entry, scaled by the cores it may use.
LOCAL_CPU_BASIS = "Generic 2-core cloud vCPU"


def _scaled(spec: CPUSpec, name: str, cores: int, threads: int, factor: float, **extra) -> CPUSpec:
    """`spec` renamed, with `cores`/`threads`, and its rates multiplied by `factor`."""
    return replace(spec, name=name, aliases=(), cores=cores, threads=max(threads, cores), default_variant=False,
                   fp32_gflops=spec.fp32_gflops * factor,
                   bf16_gflops=spec.bf16_gflops * factor if spec.bf16_gflops else spec.bf16_gflops,
                   memory_bandwidth_gbs=spec.memory_bandwidth_gbs * factor, **extra)


def measured(spec: CPUSpec, roofline: dict, name: str) -> CPUSpec | None:
    """`spec` with the rates a roofline measured (matmul TFLOP/s per precision, copy GB/s), or None
    when it measured no fp32 rate."""
    matmul = roofline.get("matmul") or {}
    if "fp32" not in matmul:
        return None
    bf16 = matmul.get("bf16", {}).get("tflops")
    return replace(spec, name=name, aliases=(), default_variant=False,
                   fp32_gflops=matmul["fp32"]["tflops"] * 1e3, fp32_gflops_estimate=False,
                   fp32_gflops_basis=f"measured: fp32 matmul {matmul['fp32'].get('side')}^2, "
                                     f"{matmul['fp32'].get('measured_at', '')}",
                   bf16_gflops=bf16 * 1e3 if bf16 and bf16 > matmul["fp32"]["tflops"] else None,
                   memory_bandwidth_gbs=float(roofline.get("copy_gbs") or spec.memory_bandwidth_gbs),
                   memory_estimate=not roofline.get("copy_gbs"),
                   memory_basis="measured: tensor copy (read + write)" if roofline.get("copy_gbs") else spec.memory_basis)


def this_cpu_spec(catalog: Catalog, model: str | None, threads: int, *, smt: int = 1,
                  label: str = "this machine's CPU", query: str = "", roofline: dict | None = None) -> Match:
    """The spec of a CPU called `model` running `threads` threads (`smt` threads per core); with
    `roofline`, its measured rates."""
    threads = max(1, int(threads))
    plural = "thread" if threads == 1 else "threads"
    if roofline:
        known = [s for s in catalog.lookup(normalize_name(model or "")) if isinstance(s, CPUSpec)]
        basis = known[0] if len(known) == 1 else catalog.get(LOCAL_CPU_BASIS)
        spec = measured(basis, roofline, f"{label} ({model or 'unknown model'}, {threads} {plural}, measured)") \
            if isinstance(basis, CPUSpec) else None
        if spec is not None:
            spec = replace(spec, cores=max(1, round(threads / smt)), threads=threads)
            rates = f"fp32 {spec.fp32_gflops:,.0f}" + (f", bf16 {spec.bf16_gflops:,.0f}" if spec.bf16_gflops else "")
            return Match(spec, f"{label}: its measured roofline ({rates} GFLOP/s matmul, "
                               f"{spec.memory_bandwidth_gbs:,.0f} GB/s copy)", query=query)
    calibration = load_calibration()
    if model and model == calibration.machine.get("cpu_model"):
        machine = calibration.reference_machine(catalog)
        spec = _scaled(machine, f"{label} ({model}, {threads} {plural})", threads, threads,
                       threads / machine.threads)
        return Match(spec, f"{model} is the CPU the calibration points were measured on: its measured "
                           f"per-thread rates x {threads} {plural}", query=query)
    if model:
        known = [s for s in catalog.lookup(normalize_name(model)) if isinstance(s, CPUSpec)]
        if len(known) == 1:
            entry = known[0]
            if threads >= entry.threads:
                return Match(entry, f"{label} is {model}; using the catalog's {entry.name}", query=query)
            spec = _scaled(entry, f"{entry.name} ({threads} {plural})", max(1, round(threads / smt)), threads,
                           threads / entry.threads)
            return Match(spec, f"{label} is {model}; using the catalog's {entry.name} per thread x {threads}",
                         query=query)
    basis = catalog.get(LOCAL_CPU_BASIS)
    if not isinstance(basis, CPUSpec):
        raise InputError(f"{catalog.path}: the cpus: section needs '{LOCAL_CPU_BASIS}' to estimate a CPU")
    cores = max(1, round(threads / smt))
    per_core_gflops = basis.fp32_gflops / basis.cores
    per_core_bw = basis.memory_bandwidth_gbs / basis.cores
    spec = _scaled(
        basis, f"{label} ({model or 'unknown model'}, {threads} {plural})", cores, threads, cores / basis.cores,
        fp32_gflops_basis=f"{cores} core(s) x {per_core_gflops:g} GFLOPS per core from '{LOCAL_CPU_BASIS}'",
        fp32_gflops_estimate=True,
        memory_basis=f"{cores} core(s) x {per_core_bw:g} GB/s per core from '{LOCAL_CPU_BASIS}'",
        memory_estimate=True,
    )
    note = (f"estimating {model or 'this CPU'} from its {threads} usable {plural} with '{LOCAL_CPU_BASIS}' "
            "per-core figures; a measured run (segbench run, then --from) is more accurate")
    return Match(spec, note, query=query)


def resolve_target(name: str, catalog: Catalog | None = None) -> Match:
    """The device a prediction is for: 'this-cpu' (and its synonyms) is this machine's CPU, estimated
    from its core count; anything else is looked up in the catalog."""
    catalog = catalog or load_catalog()
    if str(name).strip().lower() in LOCAL_CPU_WORDS:
        return local_cpu(catalog, query=str(name).strip())
    return catalog.match(name)


def local_cpu(catalog: Catalog, query: str = "this-cpu") -> Match:
    """This machine's CPU as segbench.probe reports it (model name, logical/physical/usable cores)."""
    from segbench.probe.host import cpu_info  # probe/ owns facts about this machine

    facts = cpu_info()
    logical, physical = facts.get("logical_cores"), facts.get("physical_cores")
    threads = max(1, facts.get("usable_cores") or logical or 1)
    smt = max(1, round(logical / physical)) if logical and physical and logical >= physical else 1
    return this_cpu_spec(catalog, facts.get("model_name"), threads, smt=smt, label="this machine's CPU", query=query,
                         roofline=cached_cpu_roofline())


def cached_cpu_roofline() -> dict | None:
    """This CPU's measured roofline from `segbench probe --measure` (or a recent run), when fresh; never
    measured here, so `check` stays quick."""
    import torch

    from segbench.measure.roofline import cached

    return cached(torch.device("cpu"))
