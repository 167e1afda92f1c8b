"""The official-loop and offload axes of `run`, and `tune`'s pruned search, on the toy family (no
real network: each step sleeps a set time, so which configuration wins is known in advance)."""

from __future__ import annotations

import pytest

from segbench.backends.catalog import BACKENDS
from segbench.backends.execution import Execution, parse_execution
from segbench.bench import sweeps as S
from segbench.bench import tune as T
from segbench.bench.plan import Plan, Point
from segbench.bench.presets import make_plan
from segbench.bench.runner import execute
from segbench.errors import InputError
from tests import toy


def _plan(model: str, workload: str = "image", **kw):
    base = dict(device="cpu", weights="random", precisions=["fp32"], batch_sizes=[1], warmup=0, min_iters=3,
                min_time_s=0.0, telemetry_interval_s=None, count_flops=False, launcher="inline")
    return make_plan([model], [workload], **{**base, **kw})


# ------------------------------------------------------------------------------ labels


def test_offload_is_a_sweep_of_its_own_and_the_label_still_says_what_ran():
    import dataclasses

    assert [f.name for f in dataclasses.fields(Execution)] == ["backend", "compile"]
    plan = _plan("toy-v", "video", executions=["eager", "official"], sweeps={"offload": ["none", "both"]})
    labels = plan.variants()
    assert labels == ["eager", "official", "eager+offload:both", "official+offload:both"]
    for label in labels:
        assert S.label(*S.split(label)) == label
    point = Point("m", "video", "fp32", 1, *S.split("eager+offload:video"))
    assert point.execution == "eager" and point.sweeps == (("offload", "video"),)
    assert point.label == "eager+offload:video"
    assert S.execution_record("eager+offload:video") == {"label": "eager+offload:video", "backend": "eager",
                                                         "compile": "off", "offload": "video"}
    assert not Execution(backend="official").replaces_network and Execution(compile="default").replaces_network


@pytest.mark.parametrize("label", ["eager+offload:disk", "eager+offload:none", "eager+offload:", "eager+gpu:x"])
def test_unknown_or_second_spellings_of_sweeps_are_input_errors(label):
    with pytest.raises(InputError):
        S.split(label)


def test_an_unknown_execution_is_an_input_error():
    with pytest.raises(InputError):
        parse_execution("tensorrt")
    with pytest.raises(InputError):
        parse_execution("eager+offload:video")  # a sweep is not part of the execution


def test_an_unknown_offload_on_the_command_line_is_an_input_error():
    from click.testing import CliRunner

    from segbench.cli import cli
    from tests.cli_checks import one_line_error

    result = CliRunner().invoke(cli, ["run", "-m", "sam2.1-tiny", "-w", "video", "--offload", "gpu",
                                      "--save-plan", "x.yaml"])
    assert "unknown --offload 'gpu'" in one_line_error(result)


def test_a_plan_written_with_offload_in_its_labels_reads_as_the_sweep(tmp_path):
    old = {"plan_version": 1, "models": ["toy-v"], "workloads": ["video"], "precisions": ["fp32"],
           "batch_sizes": [1, 2], "device": "cpu",
           "executions": ["eager", "official", "eager+offload:both", "official+offload:both"]}
    plan = Plan.from_dict(old)
    assert plan.executions == ["eager", "official"] and plan.sweeps == {"offload": ["none", "both"]}
    assert plan.variants() == old["executions"]
    only = Plan.from_dict({**old, "executions": ["eager+offload:video"]})
    assert only.executions == ["eager"] and only.sweeps == {"offload": ["video"]}
    saved = plan.save(tmp_path / "p.yaml")
    assert Plan.load(saved) == plan
    with pytest.raises(InputError):
        Plan.from_dict({**old, "sweeps": {"offload": ["disk"]}})


