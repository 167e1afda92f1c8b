"""The contract every registered family keeps, checked for every model x workload it serves.

At the architecture's smallest input each case must: build with random weights, run one measured
step through the real runner (plan -> worker -> sink), count its footprint (FLOPs in the record),
get a `check` prediction on a GPU and on the CPU at the workload's default size, and be among the
models `recommend` considers for that workload and each task the model answers. A new family
folder is tested here without a line added to this file.
"""

from __future__ import annotations

import math
from functools import cache

import pytest

from segbench.advisor.check import CheckRequest, check
from segbench.advisor.recommend import RecommendRequest, considered
from segbench.bench import Plan, execute
from segbench.families.registry import family_of, models
from segbench.measure.harness import MeasureSettings
from segbench.records.schema import Record
from segbench.workloads.base import WorkloadOptions

CASES = [(spec.name, workload) for spec in models().values() for workload in spec.workloads]


@cache
def measured(model: str, tmp_root: str) -> dict[str, Record]:
    """One run of every workload the model serves, at its smallest input; records by workload."""
    from pathlib import Path

    spec = models()[model]
    resolution = tuple(family_of(spec).loader().smallest_resolution(spec))
    volume = tuple(max(side, 32) for side in resolution) if len(resolution) == 3 else (32, 32, 9)
    plan = Plan(
        models=[model], workloads=list(spec.workloads), precisions=["fp32"], batch_sizes=[1], device="cpu",
        weights="random", resolution=resolution, launcher="inline", telemetry_interval_s=None,
        settings=MeasureSettings(warmup=0, min_iters=1, min_time_s=0.0),
        # A clip that just fills a video model's memory bank, a tiny scan, a 2x2 grid of automatic prompts.
        options=WorkloadOptions(source_size=(64, 96), frames=9, points_per_side=2, points_per_batch=4,
                                volume=volume, depths=()),
    )
    records = execute(plan, Path(tmp_root) / f"{model}.jsonl")
    return {r.workload: r for r in records}


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("contract"))


@pytest.mark.slow
@pytest.mark.parametrize("model, workload", CASES, ids=[f"{m}-{w}" for m, w in CASES])
def test_builds_runs_and_is_counted(model, workload, tmp_root):
    record = measured(model, tmp_root)[workload]
    assert record.status == "ok", record.error
    assert record.weights == "random" and record.samples_s and all(s > 0 for s in record.samples_s)
    assert record.stats["latency_s"]["n"] >= 1 and record.stats["items_per_s"] > 0
    assert record.flops["per_item"] > 0 and record.flops["achieved_tflops"] > 0
    assert record.environment["hardware"] and record.model_family == models()[model].family


@pytest.mark.parametrize("model, workload", CASES, ids=[f"{m}-{w}" for m, w in CASES])
@pytest.mark.parametrize("device", ["RTX 4090", "cpu"])
def test_check_predicts_it(model, workload, device):
    result = check(CheckRequest(gpu=device, model=model, workload=workload)).to_dict()
    predicted = result["predicted"]
    assert result["model"] == model and result["workload"] == workload
    assert predicted["latency_ms"] > 0 and math.isfinite(predicted["latency_ms"])
    memory = predicted.get("peak_vram_gb", predicted.get("peak_ram_gb"))
    assert memory is not None and memory > 0
    assert result["basis"]["work"]["gflops_per_step"] > 0


@pytest.mark.parametrize("model, workload", CASES, ids=[f"{m}-{w}" for m, w in CASES])
def test_recommend_considers_it_for_each_task_it_answers(model, workload):
    spec = models()[model]
    assert spec.tasks, f"{model} declares no task"
    for task in spec.tasks:
        chosen_task, names = considered(RecommendRequest(workload=workload, budget=1000, task=task))
        assert chosen_task == task and model in names


def test_every_family_declares_what_the_rest_of_segbench_asks():
    for spec in models().values():
        family = family_of(spec)
        assert spec.quality.basis, f"{spec.name}: no stated basis for its place in recommend's order"
        for workload in spec.workloads:
            assert family.workload_class(workload) is not None, f"{spec.name} lists {workload} but serves no class"
        cost = family.cost_model()
        for name in ("counted_size", "count_blocks", "footprint"):
            assert callable(getattr(cost, name, None)), f"{family.name}'s cost module lacks {name}"
