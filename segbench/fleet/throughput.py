"""`segbench fleet throughput`: one input set sharded over 1, 2, 4... workers, all at once.

For each worker count N the set (synthetic images by count, or the images of a folder, the same
paths on every node) is split into N shards; each worker (a Ray task with one GPU, or a share of a
node's cores where there are no GPUs) loads the model, warms up, waits until every worker is ready,
then processes its shard one item per step. Measured: aggregate items/hour (the whole set over the
slowest worker's wall time), each worker's latency percentiles, and scaling efficiency
throughput(N) / (N x throughput(1)). One record (kind "throughput") per worker count, so `report`
draws the curve. Video and volumes are one clip or volume per worker at a time: a single clip does
not split across GPUs (its frames depend on each other through the memory bank).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from segbench.bench.plan import Plan
from segbench.bench.point import Measured
from segbench.bench.sink import ResultsSink
from segbench.errors import InputError, Interrupted
from segbench.fleet.cluster import Kind, Node, check_versions, connected, live_nodes, resolve_kinds
from segbench.records.schema import Record

PER_CLIP = "video and volume run one clip or volume per worker at a time: a single clip does not split across GPUs"


@dataclass
class Layout:
    """How N workers sit on the cluster: one GPU each, or `cpus` cores each."""

    workers: int
    gpus: bool
    cpus: int

    def options(self, kind: Kind) -> dict[str, Any]:
        options: dict[str, Any] = {"num_cpus": self.cpus, "num_gpus": 1 if self.gpus else 0}
        if kind.is_accelerator:
            options["accelerator_type"] = kind.name
        elif kind.resource:
            # A custom kind is one unit per node: workers share it, they ask for a sliver of it.
            options["resources"] = {kind.resource: 1e-3}
        return options


def layout(workers: int, nodes: list[Node], device: str) -> Layout:
    """One GPU per worker where the nodes have enough, else an equal share of cores that lets all N
    run at once (they start together: a worker left queued would stall the others)."""
    gpus = sum(int(n.gpus) for n in nodes)
    if device != "cpu" and gpus >= workers:
        return Layout(workers, True, 1)
    if device not in ("cpu", "auto"):
        raise InputError(f"{workers} GPU worker(s) asked for, the cluster's nodes have {gpus} GPU(s)")
    total = sum(int(n.cpus) for n in nodes)
    cpus = max(1, min(max((int(n.cpus) for n in nodes), default=0), total // workers))
    fits = sum(int(n.cpus) // cpus for n in nodes)
    if fits < workers:
        raise InputError(f"{workers} CPU workers do not fit at once on {total} core(s) of {len(nodes)} node(s)")
    return Layout(workers, False, cpus)


def shards(count: int, files: list[str], workers: int) -> list[tuple[int, list[str]]]:
    """(items, files) per worker: the set split as evenly as it goes."""
    if files:
        parts = [files[i::workers] for i in range(workers)]
        return [(len(p), p) for p in parts]
    return [(count // workers + (1 if i < count % workers else 0), []) for i in range(workers)]


def image_files(inputs: tuple[str, ...]) -> list[str]:
    from segbench.inputs.images import _expand

    return [str(Path(p).resolve()) for p in _expand(list(inputs))]


class Barrier:
    """Workers arrive when ready; they start timing once all have (the actor on the driver's node)."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0

    def arrive(self) -> None:
        self.arrived += 1

    def all_arrived(self) -> bool:
        return self.arrived >= self.parties


def run_throughput(plan: Plan, output: str | Path, workers: list[int], *, items: int | None = None,
                   address: str | None = "auto", on: str | None = None,
                   progress: Callable[[str], None] | None = None) -> list[Record]:
    """Measure the plan's one model and workload at each worker count; a record per count, appended to
    `output` as it is measured. Ctrl-C cancels the workers and keeps the counts already measured."""
    from segbench.fleet.run import check_names

    say = progress or (lambda text: None)
    if len(plan.models) != 1 or len(plan.workloads) != 1:
        raise InputError("throughput mode measures one model on one workload: give one -m and one -w")
    workload = plan.workloads[0]
    if plan.options.inputs and workload != "image":
        raise InputError(f"--input for throughput is a folder of images; {workload} runs on synthetic inputs "
                         f"({PER_CLIP})")
    files = image_files(plan.options.inputs) if plan.options.inputs else []
    count = len(files) or (items or 0)
    if count < 1:
        raise InputError("give the input set: --images N (synthetic, by count) or --input FOLDER")
    counts = sorted({1, *workers})  # efficiency is against one worker: always measured
    if any(n < 1 for n in counts):
        raise InputError("--workers must be positive integers")
    if max(counts) > count:
        raise InputError(f"{max(counts)} workers for {count} item(s): each worker needs at least one")
    check_names(plan)
    if workload in ("video", "volume"):
        say(f"note: {PER_CLIP}")
    records: list[Record] = []
    with connected(address) as ray, ResultsSink(output) as sink:
        nodes = live_nodes(ray)
        kind = resolve_kinds([on], nodes)[0] if on else Kind("any")
        check_versions(ray, nodes)
        usable = [n for n in nodes if n.offers(kind)]
        layouts = [layout(n, usable, plan.device) for n in counts]
        run_id = uuid.uuid4().hex[:12]
        base: float | None = None
        try:
            for lay in layouts:
                say(f"{lay.workers} worker(s) on {kind.name}: " + ("one GPU each" if lay.gpus else f"{lay.cpus} core(s) each")
                    + f", {count} item(s)")
                results = _measure(ray, plan, lay, kind, count, files)
                record = _record(plan, lay, results, base, count, run_id)
                if lay.workers == 1:
                    base = record.stats.get("items_per_s")
                    record.metrics["throughput"]["scaling_efficiency"] = 1.0 if base else None
                sink.write(Measured(record))
                records.append(record)
                shown = record.metrics["throughput"]
                eff = shown.get("scaling_efficiency")
                say(f"{lay.workers} worker(s): {shown['items_per_hour']:,.0f} {shown['item_unit']}s/hour"
                    + (f", scaling efficiency {eff:.2f}" if eff is not None else ""))
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted: {len(records)} worker count(s) measured so far are saved in {sink.path}"
                              ) from None
    return records


