"""`segbench fleet`: what needs no cluster here, and the real local cluster (tests/fleet_cluster.py) run
inside a network namespace of its own that has only `lo`, so Ray's traffic never leaves loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from segbench.cli import cli
from segbench.errors import InputError
from segbench.fleet.cluster import Kind, Node, resolve_kinds, task_options
from segbench.fleet.throughput import layout, shards
from tests.cli_checks import one_line_error

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_BUDGET_S = 240  # the local cluster's tests take ~1 min on 2 cores


def _node(name: str, cpus: float = 1, gpus: float = 0, **resources: float) -> Node:
    return Node(name, "127.0.0.1", "host", {"CPU": cpus, "GPU": gpus, **resources})


def test_kinds_are_the_nodes_resources_named_on_the_command_line():
    nodes = [_node("a", **{"kind:RTX 4090": 1}), _node("b", gpus=8, **{"accelerator_type:A100": 1})]
    assert resolve_kinds(["RTX 4090", "a100"], nodes) == [Kind("RTX 4090", "kind:RTX 4090"),
                                                          Kind("A100", "accelerator_type:A100")]
    assert [k.name for k in resolve_kinds(None, nodes)] == ["RTX 4090", "A100"]
    assert resolve_kinds(None, [_node("c")]) == [Kind("any")]
    with pytest.raises(InputError, match="no live node offers the kind 'H100'.*RTX 4090, A100"):
        resolve_kinds(["H100"], nodes)
    # One model per node of a custom kind; one GPU (by Ray's own accelerator type) where there are GPUs.
    assert task_options(Kind("RTX 4090", "kind:RTX 4090"), nodes, "auto") == {
        "num_gpus": 0, "num_cpus": 1, "resources": {"kind:RTX 4090": 1}}
    assert task_options(Kind("A100", "accelerator_type:A100"), nodes, "auto") == {
        "num_gpus": 1, "num_cpus": 1, "accelerator_type": "A100"}


def test_throughput_workers_get_a_gpu_each_or_a_share_of_the_cores_that_fits_at_once():
    cpu_nodes = [_node("a", cpus=2), _node("b", cpus=2)]
    assert (layout(1, cpu_nodes, "auto").cpus, layout(2, cpu_nodes, "auto").cpus) == (2, 2)
    assert layout(4, cpu_nodes, "auto").cpus == 1
    with pytest.raises(InputError, match="do not fit at once"):
        layout(5, cpu_nodes, "cpu")
    assert layout(2, [_node("g", gpus=2)], "auto").gpus
    with pytest.raises(InputError, match="2 GPU"):
        layout(4, [_node("g", gpus=2)], "cuda")
    assert shards(5, [], 2) == [(3, []), (2, [])]
    assert shards(0, ["1.png", "2.png", "3.png"], 2) == [(2, ["1.png", "3.png"]), (1, ["2.png"])]


def test_without_ray_the_fleet_is_one_line_naming_the_extra(cli_runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    got = cli_runner.invoke(cli, ["fleet", "run", "--quick", "-m", "sam2.1-tiny", "-o", "x.jsonl"])
    assert got.exit_code == 2
    assert one_line_error(got) and "pip install 'segbench[fleet]'" in got.stderr


def test_an_address_nothing_answers_is_one_line(cli_runner, tmp_path):
    got = cli_runner.invoke(cli, ["fleet", "throughput", "--images", "4", "--address", "127.0.0.1:1",
                                  "-o", str(tmp_path / "t.jsonl")])
    assert got.exit_code == 2 and one_line_error(got) and "no Ray cluster answers at 127.0.0.1:1" in got.stderr
    assert not (tmp_path / "t.jsonl").exists()


class SilentListener:
    """A TCP listener on 127.0.0.1 that accepts every connection and never says a word (not Ray)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.held: list = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed
                return
            self.held.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_address_that_accepts_but_is_not_ray_is_one_line_within_seconds(tmp_path, scheme):
    pytest.importorskip("ray")
    listener = SilentListener()
    try:
        started = time.monotonic()
        got = subprocess.run([sys.executable, "-m", "segbench", "fleet", "run", "--quick", "-m", "sam2.1-tiny",
                              "--address", f"{scheme}127.0.0.1:{listener.port}", "-o", str(tmp_path / "f.jsonl")],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
    finally:
        listener.close()
    assert got.returncode == 2 and took < 20, (took, got.stderr[-2000:])
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not answer as Ray does" in lines[0], got.stderr[-2000:]
    assert listener.held, "the command never connected to the listener"
    assert not (tmp_path / "f.jsonl").exists()


def test_the_single_machine_path_does_not_import_ray():
    code = ("import sys, segbench.cli.run, segbench.bench.runner, segbench.report.build; "
            "sys.exit('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def _unshare_works() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot make a network namespace here (unshare -n needs root): {probe.stderr.strip()[:120]}"
    return None


def _ours(marker: str) -> list[str]:
    """Processes whose command line names this run's Ray temp folder (raylets, workers, GCS)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def test_the_fleet_on_a_local_multi_node_cluster_inside_a_loopback_only_namespace():
    """Two kinds of node, a run on both into one file, throughput at 1 and 2 workers, the report, a
    version mismatch, Ctrl-C, and nodes killed mid-run (tests/fleet_cluster.py), all on 127.0.0.1."""
    pytest.importorskip("ray")
    reason = _unshare_works()
    if reason:
        pytest.skip(reason)
    temp = tempfile.mkdtemp(prefix="sbray-")  # Ray's session folder: short (socket paths) and ours alone
    env = {**os.environ, "SEGBENCH_RAY_TEMP": temp, "RAY_USAGE_STATS_ENABLED": "0"}
    command = (f"ip link set lo up && exec {sys.executable} -m pytest -q -p no:cacheprovider "
               f"{ROOT / 'tests' / 'fleet_cluster.py'}")
    started = time.monotonic()
    try:
        done = subprocess.run(["unshare", "-n", "sh", "-c", command], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=CLUSTER_BUDGET_S)
    finally:
        deadline = time.monotonic() + 10
        while _ours(temp) and time.monotonic() < deadline:  # Ray's processes take a moment to exit
            time.sleep(0.5)
        left = _ours(temp)
        shutil.rmtree(temp, ignore_errors=True)
    tail = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, tail
    assert " passed" in done.stdout and "skipped" not in done.stdout.splitlines()[-1], tail
    assert not left, f"Ray processes left behind: {left}"
    print(f"local cluster tests: {time.monotonic() - started:.0f} s")


def test_the_submitit_launcher_streams_records_and_turns_a_dead_job_into_rows(tmp_path, monkeypatch):
    """submitit's local executor (a real job process): toy-abort measures batch 1, then dies of SIGABRT."""
    pytest.importorskip("submitit")
    from segbench.bench.presets import make_plan
    from segbench.families import registry
    from segbench.fleet.slurm import run_submitit
    from segbench.measure.harness import MeasureSettings
    from segbench.records.store import read_records
    from tests import toy

    monkeypatch.setenv("SEGBENCH_FAMILIES", "tests.toy")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setitem(registry._registered, "toy", toy.FAMILY)
    plan = make_plan(["toy-abort"], ["image"], device="cpu", precisions=["fp32"], batch_sizes=[1, 2, 4],
                     telemetry_interval_s=None, count_flops=False)
    plan.settings = MeasureSettings(warmup=0, min_iters=2, min_time_s=0.0)
    out = tmp_path / "slurm.jsonl"
    records = run_submitit(plan, out, tmp_path / "submitit", cluster="local", timeout_min=5)
    assert [(r.batch_size, r.status) for r in read_records([out])] == [(1, "ok"), (2, "error"), (4, "skipped")]
    assert "died" in records[1].error and "while measuring" in records[1].error
