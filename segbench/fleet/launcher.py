"""The Ray launcher: a plan's models measured on a Ray cluster, once per kind of node, into one sink.

Each (kind, model) is one Ray task in a worker process of its own (`max_calls=1`: a CUDA context or
a leak does not outlive the model) on a node that offers the kind. The task speaks the process
launcher's messages (`segbench.bench.messages`) into an inbox actor pinned to the driver's node,
each delivered before it goes on, so a record measured is a record kept whatever happens to the
node later. The driver is the only writer: records are appended to one results file as they come.

Faults: a task whose node dies (`NodeDiedError`) has its unfinished points measured once more on
another live node of the same kind (only those: Ray's own `max_retries` would measure the model's
finished points again); with no such node, or on the second loss, they become `error`/`skipped`
rows saying why. A worker that crashes on a live node is rows as in the process launcher (a model
that segfaults would do so again elsewhere). A task whose point (or model load) runs past the plan's
`point_timeout_s` is cancelled (`ray.cancel(force=True)` kills its worker): that point is an `error`
row "timed out after N s (in the ... phase)", the model's other points on that kind `skipped` rows
(the process launcher goes on with a fresh worker; here the task is the unit). Ctrl-C cancels every task (`ray.cancel`: the worker
gets KeyboardInterrupt and hands back its interrupted point), keeps what came back, and a second
Ctrl-C (or the grace period) force-kills them.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import astuple, dataclass, field
from typing import Any

from segbench.bench.messages import Received, left_to_measure, limit_of, unfinished_rows
from segbench.bench.observer import Observer
from segbench.bench.plan import Plan, Point
from segbench.bench.sink import ResultsSink
from segbench.errors import Interrupted
from segbench.fleet.cluster import Kind, Node, live_nodes, task_options

GRACE_S = 30.0  # after Ctrl-C, how long cancelled tasks get to hand back their interrupted point
WATCH_S = 2.0  # how often queued tasks are checked for a kind no live node offers any more


class Inbox:
    """The actor every task's messages go to, on the driver's node; the driver takes them in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, tuple]] = []

    def put(self, key: str, message: tuple) -> None:
        self.items.append((key, message))

    def take(self, start: int) -> list[tuple[str, tuple]]:
        """Messages from `start` on: the driver asks again from where it is should a reply be lost."""
        return self.items[start:]


@dataclass
class Job:
    """One model on one kind, one attempt."""

    model: str
    kind: Kind
    attempt: int = 1
    received: Received = field(default_factory=Received)
    ref: Any = None
    node: dict[str, Any] | None = None  # the node's identity, from its "hello"
    device: str | None = None
    environment: dict[str, Any] | None = None
    over: bool = False  # ended and accounted for: later messages are not its to give
    observer: Any = None  # progress of this job's node

    @property
    def key(self) -> str:
        return f"{self.kind.name}/{self.model}/{self.attempt}"

    @property
    def where(self) -> str:
        node = f"@{self.node['node_ip']}:{self.node['node_id'][:6]}" if self.node else ""
        return f"[{self.kind.name}{node}]"