def _measure(ray: Any, plan: Plan, lay: Layout, kind: Kind, count: int, files: list[str]) -> list[dict[str, Any]]:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from segbench.fleet.node import throughput_shard

    here = ray.get_runtime_context().get_node_id()
    barrier = ray.remote(Barrier).options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
        here, soft=False)).remote(lay.workers)
    task = ray.remote(max_calls=1)(throughput_shard)
    refs = [task.options(**lay.options(kind), max_retries=0, name=f"segbench throughput {i + 1}/{lay.workers}").remote(
            plan.to_dict(), plan.models[0], plan.workloads[0], n, part, lay.cpus, barrier, kind.name)
            for i, (n, part) in enumerate(shards(count, files, lay.workers))]
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
        if isinstance(cause, InputError):
            raise InputError(str(cause)) from None
        raise InputError(f"a throughput worker failed: {str(cause).splitlines()[0]}") from None
    except ray.exceptions.RayError as exc:
        raise InputError(f"a throughput worker was lost ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise


def _record(plan: Plan, lay: Layout, results: list[dict[str, Any]], base: float | None, count: int,
            run_id: str) -> Record:
    """One record for one worker count: pooled latencies, aggregate rate, each worker's percentiles."""
    from segbench.measure import stats as S

    first = results[0]
    makespan = max(r["wall_s"] for r in results)
    rate = count / makespan if makespan > 0 else None
    pooled = [s for r in results for s in r["latency_s"]]
    per_worker = []
    for r in results:
        lat = S.summarize(r["latency_s"])
        fleet = r["environment"].get("fleet", {})
        per_worker.append({"node_ip": fleet.get("node_ip"), "node_id": fleet.get("node_id"),
                           "host": r["environment"].get("host"), "items": r["items"], "wall_s": r["wall_s"],
                           "threads": r["threads"], "items_per_s": r["items"] / r["wall_s"] if r["wall_s"] else None,
                           **{k: lat.get(k) for k in ("median", "p90", "p99")}})
    environment = dict(first["environment"])
    environment["fleet"] = {**environment.get("fleet", {}), "workers": per_worker}
    unit = first["item_unit"]
    metrics = {"throughput": {
        "workers": lay.workers, "items": count, "item_unit": unit, "makespan_s": makespan,
        "items_per_hour": rate * 3600 if rate else None,
        "scaling_efficiency": (rate / (lay.workers * base)) if rate and base else None,
        "worker_resources": {"gpus": 1 if lay.gpus else 0, "cpus": lay.cpus},
        "per_worker": per_worker,
        "note": "aggregate = the whole set over the slowest worker's wall time; " + PER_CLIP,
    }}
    latency = S.summarize(pooled)
    return Record(
        model=plan.models[0], workload=plan.workloads[0], precision=first["precision"], batch_size=1,
        device=first["device"], kind="throughput", weights=first["weights"], model_family=first["family"],
        input={**first["input"], "key": f"throughput:{count}:{first['input'].get('key', '')}", "items": count},
        params={**first["params"], "workers": lay.workers}, settings=plan.settings.to_dict(), samples_s=pooled,
        stats={"latency_s": latency, "item_unit": unit, "items_per_step": 1, "per_item_latency_s": latency,
               "items_per_s": rate, "step_items": first["items_per_step"], "step_unit": first["step_unit"]},
        metrics=metrics, environment=environment, run_id=run_id,
        notes=[f"{lay.workers} worker(s), " + ("one GPU each" if lay.gpus else f"{lay.cpus} CPU core(s) each")],
    )
