"""The worker's sweep (inline launcher): every point a record, OOM and errors as rows, Ctrl-C keeps
what was measured, and every record carries the environment of the process that measured it."""

from __future__ import annotations

import importlib.metadata

import psutil
import pytest
import torch

from segbench.bench import Plan
from segbench.bench.runner import execute as run_plan
from segbench.errors import Interrupted
from segbench.measure.harness import MeasureSettings
from segbench.records.store import read_records
from tests import toy

FAST = MeasureSettings(warmup=1, min_iters=3, min_time_s=0.0)


def plan(tmp_path, models, batch_sizes=(1, 2, 4, 8), **kw) -> Plan:
    return Plan(models=list(models), workloads=["image"], precisions=["fp32"], batch_sizes=list(batch_sizes),
                device="cpu", settings=FAST, launcher="inline", **kw)


def execute(p: Plan, tmp_path, observer=None):
    return run_plan(p, tmp_path / "r.jsonl", observer)


def test_oom_is_a_result_and_the_sweep_moves_on(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-a": {"oom_above": 2}, "toy-b": {}})
    records = execute(plan(tmp_path, ["toy-a", "toy-b"]), tmp_path)
    got = [(r.model, r.batch_size, r.status) for r in read_records([tmp_path / "r.jsonl"])]
    # batch 8 of toy-a is not tried once 4 ran out of memory; toy-b still runs every size.
    assert got == [("toy-a", 1, "ok"), ("toy-a", 2, "ok"), ("toy-a", 4, "oom"),
                   ("toy-b", 1, "ok"), ("toy-b", 2, "ok"), ("toy-b", 4, "ok"), ("toy-b", 8, "ok")]
    oom = records[2]
    assert "out of memory" in oom.error and oom.samples_s == []


def test_host_ram_ceiling_turns_a_real_allocation_into_an_oom(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-alloc": {"alloc_mb": 300}})
    ceiling = psutil.Process().memory_info().rss + 700 * 2**20
    execute(plan(tmp_path, ["toy-alloc"], max_ram_bytes=ceiling), tmp_path)
    got = [(r.batch_size, r.status) for r in read_records([tmp_path / "r.jsonl"])]
    assert got == [(1, "ok"), (2, "ok"), (4, "oom")]
    # and the ceiling is lifted afterwards: a large allocation works again
    torch.empty(1200 * 2**20, dtype=torch.uint8).fill_(0)


def test_other_errors_are_recorded_and_the_sweep_continues(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-err": {"error_at_batch": 2}})
    execute(plan(tmp_path, ["toy-err"], batch_sizes=(1, 2, 4)), tmp_path)
    got = [(r.batch_size, r.status, r.error) for r in read_records([tmp_path / "r.jsonl"])]
    assert got == [(1, "ok", None), (2, "error", "ValueError: toy failure"), (4, "ok", None)]


def test_ctrl_c_keeps_finished_records_and_marks_the_interrupted_one(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-ok": {}, "toy-int": {"interrupt_at_iter": 3}})
    with pytest.raises(Interrupted):
        execute(plan(tmp_path, ["toy-ok", "toy-int"], batch_sizes=(1, 2)), tmp_path)
    got = [(r.model, r.batch_size, r.status, len(r.samples_s)) for r in read_records([tmp_path / "r.jsonl"])]
    assert got == [("toy-ok", 1, "ok", 3), ("toy-ok", 2, "ok", 3), ("toy-int", 1, "interrupted", 1)]


def test_record_carries_stats_flops_memory_and_environment(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-a": {}})
    (r,) = execute(plan(tmp_path, ["toy-a"], batch_sizes=(4,)), tmp_path)
    assert r.status == "ok" and r.weights == "random"
    # The worker fingerprints the process it measures in.
    assert r.environment["device"] == "cpu" and r.environment["torch_threads"] == torch.get_num_threads()
    assert r.environment["hardware"] and r.environment["versions"]["torch"] == importlib.metadata.version("torch")
    lat = r.stats["latency_s"]
    assert lat["n"] == len(r.samples_s) == 3
    assert r.stats["per_item_latency_s"]["median"] == pytest.approx(lat["median"] / 4)
    assert r.stats["items_per_s"] == pytest.approx(4 / lat["median"])
    assert r.flops["per_item"] == 128 and r.flops["per_step"] == 4 * 128 and r.flops["achieved_tflops"] > 0
    assert r.memory["peak_rss_bytes"] > 0
    assert r.settings["min_iters"] == 3 and r.run_id


def test_telemetry_summary_sidecar_and_throttle_warning(tmp_path, monkeypatch):
    """A run beside a GPU that is throttling records it, keeps the samples, and says so."""
    from tests.fakes.fake_pynvml import FakeNVML, presets

    toy.sample_fake_gpus(monkeypatch, FakeNVML([presets.laptop_throttled()]))
    toy.register(monkeypatch, **{"toy-a": {"sleep_s": 0.02}})
    notes = []

    class Listener:
        def point_started(self, *a, **k): ...
        def sample(self, *a): ...
        def record(self, *a): ...
        def note(self, text): notes.append(text)

    (r,) = execute(plan(tmp_path, ["toy-a"], batch_sizes=(1,), telemetry_interval_s=0.01), tmp_path, Listener())
    assert r.telemetry["n_samples"] >= 2
    assert r.telemetry["throttled"] is True
    assert "gpu0.temperature_c" in r.telemetry["signals"]
    sidecar = tmp_path / "r.telemetry.jsonl"
    assert sidecar.exists() and r.id in sidecar.read_text()
    assert any("throttled" in n for n in notes) and any("understate" in n for n in r.notes)


def test_cpu_runs_do_not_sample_gpus(monkeypatch):
    """A GPU throttling next to a CPU run is not this run's problem."""
    from segbench.bench.point import sampler_for
    from segbench.probe import nvml as nvml_module
    from tests.fakes.fake_pynvml import FakeNVML, presets

    monkeypatch.setattr(nvml_module, "load_pynvml", lambda: FakeNVML([presets.laptop_throttled()]))
    with sampler_for(torch.device("cpu"), 0.01) as sampler:
        pass
    assert not any(k.startswith("gpu") for s in sampler.samples for k in s)


def test_nvml_index_matches_by_uuid(monkeypatch):
    from segbench.probe.nvml import nvml_index

    class Props:
        uuid = "8b7a4b8c-1111-2222-3333-444455556666"

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: Props())
    uuids = ["GPU-00000000-aaaa-bbbb-cccc-dddddddddddd", "GPU-8B7A4B8C-1111-2222-3333-444455556666"]
    assert nvml_index(0, uuids) == 1  # cuda:0 is NVML's GPU 1 (CUDA_VISIBLE_DEVICES=1, or fastest-first)
    assert nvml_index(0, ["GPU-other"]) == 0  # no match: same index


def test_a_model_that_does_not_fit_at_load_is_a_row_and_the_sweep_goes_on(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-huge": {}, "toy-b": {}})
    real_load = toy.load

    def load(spec, options):
        if spec.name == "toy-huge":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 40.00 GiB")
        return real_load(spec, options)

    monkeypatch.setattr(toy, "load", load)
    execute(plan(tmp_path, ["toy-huge", "toy-b"], batch_sizes=(1, 2)), tmp_path)
    got = [(r.model, r.batch_size, r.status) for r in read_records([tmp_path / "r.jsonl"])]
    assert got == [("toy-huge", 1, "oom"), ("toy-b", 1, "ok"), ("toy-b", 2, "ok")]
    assert "while loading the model" in read_records([tmp_path / "r.jsonl"])[0].error
