"""Caches and checks that must not pass off a wrong figure as a measurement: an ONNX export is used
only when its sidecar's key and file digest match, a point whose outputs fail the fidelity check is
never `ok` (and tune never picks it), and a corrupt or unwritable roofline cache is measured again."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
import torch

from segbench.backends import catalog
from segbench.backends import execution as E
from segbench.backends.exported import export_onnx
from segbench.bench import tune as T
from segbench.bench.presets import make_plan
from segbench.bench.runner import execute
from segbench.measure import roofline as R
from segbench.measure.fidelity import TOLERANCE, compare, failure
from tests import toy

HAVE_ORT = all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnxscript"))
needs_ort = pytest.mark.skipif(not HAVE_ORT, reason="the backends extra is not installed")
CPU = torch.device("cpu")


def _plan(model: str, **kw):
    base = dict(device="cpu", weights="random", precisions=["fp32"], batch_sizes=[1], warmup=0, min_iters=2,
                min_time_s=0.0, telemetry_interval_s=None, count_flops=False, launcher="inline")
    return make_plan([model], ["image"], **{**base, **kw})


# ------------------------------------------------------------------------------ the export cache


def _seeded_linear(*args, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)  # the same weights in every build: the same cache entry
    return torch.nn.Linear(8, 8)


def _other_weights() -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Linear(8, 8)


def _ort_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(toy, "build", _seeded_linear)
    toy.register(monkeypatch, **{"toy-x": {"slot": True}})
    eager, ort = execute(_plan("toy-x", executions=["eager", "onnxruntime"]), tmp_path / "r.jsonl")
    assert eager.status == "ok"
    return ort


def _plant(path) -> None:
    """An export of other weights under the cached entry's file name (its sidecar left as it was)."""
    export_onnx(_other_weights(), (torch.ones(1, 8),), path)


@needs_ort
@pytest.mark.parametrize("spoil", ["plant", "sidecar key", "sidecar not json", "onnx missing", "onnx truncated"])
def test_a_cached_export_that_does_not_match_its_key_is_exported_again(tmp_path, monkeypatch, spoil):
    first = _ort_run(tmp_path, monkeypatch)
    assert first.status == "ok" and first.execution["one_off"]["cached"] is False
    (path_text,) = first.execution["one_off"]["files"]
    path = type(tmp_path)(path_text)
    sidecar = path.with_suffix(".json")
    if spoil == "plant":
        _plant(path)
    elif spoil == "sidecar key":
        meta = json.loads(sidecar.read_text())
        meta["key"]["weights"] = "0" * 24
        sidecar.write_text(json.dumps(meta))
    elif spoil == "sidecar not json":
        sidecar.write_text("{not json")
    elif spoil == "onnx missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:40])
    again = _ort_run(tmp_path, monkeypatch)
    once = again.execution["one_off"]
    assert again.status == "ok", again.error
    assert once["cached"] is False and once["export_s"] > 0  # paid again, and the record says why
    assert len(once["reexported"]) == 1 and once["reexported"][0].startswith("the cached export was not used")
    assert again.fidelity["rel_error"] < 1e-4
    third = _ort_run(tmp_path, monkeypatch)  # the fresh export is a valid entry again
    assert third.execution["one_off"]["cached"] is True and "reexported" not in third.execution["one_off"]


# ------------------------------------------------------------------------------ fidelity decides the status


def test_failure_is_said_beyond_the_precisions_tolerance_only():
    assert failure({"rel_error": 0.01}, "fp32") is None
    assert failure({"rel_error": 0.3}, "bf16") is None  # rounding at bf16, compounded
    wrong = failure({"rel_error": 1.24}, "fp32")
    assert wrong == f"fidelity check failed: rel. error 1.24 vs fp32 eager (tolerance {TOLERANCE['fp32']:g} at fp32)"
    assert failure({"rel_error": float("nan")}, "bf16") and failure({"rel_error": float("inf")}, "fp16")
    assert failure({"rel_error": None, "error": "the fp32 eager reference failed"}, "bf16") is None  # unchecked
    a = torch.randn(4, 8)
    assert failure(compare([-a], [a], None), "fp32")  # a sign flip is about 2


