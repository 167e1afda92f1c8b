"""The fleet on a real local Ray cluster: several raylets on this machine, each with a custom resource
standing in for a GPU kind. Run by tests/test_fleet.py inside a network namespace that has only `lo`,
so all of Ray's traffic stays on 127.0.0.1; not collected on its own (the name lacks `test_`).

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m pytest tests/fleet_cluster.py'

Nodes: the head (kind A, 1 CPU, also the driver's), node 2 (kinds B and C), node 3 (kind C). The
tests run in file order: the kill tests last, since they take nodes away.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The nodes' worker processes must see the toy family: set before any raylet starts (they inherit it).
os.environ["SEGBENCH_FAMILIES"] = "tests.toy"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

ray = pytest.importorskip("ray")

from segbench.bench.presets import make_plan  # noqa: E402
from segbench.cli import cli  # noqa: E402
from segbench.errors import Interrupted  # noqa: E402
from segbench.measure.harness import MeasureSettings  # noqa: E402
from segbench.records.store import read_records  # noqa: E402

STORE = 100 * 2**20  # object store per node: records are small


def only_loopback() -> bool:
    """This network namespace's interfaces (/proc/net/dev is per namespace; /sys may be the host's)."""
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return [line.split(":")[0].strip() for line in lines] == ["lo"]


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    if not only_loopback():
        pytest.fail("run inside a network namespace with only lo (tests/test_fleet.py does)")
    temp = os.environ.get("SEGBENCH_RAY_TEMP") or tempfile.mkdtemp(prefix="sbray-")
    # Ray notes the cluster's address in /tmp/ray whatever temp_dir says, and fails where that folder is missing.
    os.makedirs(os.path.join(tempfile.gettempdir(), "ray"), exist_ok=True)
    head = {"num_cpus": 1, "resources": {"kind:A": 1}, "object_store_memory": STORE, "include_dashboard": False,
            "temp_dir": temp}
    c = Cluster(initialize_head=True, head_node_args=head)
    node2 = c.add_node(num_cpus=1, resources={"kind:B": 1, "kind:C": 1}, object_store_memory=STORE)
    node3 = c.add_node(num_cpus=1, resources={"kind:C": 1}, object_store_memory=STORE)
    ray.init(address=c.address, log_to_driver=False, logging_level="ERROR")
    c.wait_for_nodes()
    try:
        nodes = ray.nodes()
        assert len(nodes) == 3
        assert {n["NodeManagerAddress"] for n in nodes} == {"127.0.0.1"}, nodes  # nothing beyond loopback
        yield {"cluster": c, "workers": {node2.node_id: node2, node3.node_id: node3}}
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("fleet-results")


class Killer:
    """An observer that, when the first record of the run arrives, kills the node it came from."""

    def __init__(self, cluster: dict) -> None:
        self.cluster = cluster
        self.killed: str | None = None
        self.notes: list[str] = []

    def point_started(self, label, min_iters, point=None) -> None: ...
    def sample(self, index, seconds) -> None: ...

    def note(self, text: str) -> None:
        self.notes.append(text)

    def record(self, record) -> None:
        if self.killed is None:
            self.killed = record.environment["fleet"]["node_id"]
            self.cluster["cluster"].remove_node(self.cluster["workers"].pop(self.killed), allow_graceful=False)


def sleepy_plan(batch_sizes=(1, 2, 4), min_time_s=1.0):
    plan = make_plan(["toy-sleepy"], ["image"], device="cpu", precisions=["fp32"], batch_sizes=list(batch_sizes),
                     telemetry_interval_s=None, count_flops=False)
    plan.settings = MeasureSettings(warmup=0, min_iters=2, min_time_s=min_time_s)
    return plan


def test_a_quick_plan_on_two_kinds_writes_both_nodes_records_into_one_file(cluster, results, cli_runner):
    out = results / "fleet.jsonl"
    got = cli_runner.invoke(cli, ["fleet", "run", "--quick", "-m", "toy-ok", "--on", "A,B", "--telemetry-interval",
                                  "0", "--no-flops", "-o", str(out)])
    assert got.exit_code == 0, got.output
    records = read_records([out])
    by_kind = {r.environment["fleet"]["kind"]: r for r in records}
    assert sorted(by_kind) == ["A", "B"] and all(r.status == "ok" for r in records)
    assert len(records) == 4  # --quick: batch 1 and 2 on each kind
    assert len({r.environment["fleet"]["node_id"] for r in records}) == 2
    for r in records:  # each carries the environment of the node that measured it
        assert r.environment["host"] and r.environment["hardware"] and r.environment["versions"]["segbench"]
        assert r.environment["fleet"]["node_ip"] == "127.0.0.1"
    assert "per node" in got.stdout and "[A@127.0.0.1" in got.output  # progress names the node


def test_throughput_at_one_and_two_workers(cluster, results, cli_runner):
    out = results / "throughput.jsonl"
    got = cli_runner.invoke(cli, ["fleet", "throughput", "-m", "toy-sleepy", "--workers", "1,2", "--images", "40",
                                  "--device", "cpu", "--warmup", "0", "-o", str(out)])
    assert got.exit_code == 0, got.output
    records = read_records([out])
    assert [r.metrics["throughput"]["workers"] for r in records] == [1, 2]
    one, two = (r.metrics["throughput"] for r in records)
    assert one["scaling_efficiency"] == 1.0 and one["items"] == two["items"] == 40
    # toy-sleepy sleeps 50 ms per item: waiting, not computing, so two workers nearly double it.
    assert 0.6 < two["scaling_efficiency"] < 1.2, two
    assert two["items_per_hour"] > one["items_per_hour"]
    assert sum(w["items"] for w in two["per_worker"]) == 40 and all(w["p90"] for w in two["per_worker"])
    assert "scaling" in got.stdout and "efficiency" in got.stdout


def test_the_report_shows_both_machines_and_the_scaling_curve(cluster, results, tmp_path):
    from segbench.report.build import build_report

    report = build_report([results], tmp_path / "report")
    assert report.machines >= 2
    names = {f.name for f in report.files}
    assert any(n.startswith("scaling-") for n in names), names
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "kind A" in summary and "kind B" in summary and "scaling efficiency" in summary


def test_a_version_mismatch_is_an_error_before_anything_runs(cluster, tmp_path, cli_runner, monkeypatch):
    import segbench

    monkeypatch.setattr(segbench, "__version__", "9.9.9")
    out = tmp_path / "never.jsonl"
    got = cli_runner.invoke(cli, ["fleet", "run", "--quick", "-m", "toy-ok", "--on", "A", "-o", str(out)])
    assert got.exit_code == 2
    assert "runs segbench 0.1.0, the driver 9.9.9" in got.stderr and "Traceback" not in got.output
    assert not out.exists()


def test_the_head_answers_the_address_check_as_ray(cluster):
    from segbench.fleet.cluster import reachable

    reachable(cluster["cluster"].address)  # the gRPC probe a port that is not Ray fails


def test_a_task_past_the_point_time_limit_is_cancelled_and_its_point_an_error_row(cluster, tmp_path):
    from segbench.fleet.run import run_fleet

    plan = sleepy_plan(batch_sizes=(1, 2), min_time_s=0.0)
    plan.models, plan.point_timeout_s = ["toy-hang", "toy-ok"], 3.0
    plan.settings = MeasureSettings(warmup=1, min_iters=2, min_time_s=0.0)
    out = tmp_path / "timeout.jsonl"
    run_fleet(plan, out, on=["A"])
    got = [(r.model, r.batch_size, r.status, r.error) for r in read_records([out])]
    assert got[0] == ("toy-hang", 1, "error", "timed out after 3 s (in the warm-up phase): toy-hang image fp32 b1")
    assert got[1][:3] == ("toy-hang", 2, "skipped")
    assert [g[:3] for g in got[2:]] == [("toy-ok", 1, "ok"), ("toy-ok", 2, "ok")]


def test_ctrl_c_cancels_the_tasks_and_keeps_what_came_back(cluster, tmp_path):
    from segbench.fleet.run import run_fleet

    class CtrlC(Killer):
        def record(self, record) -> None:
            if self.killed is None:
                self.killed = "ctrl-c"
                raise KeyboardInterrupt

    out = tmp_path / "interrupted.jsonl"
    with pytest.raises(Interrupted, match="finished record"):
        run_fleet(sleepy_plan(), out, CtrlC(cluster), on=["A"])
    records = read_records([out])
    assert records[0].status == "ok" and records[0].batch_size == 1
    assert [r.status for r in records[1:]] == ["interrupted"]  # the point being measured, handed back


def test_a_node_killed_mid_run_has_its_unfinished_points_retried_elsewhere(cluster, tmp_path):
    from segbench.fleet.run import run_fleet

    out = tmp_path / "killed.jsonl"
    killer = Killer(cluster)
    run_fleet(sleepy_plan(), out, killer, on=["C"])
    records = read_records([out])
    assert [(r.batch_size, r.status) for r in records] == [(1, "ok"), (2, "ok"), (4, "ok")]
    assert records[0].environment["fleet"]["node_id"] == killer.killed  # kept, though its node is gone
    # The dying worker may still hand back the point it was in; the rest are measured on the other C node.
    last = records[-1].environment["fleet"]
    assert last["attempt"] == 2 and {last["node_id"]} == set(cluster["workers"])
    assert any("retried once" in n for n in killer.notes)


def test_a_node_killed_with_no_other_of_its_kind_leaves_failed_rows(cluster, tmp_path):
    from segbench.fleet.run import run_fleet

    out = tmp_path / "lost.jsonl"
    run_fleet(sleepy_plan(), out, Killer(cluster), on=["C"])  # one C node is left: it is killed too
    records = read_records([out])
    assert [r.batch_size for r in records] == [1, 2, 4] and records[0].status == "ok"
    # The dying worker may still hand back the point it was in; what it did not is rows saying why.
    failed = [r for r in records if r.status != "ok"]
    assert failed and [r.status for r in failed] == ["error"] + ["skipped"] * (len(failed) - 1)
    assert "no other live node of kind C" in failed[0].error and "while measuring" in failed[0].error
    assert failed[-1].environment["fleet"]["kind"] == "C"  # the rows name the node that was lost


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
