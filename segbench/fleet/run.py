"""`segbench fleet run`: a plan measured on a Ray cluster, once per kind of node, into one results file."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segbench.bench.observer import Observer, Silent
from segbench.bench.plan import Plan, validate
from segbench.bench.runner import interrupted_message
from segbench.bench.sink import ResultsSink
from segbench.errors import Interrupted
from segbench.fleet.cluster import Kind, Node, check_versions, connected, live_nodes, resolve_kinds
from segbench.records.schema import Record


@dataclass
class FleetRun:
    records: list[Record]
    kinds: list[Kind]
    nodes: list[Node]
    facts: dict[str, dict[str, Any]]  # node id -> segbench version, commit, host (the version check's)


def check_names(plan: Plan) -> None:
    """Names, numbers and the user's inputs checked here; the device and precision only where they
    run (the driver needs no GPU): a node that cannot honour them records why as rows."""
    validate(dataclasses.replace(plan, device="cpu", precisions=["auto"]))


def run_fleet(plan: Plan, output: str | Path, observer: Observer | None = None, *, address: str | None = "auto",
              on: list[str] | None = None, before: Any = None) -> FleetRun:
    """Measure `plan` once per kind of node (`on`: the kinds' names; none: every kind the cluster
    offers), every record appended to `output` as it arrives. `before(kinds, nodes, facts)` is told
    what will run where once the cluster has been checked, before anything is measured."""
    from segbench.fleet.launcher import RayLauncher

    check_names(plan)
    observer = observer or Silent()
    with connected(address) as ray:
        nodes = live_nodes(ray)
        kinds = resolve_kinds(on, nodes)
        facts = check_versions(ray, nodes)
        if before is not None:
            before(kinds, nodes, facts)
        with ResultsSink(output) as sink:
            try:
                RayLauncher(ray, kinds).launch(plan, sink, observer, uuid.uuid4().hex[:12])
            except Interrupted:
                raise Interrupted(interrupted_message(plan, sink)) from None
        return FleetRun(sink.records, kinds, nodes, facts)
