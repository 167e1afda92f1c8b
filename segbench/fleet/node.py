"""What runs on a fleet node, inside a Ray worker process: its facts, one model's points, one shard.

These are plain functions; the driver wraps them with `ray.remote` (Ray sends them by reference, so
every node imports them from its own segbench install, whose version the driver has checked).
"""

from __future__ import annotations

import time
from typing import Any

# Items of throughput mode, by workload: what one step processes.
ITEM_UNITS = {"video": "clip", "volume": "volume"}


def identity(kind: str, attempt: int = 1) -> dict[str, Any]:
    """Which node this is, as it goes into every record's environment["fleet"]."""
    import ray

    return {"node_id": ray.get_runtime_context().get_node_id(), "node_ip": ray.util.get_node_ip_address(),
            "kind": kind, "attempt": attempt}


def node_facts() -> dict[str, Any]:
    """The node's segbench version and install (checked by the driver before anything runs)."""
    import platform
    import socket

    import ray

    import segbench
    from segbench.records.environment import git_commit

    commit, dirty = git_commit()
    return {"segbench": segbench.__version__, "git_commit": commit, "git_dirty": dirty, "host": socket.gethostname(),
            "python": platform.python_version(), "ray": ray.__version__,
            "node_id": ray.get_runtime_context().get_node_id()}


def measure_model(plan_data: dict[str, Any], model: str, run_id: str, inbox: Any, key: str, kind: str,
                  attempt: int = 1, done: list[tuple] | None = None) -> str:
    """One model's points on this node. Every message goes into `inbox` (an actor on the driver's
    node) and is delivered before measuring goes on, so a node that dies later loses none of it."""
    import ray

    from segbench.bench.messages import stream_model
    from segbench.bench.plan import Plan
    from segbench.families.registry import quiet_warnings
    from segbench.measure.device import resolve_device
    from segbench.bench.environment import run_environment

    quiet_warnings()

    def put(message: tuple) -> None:
        sent = inbox.put.remote(key, message)
        if message[0] != "sample":  # progress ticks need no wait; Ray keeps one caller's calls in order
            ray.get(sent)

    me = identity(kind, attempt)
    device = resolve_device(Plan.from_dict(plan_data).device)
    # Where the points it does not hand back are recorded, if it dies: this node's device and environment.
    put(("hello", me, str(device), {**run_environment(device), "fleet": me}))
    stream_model(plan_data, model, run_id, put, done=done or (), environment={"fleet": me})
    return "done"


def throughput_shard(plan_data: dict[str, Any], model: str, workload_name: str, count: int, files: list[str],
                     threads: int, barrier: Any, kind: str) -> dict[str, Any]:
    """Process one worker's share of the input set, one item (image, clip, volume) per step, timing
    each; the shard's wall time starts when every worker is ready (`barrier`), so model loading and
    warm-up are not counted and the workers really run at once."""
    import dataclasses

    import ray
    import torch

    from segbench.bench.observer import Silent
    from segbench.bench.plan import Plan
    from segbench.bench.point import Context, load_for, precisions
    from segbench.families.registry import build_workload, purpose_of, quiet_warnings
    from segbench.measure.device import autocast, resolve_device
    from segbench.measure.harness import Timer
    from segbench.bench.environment import run_environment

    quiet_warnings()
    torch.set_num_threads(max(1, threads))  # this worker's share of the node's cores
    plan = Plan.from_dict(plan_data)
    device = resolve_device(plan.device)
    options = dataclasses.replace(plan.options, inputs=tuple(files)) if files else plan.options
    plan = dataclasses.replace(plan, options=options)
    environment = {**run_environment(device), "fleet": identity(kind)}
    ctx = Context(plan, device, environment, "", Silent())
    from segbench.families.registry import get_spec

    spec = get_spec(model)
    loaded = load_for(ctx, spec.name, purpose_of(workload_name, spec))
    workload = build_workload(workload_name, loaded, device, options)
    precision = precisions(plan, device)[0]
    images = list(getattr(workload, "images", None) or [])  # image workloads: each item its own image
    timer = Timer(device)
    latencies: list[float] = []
    grad = torch.enable_grad() if workload.grad else torch.inference_mode()
    with grad, autocast(device, precision):
        step = workload.prepare(1)
        for _ in range(max(1, plan.settings.warmup)):
            step()
        ray.get(barrier.arrive.remote())
        while not ray.get(barrier.all_arrived.remote()):
            time.sleep(0.01)
        start = time.perf_counter()
        for index in range(count):
            if images:
                workload.images = [images[index % len(images)]]
                step = workload.prepare(1)
            latencies.append(timer(step))
        wall = time.perf_counter() - start
    return {"items": count, "wall_s": wall, "latency_s": latencies, "threads": torch.get_num_threads(),
            "precision": precision, "device": str(device), "environment": environment,
            "item_unit": ITEM_UNITS.get(workload_name, workload.item_unit),
            "items_per_step": workload.items_per_step(1), "step_unit": workload.item_unit,
            "input": workload.input_info(), "params": workload.params(), "weights": loaded.weights,
            "family": spec.family}