class _Wrong(torch.nn.Module):
    """A "backend" whose outputs are of another network: what a stale export computes."""

    def __init__(self, original: torch.nn.Module) -> None:
        super().__init__()
        self.original = original

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.original(x) + 1.0

    def one_off(self) -> dict:
        return {"kind": "compile", "seconds": 0.0, "shapes": 1, "detail": "deliberately wrong"}


def _wrong_compile(monkeypatch) -> None:
    real = E.wrapper_for

    def wrapper_for(execution, original, *args):
        return _Wrong(original) if execution.compile != "off" else real(execution, original, *args)

    monkeypatch.setattr(E, "wrapper_for", wrapper_for)


def test_a_point_whose_outputs_fail_the_fidelity_check_is_an_error_row(tmp_path, monkeypatch):
    toy.register(monkeypatch, **{"toy-w": {"slot": True}})
    _wrong_compile(monkeypatch)
    eager, wrong = execute(_plan("toy-w", executions=["eager", "compile"]), tmp_path / "r.jsonl")
    assert eager.status == "ok" and eager.fidelity == {}
    assert wrong.status == "error" and wrong.error.startswith("fidelity check failed: rel. error")
    assert wrong.fidelity["rel_error"] > TOLERANCE["fp32"]
    assert wrong.stats["latency_s"]["n"] == 2  # the timing is kept; the row is not ok
    assert "break_even_items" not in wrong.execution


def test_tune_never_picks_a_configuration_that_failed_its_fidelity_check(tmp_path, monkeypatch):
    # Compiled, the toy sleeps less (it is "faster"), but its outputs are wrong.
    toy.register(monkeypatch, **{"toy-f": {"slot": True, "sleep_s": 0.02}})
    _wrong_compile(monkeypatch)
    real_prepare = toy.ToyWorkload.prepare

    def prepare(self, batch_size):
        step = real_prepare(self, batch_size)
        fast = isinstance(self.model.module, _Wrong) or isinstance(getattr(self.model.module, "module", None), _Wrong)
        return (lambda: self.model.module(torch.ones(batch_size, 8))) if fast else step

    monkeypatch.setattr(toy.ToyWorkload, "prepare", prepare)
    monkeypatch.setattr(T, "runtimes", lambda: [])
    result = T.tune(_plan("toy-f"), tmp_path / "t.jsonl", minutes=5, batch_sizes=(1,), compile_trials=True)
    compiled = next(t for t in result.trials if t.execution == "compile")
    assert compiled.record.status == "error" and compiled.verdict == "failed"
    assert result.best is not compiled and result.best.execution == "eager"


# ------------------------------------------------------------------------------ the roofline cache


def _fake_measurements(monkeypatch) -> list[str]:
    calls = []

    def matmul(device, precision):
        calls.append(precision)
        return {"tflops": 0.5, "best_tflops": 0.6, "side": 1024, "samples": 5, "measured_at": R._now()}

    monkeypatch.setattr(R, "measure_matmul", matmul)
    monkeypatch.setattr(R, "measure_bandwidth", lambda device: {"copy_gbs": 20.0})
    return calls


def _good_entry() -> dict:
    import torch as t

    return {"device": "cpu", "threads": t.get_num_threads(), "torch": t.__version__, "copy_gbs": 20.0,
            "measured_at": R._now(),
            "matmul": {"fp32": {"tflops": 0.5, "best_tflops": 0.6, "side": 1024, "samples": 5,
                                "measured_at": R._now()}}}


def _with(**change):
    entry = _good_entry()
    for dotted, value in change.items():
        *parents, last = dotted.split("__")
        node = entry
        for p in parents:
            node = node[p]
        node[last] = value
    return entry


