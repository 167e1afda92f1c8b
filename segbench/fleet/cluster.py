"""The Ray cluster as segbench sees it: connected once, its live nodes, the kinds they offer, and a
version check of every node before anything is measured.

A *kind* is what `--on` names: a custom resource the node was started with
(`ray start --resources '{"kind:RTX 4090": 1}'`: one model measured at a time per node) or the GPU
type Ray detects itself (`accelerator_type:A100`, one model per GPU).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from segbench.bench.timeouts import TimedOut, time_limit
from segbench.errors import InputError

INSTALL_HINT = "pip install 'segbench[fleet]'"
KIND_PREFIX = "kind:"
ACCELERATOR_PREFIX = "accelerator_type:"
# Variables a node's workers need to see the same registry as the driver (families added for a run).
FORWARDED_ENV = ("SEGBENCH_FAMILIES", "SEGBENCH_PROFILES")
CHECK_TIMEOUT_S = 120.0  # a node that cannot start a worker this long is not fit to measure on
CONNECT_TIMEOUT_S = 5.0  # the address must accept a connection, and answer as gRPC, within this
# Connecting once the address has answered (Ray retries a wrong one for minutes): a one-line error after this.
INIT_TIMEOUT_S = 60.0
# HTTP/2's client preface and an empty SETTINGS frame: a gRPC server (Ray's GCS, its client server)
# answers with a SETTINGS frame of its own; anything else is not Ray.
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
SETTINGS_FRAME = 4


def ray_module() -> Any:
    """`ray`, or the one line that says how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(f"segbench fleet needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


@dataclass(frozen=True)
class Kind:
    """What a task asks for to land on one kind of node. `resource` None: any node."""

    name: str
    resource: str | None = None

    @property
    def is_accelerator(self) -> bool:
        return bool(self.resource and self.resource.startswith(ACCELERATOR_PREFIX))


@dataclass
class Node:
    node_id: str
    address: str
    hostname: str
    resources: dict[str, float] = field(default_factory=dict)

    def offers(self, kind: Kind) -> bool:
        return kind.resource is None or self.resources.get(kind.resource, 0) > 0

    @property
    def gpus(self) -> float:
        return float(self.resources.get("GPU", 0))

    @property
    def cpus(self) -> float:
        return float(self.resources.get("CPU", 0))


@contextlib.contextmanager
def connected(address: str | None) -> Iterator[Any]:
    """Ray connected to the cluster at `address` ("auto", "ray://HOST:PORT", "HOST:PORT") for the
    block; an existing connection (a notebook's, the tests') is used as it is and left open."""
    ray = ray_module()
    if ray.is_initialized():
        yield ray
        return
    reachable(address or "auto")
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    try:
        # A BaseException from the alarm: Ray's retry loops catch Exception.
        with time_limit(INIT_TIMEOUT_S):
            ray.init(address=address or "auto", runtime_env={"env_vars": env} if env else None,
                     logging_level="ERROR", log_to_driver=False, configure_logging=True)
    except TimedOut:
        raise InputError(f"no Ray cluster answered at {address or 'auto'} within {INIT_TIMEOUT_S:.0f} s (is it the "
                         "head's GCS port, 6379, or its client port, ray://HOST:10001?)") from None
    except ConnectionError as exc:
        raise InputError(f"no Ray cluster at {address or 'auto'} ({str(exc).splitlines()[0]}); start one with "
                         "`ray start --head` (and `ray start --address=HEAD:6379` on the other machines)") from None
    except (ValueError, RuntimeError) as exc:
        raise InputError(f"cannot connect to Ray at {address or 'auto'}: {str(exc).splitlines()[0]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()  # the driver leaves; the cluster keeps running


def reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """HOST:PORT (or ray://HOST:PORT) answers as a gRPC server does, within `timeout_s`, or one line:
    Ray itself retries a wrong address (or a port that is not Ray's) for minutes."""
    if address == "auto":
        return  # Ray finds the local cluster (or $RAY_ADDRESS) itself and says at once when there is none
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--address {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as conn:
            if os.environ.get("RAY_USE_TLS", "0") not in ("0", ""):
                return  # a TLS cluster answers only after a handshake segbench does not make
            conn.settimeout(timeout_s)
            conn.sendall(HTTP2_PREFACE)
            head = _read(conn, 9)
    except TimeoutError:
        raise InputError(f"{address} accepts connections but does not answer as Ray does within {timeout_s:g} s "
                         "(is it the head's GCS port, 6379, or its client port, ray://HOST:10001?)") from None
    except OSError as exc:
        raise InputError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
                         "`ray start --head` there") from None
    if len(head) < 9 or head[3] != SETTINGS_FRAME:
        raise InputError(f"{address} answers, but not as Ray does (no gRPC): is it the head's GCS port, 6379, "
                         "or its client port, ray://HOST:10001?")


def _read(conn: socket.socket, size: int) -> bytes:
    """Up to `size` bytes (fewer where the peer closes first)."""
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def live_nodes(ray: Any) -> list[Node]:
    return [Node(n["NodeID"], n["NodeManagerAddress"], n.get("NodeManagerHostname", ""), dict(n["Resources"]))
            for n in ray.nodes() if n.get("Alive")]


def kinds_offered(nodes: list[Node]) -> list[Kind]:
    """Every kind some live node offers, custom kinds first."""
    names: dict[str, Kind] = {}
    for prefix in (KIND_PREFIX, ACCELERATOR_PREFIX):
        for node in nodes:
            for resource in sorted(node.resources):
                if resource.startswith(prefix):
                    names.setdefault(resource[len(prefix):], Kind(resource[len(prefix):], resource))
    return list(names.values())


def resolve_kinds(names: list[str] | None, nodes: list[Node]) -> list[Kind]:
    """The kinds `--on` names (each must be offered by a live node); none named: every kind the
    cluster offers, or one run on any node where it offers none."""
    offered = kinds_offered(nodes)
    if not names:
        return offered or [Kind("any")]
    by_name = {k.name.lower(): k for k in offered} | {k.resource.lower(): k for k in offered if k.resource}
    out = []
    for name in names:
        kind = by_name.get(name.strip().lower())
        if kind is None:
            known = ", ".join(k.name for k in offered) or "none: start nodes with --resources '{\"kind:NAME\": 1}'"
            raise InputError(f"no live node offers the kind '{name}' (kinds in this cluster: {known})")
        if kind not in out:
            out.append(kind)
    return out


def task_options(kind: Kind, nodes: list[Node], device: str) -> dict[str, Any]:
    """Ray options for one model's task on `kind`: one GPU where the kind's nodes have them and the
    plan may use one, else one CPU; the kind's own resource, so one model runs per node (or GPU)."""
    gpus = device != "cpu" and all(n.gpus > 0 for n in nodes if n.offers(kind)) and any(n.offers(kind) for n in nodes)
    options: dict[str, Any] = {"num_gpus": 1 if gpus else 0, "num_cpus": 1}
    if kind.is_accelerator:
        options["accelerator_type"] = kind.name
    elif kind.resource:
        options["resources"] = {kind.resource: 1}
    return options


def check_versions(ray: Any, nodes: list[Node], timeout_s: float = CHECK_TIMEOUT_S) -> dict[str, dict[str, Any]]:
    """Every live node's facts (segbench version, commit, host), by node id (a node gone since it was
    listed is left out); a node whose segbench is not the driver's version is an error before
    anything runs."""
    import segbench
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from segbench.fleet.node import node_facts

    remote = ray.remote(node_facts)
    refs = [remote.options(num_cpus=0, max_retries=0,
                           scheduling_strategy=NodeAffinitySchedulingStrategy(n.node_id, soft=False)).remote()
            for n in nodes]
    by_node: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    for node, ref in zip(nodes, refs):
        try:
            by_node[node.node_id] = ray.get(ref, timeout=max(1.0, deadline - time.monotonic()))
        except ray.exceptions.TaskUnschedulableError:
            continue  # died a moment ago: Ray lists a lost node as alive for some seconds
        except ray.exceptions.GetTimeoutError:
            raise InputError(f"node {node.address} did not answer segbench's version check within "
                             f"{timeout_s:.0f} s") from None
        except ray.exceptions.RayError as exc:
            raise InputError(f"node {node.address} failed segbench's version check: "
                             f"{str(exc).splitlines()[0]}") from None
    for node in nodes:
        found = by_node.get(node.node_id)
        if found is None:
            continue
        if found["segbench"] != segbench.__version__:
            raise InputError(f"node {node.address} ({found['host']}) runs segbench {found['segbench']}, the driver "
                             f"{segbench.__version__}: install the same version on every node before measuring")
    return by_node
