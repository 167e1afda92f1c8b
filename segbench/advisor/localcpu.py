"""A CPU known only by its model name and thread count, as a spec: one rule for `check --gpu this-cpu`,
`check --from` a CPU run, and `Catalog.match("this-cpu")`.

1. The CPU the calibration points were measured on (same model name): its measured per-thread rates
   times the threads.
2. A CPU in the catalog: that entry, scaled per thread when fewer threads than it has are used.
3. Anything else: the per-core figures of `LOCAL_CPU_BASIS` times the cores (threads / SMT).
"""

from __future__ import annotations

from dataclasses import replace

from segbench.advisor.catalog import LOCAL_CPU_BASIS, Catalog, CPUSpec, Match, _normalize_name
from segbench.errors import InputError


def _scaled(spec: CPUSpec, name: str, cores: int, threads: int, factor: float, **extra) -> CPUSpec:
    """`spec` renamed, with `cores`/`threads`, and its rates multiplied by `factor`."""
    return replace(spec, name=name, aliases=(), cores=cores, threads=max(threads, cores), default_variant=False,
                   fp32_gflops=spec.fp32_gflops * factor,
                   bf16_gflops=spec.bf16_gflops * factor if spec.bf16_gflops else spec.bf16_gflops,
                   memory_bandwidth_gbs=spec.memory_bandwidth_gbs * factor, **extra)


def this_cpu_spec(catalog: Catalog, model: str | None, threads: int, *, smt: int = 1,
                  label: str = "this machine's CPU", query: str = "") -> Match:
    """The spec of a CPU called `model` running `threads` threads (`smt` threads per core)."""
    from segbench.advisor.perfmodel import load_calibration, reference_machine

    threads = max(1, int(threads))
    plural = "thread" if threads == 1 else "threads"
    if model and model == load_calibration()["machine"].get("cpu_model"):
        machine = reference_machine()
        spec = _scaled(machine, f"{label} ({model}, {threads} {plural})", threads, threads,
                       threads / machine.threads)
        return Match(spec, f"{model} is the CPU the calibration points were measured on: its measured "
                           f"per-thread rates x {threads} {plural}", query=query)
    if model:
        known = [s for s in catalog._index.get(_normalize_name(model), []) if isinstance(s, CPUSpec)]
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