def test_the_sweep_gives_the_points_in_the_order_the_labels_did(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-v": {}})
    plan = _plan("toy-v", "video", executions=["eager", "official", "compile"], batch_sizes=[1, 2],
                 precisions=["fp32", "bf16"], sweeps={"offload": ["none", "video", "both"]})
    labels = [(p.precision, p.batch_size, p.label) for p in plan.points()]
    # As when offload was part of the labels: per precision, every (offload, execution), eager first.
    shown = ["eager", "official", "compile", "eager+offload:video", "official+offload:video",
             "compile+offload:video", "eager+offload:both", "official+offload:both", "compile+offload:both"]
    assert labels == [(p, b, s) for p in ("fp32", "bf16") for s in shown for b in (1, 2)]


def _saved_plan(tmp_path, *args: str) -> dict:
    import yaml
    from click.testing import CliRunner

    from segbench.cli import cli

    out = tmp_path / f"plan{len(list(tmp_path.glob('plan*.yaml')))}.yaml"  # --save-plan keeps an existing plan
    result = CliRunner().invoke(cli, ["run", "-m", "sam2.1-tiny", "-w", "video", *args, "--save-plan", str(out)])
    assert result.exit_code == 0, result.output
    return yaml.safe_load(out.read_text())


def test_the_old_offload_flags_become_the_axis_so_the_label_says_what_ran(tmp_path):
    plan = _saved_plan(tmp_path, "--offload-video-to-cpu", "--offload-state-to-cpu")
    assert plan["executions"] == ["eager"] and plan["sweeps"] == {"offload": ["both"]}
    assert not plan["options"]["offload_video_to_cpu"] and not plan["options"]["offload_state_to_cpu"]
    assert _saved_plan(tmp_path, "--offload", "none,state")["sweeps"] == {"offload": ["none", "state"]}
    assert _saved_plan(tmp_path)["sweeps"] == {}


def test_the_old_offload_flags_and_the_axis_together_are_a_one_line_error():
    from click.testing import CliRunner

    from segbench.cli import cli
    from tests.cli_checks import one_line_error

    result = CliRunner().invoke(cli, ["run", "-m", "sam2.1-tiny", "-w", "video", "--offload", "video",
                                      "--offload-state-to-cpu", "--save-plan", "x.yaml"])
    assert "give it in --offload" in one_line_error(result)


# ------------------------------------------------------------------------------ official loop


def test_the_official_loop_is_its_own_row_and_says_what_it_timed(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-lib": {"official_sleep_s": 0.02}, "toy-bare": {}})
    records = execute(_plan("toy-lib", executions=["eager", "official"]), tmp_path / "r.jsonl")
    eager, official = records
    assert (eager.execution_label, official.execution_label) == ("eager", "official")
    assert official.status == "ok" and official.params["timed"] == toy.ToyWorkload.official_loop
    assert official.stats["latency_s"]["median"] >= 0.02  # the official step ran, not segbench's
    assert eager.stats["latency_s"]["median"] < 0.02
    assert eager.match_key() != official.match_key()
    (bare,) = execute(_plan("toy-bare", executions=["official"]), tmp_path / "b.jsonl")
    assert bare.status == "error" and "no official loop" in bare.error


# ------------------------------------------------------------------------------ offload


def test_offload_points_see_their_flags_and_the_workload_gets_its_own_back(tmp_path, monkeypatch):
    seen, served = [], []
    real = toy.ToyVideo.prepare

    def spy(self, batch_size):
        step = real(self, batch_size)
        seen.append((self.options.offload_video_to_cpu, self.options.offload_state_to_cpu))
        served.append(self)
        return step

    monkeypatch.setattr(toy.ToyVideo, "prepare", spy)
    toy.register(monkeypatch, **{"toy-v": {}})
    records = execute(_plan("toy-v", "video", sweeps={"offload": ["none", "video", "both"]}), tmp_path / "r.jsonl")
    assert [r.status for r in records] == ["ok"] * 3
    assert seen == [(False, False), (True, False), (True, True)]
    workload = served[-1]  # one workload object served all three points; its own options are back
    assert all(w is workload for w in served)
    assert (workload.options.offload_video_to_cpu, workload.options.offload_state_to_cpu) == (False, False)
    assert [r.execution["offload"] for r in records] == ["none", "video", "both"]
    assert [r.execution_label for r in records] == ["eager", "eager+offload:video", "eager+offload:both"]
    assert len({r.match_key() for r in records}) == 3


def test_offload_on_a_workload_without_a_video_predictor_is_a_failed_row(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-i": {}})
    records = execute(_plan("toy-i", executions=["eager", "eager+offload:state"]), tmp_path / "r.jsonl")
    assert [r.status for r in records] == ["ok", "error"]
    assert "--offload applies to" in records[1].error


# ------------------------------------------------------------------------------ tune's search


def test_tune_prunes_a_slow_precision_grows_the_batch_and_states_the_official_ratio(tmp_path, monkeypatch):
    # fp32: 10 ms a step at any batch (so larger batches win per item); bf16: 50 ms (5x: abandoned);
    # the official loop 30 ms a step.
    toy.register(monkeypatch, **{"toy-t": {"sleep_s": 0.01, "sleep_by_precision": {"bf16": 0.05},
                                           "official_sleep_s": 0.03, "slot": True}})
    monkeypatch.setattr(T, "runtimes", lambda: [])  # no exported backends: what is pruned is the subject
    result = T.tune(_plan("toy-t"), tmp_path / "t.jsonl", minutes=5, batch_sizes=(1, 2, 4), compile_trials=False)
    by_stage = {(t.stage, t.precision, t.batch_size): t for t in result.trials}
    assert result.official is by_stage[("official", "fp32", 1)] and result.official.verdict == "reference"
    bf16 = by_stage[("precision", "bf16", 1)]
    assert bf16.record.fidelity["rel_error"] < 0.02  # faithful, yet too slow to carry on
    assert bf16.verdict.startswith("abandoned")
    assert result.best is by_stage[("batch", "fp32", 4)] and result.best.verdict == "fastest"
    assert result.speedup_vs_official == pytest.approx(result.official.per_item_s / result.best.per_item_s)
    assert result.speedup_vs_official > result.speedup > 2  # official 3x slower than segbench's step here
    data = result.to_dict("random")
    assert data["official_means"] == toy.ToyWorkload.official_loop
    assert "--batch-sizes 4" in data["command"]
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == len(result.trials)


def test_a_perturbed_configuration_fails_the_bound(monkeypatch):
    from segbench.records.schema import Record

    toy.register(monkeypatch, **{"toy-m": {}})
    record = Record(model="toy-m", workload="image", precision="bf16", batch_size=1, device="cpu",
                    execution=parse_execution("eager").to_dict(), fidelity={"rel_error": 0.05, "mask_iou": 0.999})
    assert not T.Bound(max_error=0.02).admits(record)
    record.fidelity = {"rel_error": 0.01, "mask_iou": 0.95}
    assert not T.Bound(min_iou=0.99).admits(record)
    record.fidelity = {"rel_error": 0.01, "mask_iou": 0.995}
    assert T.Bound().admits(record)
    record.precision, record.fidelity = "fp32", {}
    assert T.Bound().admits(record)  # fp32 eager: the reference's own arithmetic
    record.params["vos_optimized"] = True
    assert not T.Bound().admits(record)  # a family option that compiles, with no figure to show it faithful


def test_tune_on_a_clip_tries_sams_video_predictor_and_marks_what_it_cannot_check(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-v": {"sleep_s": 0.01, "sleep_by_precision": {"bf16": 0.005}}})
    monkeypatch.setattr(T, "runtimes", lambda: [BACKENDS["openvino"]])
    seen = []
    real = toy.ToyVideo.prepare

    def spy(self, batch_size):
        seen.append(self.model.options["vos_optimized"])
        return real(self, batch_size)

    monkeypatch.setattr(toy.ToyVideo, "prepare", spy)
    result = T.tune(_plan("toy-v", "video"), tmp_path / "t.jsonl", minutes=5, batch_sizes=(1, 2))
    verdicts = {(t.stage, t.execution, bool(t.options.get("vos_optimized"))): t.verdict for t in result.trials}
    assert verdicts[("execution", "openvino", False)].startswith("not offered")  # no network slot to replace
    assert verdicts[("precision", "eager", False)].startswith("unchecked")  # faster, but no fidelity to judge
    assert verdicts[("offload", "eager+offload:both", False)].startswith("not tried (on a CPU")
    assert seen[-1] is True  # the vos trial built sam2's compiled predictor...
    assert verdicts[("vos_optimized", "eager", True)].startswith("unchecked")  # ...whose arithmetic is not checked
    assert result.best is result.baseline and not any(t.stage == "batch" for t in result.trials)
    assert "--vos-optimized" not in result.command("random")


def test_tunes_command_for_an_offloaded_best_names_the_sweep():
    from segbench.records.schema import Record

    result = T.TuneResult("sam2.1-tiny", "video", T.Bound())
    result.best = T.Trial("bf16", "eager+offload:video", 1, "offload")
    assert T._axes("eager+offload:video") == {"executions": ["eager"], "sweeps": {"offload": ["video"]}}
    assert "--offload video" in result.command("random") and "--backend" not in result.command("random")
    record = Record(model="m", workload="video", precision="fp32", batch_size=1, device="cpu",
                    execution=S.execution_record("eager+offload:state"))
    assert T.Bound().admits(record)  # fp32 eager, offloaded: the reference's own arithmetic
