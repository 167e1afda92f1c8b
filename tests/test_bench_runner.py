"""The runner's seams: a plan that saves and replays to the same points, the process launcher that turns
a crashing worker into rows, the sink that never mixes records into a file that is not segbench's, and
the Python API over the same pieces."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from segbench.bench import Plan, execute
from segbench.bench.presets import make_plan
from segbench.cli import cli
from segbench.errors import InputError
from segbench.measure.harness import MeasureSettings
from segbench.records.store import read_records
from tests import toy
from tests.cli_checks import one_line_error

FAST = MeasureSettings(warmup=0, min_iters=2, min_time_s=0.0)


@pytest.fixture
def toy_family_in_workers(monkeypatch):
    """The fixed toy family (tests/toy.py FAMILY) for this process and for spawned worker processes."""
    from segbench.families import registry

    monkeypatch.setenv("SEGBENCH_FAMILIES", "tests.toy")
    monkeypatch.setitem(registry._registered, "toy", toy.FAMILY)


def points_of(records) -> list[tuple]:
    return [(r.model, r.workload, r.precision, r.batch_size) for r in records]


# -- plans ----------------------------------------------------------------------------------------------


def test_a_plan_round_trips_through_yaml_and_json(tmp_path):
    plan = make_plan(["sam2.1-tiny", "mask2former-swin-tiny"], ["image", "prompt"], quick=True, device="cpu",
                     precisions=["fp32", "auto"], options={"points": ((10.0, 20.0),), "source_size": (480, 640)})
    for name in ("plan.yaml", "plan.json"):
        again = Plan.load(plan.save(tmp_path / name))
        assert again == plan
        assert again.points() == plan.points()


def test_plan_points_leave_out_what_a_model_does_not_serve():
    plan = make_plan(["sam2.1-tiny", "mask2former-swin-tiny"], ["image", "prompt"], device="cpu",
                     precisions=["fp32"], batch_sizes=[1, 2])
    got = [(p.model, p.workload, p.batch_size) for p in plan.points()]
    assert got == [("sam2.1-tiny", "image", 1), ("sam2.1-tiny", "image", 2), ("sam2.1-tiny", "prompt", 1),
                   ("sam2.1-tiny", "prompt", 2), ("mask2former-swin-tiny", "image", 1),
                   ("mask2former-swin-tiny", "image", 2)]


@pytest.mark.parametrize("text, message", [
    ("models: [sam2.1-tiny]\nbogus: 1\n", "unknown field 'bogus'"),
    ("workloads: [image]\n", "field 'models' is missing"),
    ("models: [sam2.1-tiny]\nbatch_sizes: [1, two]\n", "batch_sizes must be a list of integers"),
    ("models: [sam2.1-tiny]\nsettings: {warmup: 1, tea: 2}\n", "settings: unknown field 'tea'"),
    ("plan_version: 99\nmodels: [sam2.1-tiny]\n", "newer than this segbench reads"),
    ("[not, a, mapping]\n", "expected a mapping"),
    ("models: [sam2.1-tiny\n", "not a valid plan file"),
])
def test_a_broken_plan_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        Plan.load(path)


def test_save_plan_then_replay_measures_the_same_points(in_tmp, cli_runner, toy_family_in_workers):
    args = ["-m", "toy-ok", "--batch-sizes", "1,4", "--precision", "fp32,bf16", "--min-iters", "2", "--min-time",
            "0", "--warmup", "0", "--telemetry-interval", "0"]
    saved = cli_runner.invoke(cli, ["run", *args, "--save-plan", "plan.yaml"])
    assert saved.exit_code == 0, saved.output
    assert "4 point(s)" in saved.stderr and not Path("results").exists()  # saved, nothing measured
    direct = cli_runner.invoke(cli, ["run", *args, "-o", "direct.jsonl"])
    replay = cli_runner.invoke(cli, ["run", "--plan", "plan.yaml", "-o", "replay.jsonl"])
    assert direct.exit_code == 0 and replay.exit_code == 0, replay.output
    assert points_of(read_records(["replay.jsonl"])) == points_of(read_records(["direct.jsonl"])) == [
        ("toy-ok", "image", "fp32", 1), ("toy-ok", "image", "fp32", 4),
        ("toy-ok", "image", "bf16", 1), ("toy-ok", "image", "bf16", 4)]


def test_plan_with_point_options_is_refused(in_tmp, cli_runner, tmp_path):
    make_plan(["sam2.1-tiny"], ["image"], device="cpu").save(tmp_path / "p.yaml")
    result = cli_runner.invoke(cli, ["run", "--plan", str(tmp_path / "p.yaml"), "--batch-sizes", "4"])
    assert "--batch-sizes would be ignored" in one_line_error(result)


# -- the process launcher -------------------------------------------------------------------------------


def test_a_worker_that_aborts_becomes_rows_and_the_sweep_goes_on(tmp_path, toy_family_in_workers):
    """toy-abort calls os.abort() at batch 2: a real SIGABRT in the worker process."""
    plan = Plan(models=["toy-abort", "toy-ok"], precisions=["fp32"], batch_sizes=[1, 2, 4], device="cpu",
                settings=FAST, telemetry_interval_s=None, launcher="process")
    execute(plan, tmp_path / "r.jsonl")
    got = [(r.model, r.batch_size, r.status) for r in read_records([tmp_path / "r.jsonl"])]
    assert got == [("toy-abort", 1, "ok"), ("toy-abort", 2, "error"), ("toy-abort", 4, "skipped"),
                   ("toy-ok", 1, "ok"), ("toy-ok", 2, "ok"), ("toy-ok", 4, "ok")]
    crashed, skipped = read_records([tmp_path / "r.jsonl"])[1:3]
    assert "SIGABRT" in crashed.error and "toy-abort image fp32 b2" in crashed.error
    assert "not measured" in skipped.error and crashed.environment["hardware"]


def test_each_model_runs_in_its_own_process(tmp_path, toy_family_in_workers):
    plan = Plan(models=["toy-ok", "toy-sleepy"], precisions=["fp32"], batch_sizes=[1], device="cpu",
                settings=FAST, telemetry_interval_s=None, launcher="process")
    records = execute(plan, tmp_path / "r.jsonl")
    pids = {r.model: r.environment["pid"] for r in records}
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()


def test_the_inline_launcher_measures_here(tmp_path, toy_family_in_workers):
    plan = Plan(models=["toy-ok"], precisions=["fp32"], batch_sizes=[1], device="cpu", settings=FAST,
                telemetry_interval_s=None, launcher="inline")
    (record,) = execute(plan, tmp_path / "r.jsonl")
    assert record.environment["pid"] == os.getpid()


# -- the sink -------------------------------------------------------------------------------------------


def test_records_are_never_mixed_into_a_file_that_is_not_segbench_s(in_tmp, cli_runner):
    Path("notes.jsonl").write_text("my own notes, not records\n")
    result = cli_runner.invoke(cli, ["run", "--quick", "-o", "notes.jsonl"])
    assert "is not a segbench results file" in one_line_error(result)
    assert Path("notes.jsonl").read_text() == "my own notes, not records\n"
    result = cli_runner.invoke(cli, ["run", "--quick", "-o", "notes.csv"])
    assert "results files are JSON Lines named *.jsonl" in one_line_error(result)
    assert not Path("notes.csv").exists()


def test_an_existing_results_file_is_appended_to(tmp_path, toy_family_in_workers):
    plan = Plan(models=["toy-ok"], precisions=["fp32"], batch_sizes=[1], device="cpu", settings=FAST,
                telemetry_interval_s=None, launcher="inline")
    execute(plan, tmp_path / "r.jsonl")
    execute(plan, tmp_path / "r.jsonl")
    first, second = read_records([tmp_path / "r.jsonl"])
    assert first.run_id != second.run_id and first.id != second.id


# -- the Python API ---------------------------------------------------------------------------------------


def test_the_python_api_runs_a_plan_and_gives_a_dataframe(tmp_path, toy_family_in_workers):
    from segbench import api

    plan = api.plan(["toy-ok"], ["image"], device="cpu", precisions=["fp32"], batch_sizes=[1, 2], min_iters=2,
                    min_time_s=0, warmup=0, telemetry_interval_s=None, launcher="inline")
    records = api.run(plan, tmp_path / "nb.jsonl")
    df = api.frame(records)
    assert list(df["batch_size"]) == [1, 2] and (df["status"] == "ok").all()
    assert (df["items_per_s"] > 0).all()
    assert [r.id for r in api.read([tmp_path])] == [r.id for r in records]
    assert "toy-ok" in api.models("image")
    assert json.loads(json.dumps(plan.to_dict()))["models"] == ["toy-ok"]