CORRUPT = {
    "negative rate": _with(matmul__fp32__tflops=-1),
    "rate as text": _with(matmul__fp32__tflops="fast"),
    "rate NaN": _with(matmul__fp32__tflops=float("nan")),
    "rate infinite": _with(matmul__fp32__tflops=float("inf")),
    "rate a bool": _with(matmul__fp32__tflops=True),
    "side a float": _with(matmul__fp32__side=10.5),
    "matmul a list": _with(matmul=[0.5]),
    "bandwidth zero": _with(copy_gbs=0),
    "other torch": _with(torch="0.0.1"),
    "entry a number": 3,
}


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(R.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "roofline.json"


def test_a_good_cached_entry_is_used(own_cache, monkeypatch):
    calls = _fake_measurements(monkeypatch)
    own_cache.parent.mkdir()
    own_cache.write_text(json.dumps({R.machine_key(CPU): _good_entry()}))
    assert R.roofline_for(CPU, "fp32")["matmul"]["fp32"]["tflops"] == 0.5 and calls == []


@pytest.mark.parametrize("name", list(CORRUPT))
def test_a_corrupt_cached_entry_is_measured_again(own_cache, monkeypatch, name):
    calls = _fake_measurements(monkeypatch)
    own_cache.parent.mkdir()
    # json writes NaN/Infinity, as a hand edit or another writer might
    own_cache.write_text(json.dumps({R.machine_key(CPU): CORRUPT[name]}))
    assert R.cached(CPU) is None
    roof = R.roofline_for(CPU, "fp32")
    assert calls == ["fp32"]
    assert roof["matmul"]["fp32"]["tflops"] == 0.5 and R.valid(roof, CPU)
    stored = json.loads(own_cache.read_text())[R.machine_key(CPU)]
    assert R.valid(stored, CPU)  # the corrupt entry is replaced, not merged into


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"x": ', ""])
def test_a_cache_file_that_is_not_a_mapping_is_measured_again(own_cache, monkeypatch, text):
    calls = _fake_measurements(monkeypatch)
    own_cache.parent.mkdir()
    own_cache.write_text(text)
    assert R.roofline_for(CPU, "fp32")["matmul"]["fp32"]["tflops"] == 0.5 and calls == ["fp32"]


def test_a_corrupt_precision_beside_a_good_one_is_not_kept(own_cache, monkeypatch):
    _fake_measurements(monkeypatch)
    entry = _good_entry()
    entry["matmul"]["bf16"] = {"tflops": "fast"}
    own_cache.parent.mkdir()
    own_cache.write_text(json.dumps({R.machine_key(CPU): entry}))
    roof = R.roofline_for(CPU, "bf16")
    assert roof["matmul"]["bf16"]["tflops"] == 0.5 and R.valid(roof, CPU)


def test_an_unwritable_cache_keeps_the_roofline_in_memory_and_warns_once(tmp_path, monkeypatch):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a folder should be")  # chmod does not stop root; this does
    monkeypatch.setenv(R.CACHE_ENV, str(blocker / "sub"))
    monkeypatch.setattr(R, "_WARNED", set(), raising=False)
    calls = _fake_measurements(monkeypatch)
    with pytest.warns(RuntimeWarning, match="not cached"):
        roof = R.roofline_for(CPU, "fp32")
    assert roof["matmul"]["fp32"]["tflops"] == 0.5 and calls == ["fp32"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning, and no second measurement
        assert R.roofline_for(CPU, "fp32") == roof
    assert calls == ["fp32"]


def test_a_run_with_an_unwritable_cache_still_records_its_roofline_and_fraction_of_peak(tmp_path, monkeypatch):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    monkeypatch.setenv(R.CACHE_ENV, str(blocker / "sub"))
    monkeypatch.setattr(R, "_WARNED", set(), raising=False)
    _fake_measurements(monkeypatch)
    toy.register(monkeypatch, **{"toy-r": {}})
    notes = []

    class Notes:
        def __getattr__(self, name):
            return notes.append if name == "note" else (lambda *a, **k: None)

    (record,) = execute(_plan("toy-r", count_flops=True), tmp_path / "r.jsonl", observer=Notes())
    assert record.status == "ok"
    assert record.environment["roofline"]["matmul"]["fp32"]["tflops"] == 0.5
    fraction = record.flops["fraction_of_peak"]
    assert fraction is not None and math.isfinite(fraction) and fraction > 0
    assert sum("not cached" in n for n in notes) == 1


def test_the_catalog_states_onnxruntimes_precision_once():
    ort = catalog.get("onnxruntime")
    assert ort.runs("fp32", "cpu") and not ort.runs("bf16") and "fp32 graphs only" in ort.refusal("bf16")
    assert not catalog.get("openvino").runs("fp32", "cuda")