class RayLauncher:
    """The bench `Launcher` on a connected Ray cluster (see `segbench.fleet.run.run_fleet`)."""

    name = "ray"

    def __init__(self, ray: Any, kinds: list[Kind], grace_s: float = GRACE_S) -> None:
        self.ray = ray
        self.kinds = kinds
        self.grace_s = grace_s
        self.dead: set[str] = set()  # node ids lost during this run (Ray takes seconds to say so itself)

    def launch(self, plan: Plan, sink: ResultsSink, observer: Observer, run_id: str) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from segbench.fleet.node import measure_model

        ray = self.ray
        here = ray.get_runtime_context().get_node_id()
        # Pinned to the driver's node: messages must not be lost with a worker node.
        inbox = ray.remote(Inbox).options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
            here, soft=False)).remote()
        self._task = ray.remote(max_calls=1)(measure_model)  # a fresh worker process per model
        self._inbox, self._plan_data, self._run_id = inbox, plan.to_dict(), run_id
        self._backlog: deque[tuple[str, tuple]] = deque()
        self._taken = 0
        nodes = live_nodes(ray)
        jobs = {}
        for kind in self.kinds:
            for model in plan.models:
                job = self._submit(Job(model, kind), nodes, plan)
                jobs[job.key] = job
        pending = {job.ref: job for job in jobs.values()}
        watched = time.monotonic()
        limit = limit_of(plan)
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
                self._drain(jobs, sink, observer)
                for ref, job in pending.items():
                    if job.received.overdue(limit):  # its worker is killed; _ended writes the rows
                        ray.cancel(ref, force=True)
                for ref in ready:
                    job = pending.pop(ref)
                    retry = self._ended(job, plan, sink, observer)
                    if retry is not None:
                        jobs[retry.key] = retry
                        pending[retry.ref] = retry
                if time.monotonic() - watched > WATCH_S:
                    watched = time.monotonic()
                    for ref in self._stranded(pending):
                        job = pending.pop(ref)
                        ray.cancel(ref, force=True)
                        self._rows(job, plan, sink, observer, f"was never started: no live node of kind "
                                   f"{job.kind.name} is left")
        except KeyboardInterrupt:
            self._cancel(pending, jobs, sink, observer)
            raise Interrupted("interrupted") from None
        if any(job.received.interrupted for job in jobs.values()):
            raise Interrupted("interrupted")

    # -- tasks ----------------------------------------------------------------------------------------
    def _submit(self, job: Job, nodes: list[Node], plan: Plan, done: list[Point] | None = None,
                on: str | None = None) -> Job:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options = {**task_options(job.kind, nodes, plan.device), "max_retries": 0,
                   "name": f"segbench {job.model} on {job.kind.name}"}
        if on is not None:  # a retry: on that node, not wherever Ray still believes the dead one is
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(on, soft=False)
        job.ref = self._task.options(**options).remote(
            self._plan_data, job.model, self._run_id, self._inbox, job.key, job.kind.name, job.attempt,
            [astuple(p) for p in done or []])
        return job

    def _drain(self, jobs: dict[str, Job], sink: ResultsSink, observer: Observer) -> None:
        # Taken messages wait in the backlog, so a Ctrl-C while one is handled loses none of the rest.
        taken = self.ray.get(self._inbox.take.remote(self._taken))
        self._taken += len(taken)
        self._backlog.extend(taken)
        while self._backlog:
            key, message = self._backlog.popleft()
            job = jobs[key]
            if job.over:
                # A worker whose node was declared lost can still reach the inbox for a moment; what it
                # says now would duplicate its retry, which was given every point not yet back.
                if message[0] == "measured":
                    observer.note(f"{job.where} {job.model}: a record that arrived after its node was declared "
                                  "lost was left out (its retry measures that point)")
                continue
            if message[0] == "hello":
                job.node, job.device, job.environment = message[1], message[2], message[3]
                job.observer = _for_node(observer, job.where)
                observer.note(f"{job.model} on {job.kind.name}: node {job.node['node_ip']} "
                              f"({job.environment.get('host')}, {job.environment.get('hardware')})"
                              + (f", attempt {job.attempt}" if job.attempt > 1 else ""))
                continue
            job.received.take(message, sink, job.observer or _for_node(observer, job.where))

    def _ended(self, job: Job, plan: Plan, sink: ResultsSink, observer: Observer) -> Job | None:
        """The task is over: nothing to do, rows for what it did not hand back, or its retry."""
        ray = self.ray
        error = None
        try:
            ray.get(job.ref)
        except ray.exceptions.TaskCancelledError:
            if job.received.timed_out is None:
                job.received.interrupted = True
                return None
        except ray.exceptions.RayError as exc:
            error = exc
        received = job.received
        job.over = True
        if received.timed_out is not None:
            self._rows(job, plan, sink, observer, "was cancelled (time limit)")
            return None
        if received.interrupted:
            return None
        if error is None and received.finished and received.crash is None and received.failure is None:
            return None
        node = job.node or {}
        if isinstance(error, ray.exceptions.NodeDiedError) or (node and node.get("node_id") in self.dead):
            if node.get("node_id"):
                self.dead.add(node["node_id"])
            lost = f"was lost with its node {node.get('node_ip', '?')} (node {str(node.get('node_id', '?'))[:8]} died)"
            if job.attempt == 1:
                others = [n for n in live_nodes(ray) if n.node_id not in self.dead and n.offers(job.kind)]
                if others:
                    device = _device(job, plan)
                    todo = set(left_to_measure(plan, job.model, received.seen, device))
                    done = [p for p in plan.points(device) if p.model == job.model and p not in todo]
                    retry = Job(job.model, job.kind, 2, Received())
                    retry.received.seen = dict(received.seen)
                    observer.note(f"{job.model} on {job.kind.name}: the worker {lost}; its {len(todo)} unfinished "
                                  f"point(s) are retried once on node {others[0].address}")
                    return self._submit(retry, live_nodes(ray), plan, done, on=others[0].node_id)
                lost += f"; no other live node of kind {job.kind.name} to retry on"
            else:
                lost += " on its retry"
            self._rows(job, plan, sink, observer, lost)
            return None
        if received.failure is not None:
            how = f"refused the plan on this node ({received.failure[1]})"
        elif received.crash is not None:
            how = f"failed ({received.crash})"
        else:
            how = f"died ({type(error).__name__}: {str(error).splitlines()[0] if error else 'no reason given'})"
        self._rows(job, plan, sink, observer, how)
        return None

    def _rows(self, job: Job, plan: Plan, sink: ResultsSink, observer: Observer, how: str) -> None:
        environment = job.environment or (job.received.last.environment if job.received.last else None)
        if environment is None:
            environment = {"hardware": f"unknown ({job.kind.name})", "fleet": {"kind": job.kind.name}}
        for measured in unfinished_rows(plan, job.model, job.received, how, self._run_id, device=_device(job, plan),
                                        environment=environment):
            observer.record(sink.write(measured))
        observer.note(f"{job.model} on {job.kind.name}: the worker {how}; its unmeasured points are rows")

    def _stranded(self, pending: dict[Any, Job]) -> list[Any]:
        """Queued tasks (not started) whose kind no live node offers any more: they would wait forever."""
        if not self.dead or not any(job.node is None for job in pending.values()):
            return []
        nodes = [n for n in live_nodes(self.ray) if n.node_id not in self.dead]
        return [ref for ref, job in pending.items() if job.node is None and not any(n.offers(job.kind) for n in nodes)]

    def _cancel(self, pending: dict[Any, Job], jobs: dict[str, Job], sink: ResultsSink, observer: Observer) -> None:
        """Ctrl-C: every task told (KeyboardInterrupt in the worker), its interrupted point and everything
        before it kept; a second Ctrl-C or the grace period ends the wait."""
        ray = self.ray
        for ref in pending:
            ray.cancel(ref, force=False)
        deadline = time.monotonic() + self.grace_s
        try:
            while pending and time.monotonic() < deadline:
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0.2)
                self._drain(jobs, sink, observer)
                for ref in ready:
                    pending.pop(ref)
        except KeyboardInterrupt:
            pass
        for ref in pending:
            ray.cancel(ref, force=True)
        self._drain(jobs, sink, observer)


class _OnNode:
    """An observer's view of one node: labels and notes name the node (progress per node)."""

    def __init__(self, observer: Observer, where: str) -> None:
        self.observer, self.where = observer, where

    def point_started(self, label: str, min_iters: int, point: Point | None = None) -> None:
        self.observer.point_started(f"{self.where} {label}", min_iters, point)

    def sample(self, index: int, seconds: float) -> None:
        self.observer.sample(index, seconds)

    def record(self, record: Any) -> None:
        self.observer.record(record)

    def note(self, text: str) -> None:
        self.observer.note(f"{self.where} {text}")


def _for_node(observer: Observer, where: str) -> Observer:
    """The observer's own per-node view where it has one (`for_node(where)`: a progress bar per
    node), else one that names the node in every label."""
    for_node = getattr(observer, "for_node", None)
    return for_node(where) if callable(for_node) else _OnNode(observer, where)


def _device(job: Job, plan: Plan) -> Any:
    """The device the job's node measured on (as it said), else what the plan resolves to here."""
    import torch

    from segbench.measure.device import resolve_device

    return torch.device(job.device) if job.device else resolve_device(plan.device)
