"""Workers that fail loudly, stop on time and die with their parent (tests/toy_faults.py's plugin models):
a point past its time limit is an error row and the sweep goes on; a model that segfaults while loading
or calls sys.exit() mid-point is an error row and a non-zero exit; a model's prints never reach
`run --json`'s stdout; and a `kill -9` of `segbench run` takes its worker with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from segbench.bench import Plan, execute
from segbench.measure.harness import MeasureSettings
from segbench.records.store import read_records
from tests import toy_faults

ROOT = Path(__file__).resolve().parents[1]
SEGBENCH = [sys.executable, "-m", "segbench"]
FAST = MeasureSettings(warmup=1, min_iters=2, min_time_s=0.0)
LIMIT_S = 2.0
TOY_RUN = ["-w", "image", "--device", "cpu", "--precision", "fp32", "--warmup", "1", "--min-iters", "2",
           "--min-time", "0", "--no-flops", "--telemetry-interval", "0"]


@pytest.fixture
def faults(monkeypatch) -> dict[str, str]:
    """The fault models here and in the worker processes; the environment for a `segbench` subprocess."""
    return toy_faults.use(monkeypatch)


def plan(models, launcher="process", **kw) -> Plan:
    kw = {"precisions": ["fp32"], "batch_sizes": [1, 2], "point_timeout_s": LIMIT_S, **kw}
    return Plan(models=list(models), workloads=["image"], device="cpu", settings=FAST, launcher=launcher,
                telemetry_interval_s=None, count_flops=False, **kw)


def rows(path: Path) -> list[tuple]:
    return [(r.model, r.precision, r.batch_size, r.status, r.error) for r in read_records([path])]


def segbench(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*SEGBENCH, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


# -- the time limit --------------------------------------------------------------------------------------


def test_a_point_past_its_time_limit_is_an_error_row_and_a_fresh_worker_goes_on(tmp_path, faults):
    """fault-hang-b2 hangs at batch 2 only: each precision's batch 2 is stopped, a fresh worker measures
    the next precision, and the next model runs."""
    out = tmp_path / "r.jsonl"
    started = time.monotonic()
    execute(plan(["fault-hang-b2", "fault-ok"], precisions=["fp32", "bf16"]), out)
    timed_out = f"timed out after {LIMIT_S:g} s (in the warm-up phase)"
    assert rows(out) == [("fault-hang-b2", "fp32", 1, "ok", None), ("fault-hang-b2", "fp32", 2, "error", timed_out),
                         ("fault-hang-b2", "bf16", 1, "ok", None), ("fault-hang-b2", "bf16", 2, "error", timed_out),
                         ("fault-ok", "fp32", 1, "ok", None), ("fault-ok", "fp32", 2, "ok", None),
                         ("fault-ok", "bf16", 1, "ok", None), ("fault-ok", "bf16", 2, "ok", None)]
    assert time.monotonic() - started < 90


def test_the_phase_a_point_timed_out_in_is_named_and_a_hung_load_skips_the_model(tmp_path, faults):
    out = tmp_path / "r.jsonl"
    execute(plan(["fault-hang-timed", "fault-hang-load", "fault-ok"], batch_sizes=[1, 2]), out)
    got = rows(out)
    # hung in its timed phase: its larger batch would take longer still, and is not tried
    assert got[0] == ("fault-hang-timed", "fp32", 1, "error", f"timed out after {LIMIT_S:g} s (in the timed phase)")
    assert got[1][:4] == ("fault-hang-load", "fp32", 1, "error")
    assert got[1][4] == f"timed out after {LIMIT_S:g} s (in the load phase): loading fault-hang-load"
    assert got[2][:4] == ("fault-hang-load", "fp32", 2, "skipped")
    assert got[3:] == [("fault-ok", "fp32", 1, "ok", None), ("fault-ok", "fp32", 2, "ok", None)]


def test_run_point_timeout_turns_a_model_that_never_returns_into_an_error_row_and_runs_the_next(tmp_path, faults):
    out = tmp_path / "r.jsonl"
    got = segbench(["run", "-m", "fault-hang,fault-ok", *TOY_RUN, "--batch-sizes", "1", "--point-timeout", "2",
                    "-o", str(out)], faults)
    assert got.returncode == 1, got.stderr[-2000:]
    assert rows(out) == [("fault-hang", "fp32", 1, "error", "timed out after 2 s (in the warm-up phase)"),
                         ("fault-ok", "fp32", 1, "ok", None)]


def test_inline_the_time_limit_stops_the_point_with_an_alarm(tmp_path, faults):
    out = tmp_path / "r.jsonl"
    execute(plan(["fault-hang-timed", "fault-hang-b2", "fault-ok"], launcher="inline", batch_sizes=[1, 2],
                 point_timeout_s=1.0), out)
    assert rows(out) == [
        ("fault-hang-timed", "fp32", 1, "error", "timed out after 1 s (in the timed phase)"),
        ("fault-hang-b2", "fp32", 1, "ok", None),
        ("fault-hang-b2", "fp32", 2, "error", "timed out after 1 s (in the warm-up phase)"),
        ("fault-ok", "fp32", 1, "ok", None), ("fault-ok", "fp32", 2, "ok", None)]


# -- nothing measured is never a success ------------------------------------------------------------------


def test_a_model_that_segfaults_while_loading_is_an_error_row_and_a_failed_run(tmp_path, faults):
    out = tmp_path / "r.jsonl"
    got = segbench(["run", "-m", "fault-segv-load,fault-ok", *TOY_RUN, "--batch-sizes", "1,2", "-o", str(out)],
                   faults)
    assert got.returncode == 1, got.stderr[-2000:]
    records = rows(out)
    assert records[0][:4] == ("fault-segv-load", "fp32", 1, "error")
    assert "SIGSEGV" in records[0][4] and "loading fault-segv-load" in records[0][4]
    assert records[1][:4] == ("fault-segv-load", "fp32", 2, "skipped")
    assert [r[3] for r in records[2:]] == ["ok", "ok"]


def test_inline_a_model_that_calls_sys_exit_mid_point_is_an_error_row_and_the_sweep_goes_on(tmp_path, faults):
    out = tmp_path / "r.jsonl"
    got = segbench(["run", "-m", "fault-exit,fault-ok", *TOY_RUN, "--batch-sizes", "1,2,4", "--launcher", "inline",
                    "-o", str(out)], faults)
    assert got.returncode == 1, got.stderr[-2000:]
    assert rows(out) == [("fault-exit", "fp32", 1, "ok", None), ("fault-exit", "fp32", 2, "error", "SystemExit: 0"),
                         ("fault-exit", "fp32", 4, "ok", None), ("fault-ok", "fp32", 1, "ok", None),
                         ("fault-ok", "fp32", 2, "ok", None), ("fault-ok", "fp32", 4, "ok", None)]


def test_a_run_where_every_row_is_skipped_exits_non_zero(tmp_path, faults):
    from click.exceptions import Exit

    from segbench.cli.results_table import show_records
    from segbench.records.schema import Record

    skipped = [Record(model="fault-ok", workload="image", precision="fp32", batch_size=b, device="cpu",
                      status="skipped", error="not measured") for b in (1, 2)]
    with pytest.raises(Exit) as stopped:
        show_records(skipped, True, "2 record(s)")
    assert stopped.value.exit_code == 1


# -- the records channel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("launcher", ["process", "inline"])
def test_run_json_stdout_is_json_although_the_model_prints(tmp_path, faults, launcher):
    out = tmp_path / "r.jsonl"
    got = segbench(["run", "-m", "fault-print", *TOY_RUN, "--batch-sizes", "1", "--launcher", launcher,
                    "-o", str(out), "--json"], faults)
    assert got.returncode == 0, got.stderr[-2000:]
    records = json.loads(got.stdout)
    assert [(r["model"], r["status"]) for r in records] == [("fault-print", "ok")]
    assert toy_faults.MARK not in got.stdout
    assert f"{toy_faults.MARK} from python" in got.stderr and f"{toy_faults.MARK} from C" in got.stderr


# -- workers die with their parent ---------------------------------------------------------------------------


def _hanging(marker: Path, parent: subprocess.Popen, timeout_s: float) -> psutil.Process:
    """The worker, once it is inside its step that never returns."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and parent.poll() is None:
        if marker.exists() and marker.read_text():
            worker = psutil.Process(int(marker.read_text()))
            assert worker.ppid() == parent.pid
            return worker
        time.sleep(0.2)
    raise AssertionError("the worker never reached its step")


def test_a_worker_dies_with_its_parent(tmp_path, faults):
    """kill -9 of `segbench run` while its worker is in a step that never returns: the worker is gone in 5 s."""
    marker = tmp_path / "hanging.pid"
    parent = subprocess.Popen([*SEGBENCH, "run", "-m", "fault-hang", *TOY_RUN, "--batch-sizes", "1",
                               "-o", str(tmp_path / "r.jsonl")], cwd=ROOT,
                              env={**faults, toy_faults.HANGING_ENV: str(marker)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        worker = _hanging(marker, parent, 90)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        gone, alive = psutil.wait_procs([worker], timeout=5)
        assert not alive, f"worker {worker.pid} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        if worker is not None and worker.is_running():
            worker.kill()


def test_tune_fails_when_its_baseline_never_ran(tmp_path, faults):
    out = tmp_path / "t.jsonl"
    got = segbench(["tune", "-m", "fault-segv-load", "-w", "image", "--device", "cpu", "--quick", "--no-compile",
                    "--batch-sizes", "1", "-o", str(out), "--json"], faults, timeout=240)
    assert got.returncode == 1, got.stderr[-2000:]
    assert json.loads(got.stdout)["trials"][0]["stage"] == "baseline"
    assert read_records([out])[0].status == "error"


# -- the host RAM ceiling ------------------------------------------------------------------------------------


def test_allocation_failures_under_the_ram_ceiling_are_oom_rows_whatever_the_library_raises(tmp_path, faults):
    """Under --max-ram, a step whose allocation fails and that then raises SystemError (as autograd
    does) or segfaults (native code that does not check) is an `oom` row; the sweep goes on."""
    out = tmp_path / "r.jsonl"
    execute(plan(["fault-alloc-systemerror", "fault-alloc-segv"], batch_sizes=[1, 8], precisions=["fp32", "bf16"],
                 max_ram_bytes=1536 * 2**20, point_timeout_s=None), out)
    got = rows(out)
    assert [r[:4] for r in got] == [(m, p, b, s) for m in ("fault-alloc-systemerror", "fault-alloc-segv")
                                    for p in ("fp32", "bf16") for b, s in ((1, "ok"), (8, "oom"))]
    assert "under the --max-ram ceiling (SystemError" in got[1][4]
    assert "under the --max-ram ceiling of 1536 MiB" in got[5][4] and "SIGSEGV" in got[5][4]


@pytest.mark.slow
def test_yolo_training_under_a_ram_ceiling_it_cannot_fit_is_an_oom_row(tmp_path):
    out = tmp_path / "r.jsonl"
    got = segbench(["run", "-m", "yolo11n-seg", "-w", "train", "--quick", "--device", "cpu", "--precision", "fp32",
                    "--batch-sizes", "1", "--no-flops", "--max-ram", "300M", "-o", str(out)], dict(os.environ),
                   timeout=300)
    assert got.returncode == 0, got.stderr[-2000:]
    assert [(r.status, "--max-ram" in (r.error or "")) for r in read_records([out])] == [("oom", True)]
