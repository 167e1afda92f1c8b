"""The measured roofline: its units (against a clock we control), its cache, `probe --measure`, and
what uses it (a run's fraction of peak, `this-cpu` in the advisor)."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from segbench.advisor.data.catalog import load_catalog
from segbench.advisor.targets import this_cpu_spec
from segbench.cli import cli
from segbench.measure import harness
from segbench.measure import roofline as R

STEP_S = 0.025  # what every timed call takes on the fake clock


class FixedTimer(harness.Timer):
    """A Timer whose clock advances STEP_S across every call it times (the call itself still runs)."""

    def __init__(self, device, clock=None):
        ticks = iter(i * STEP_S for i in range(10**9))  # t0, end: two ticks a call
        super().__init__(device, clock=lambda: next(ticks))


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test starts with no measured roofline."""
    monkeypatch.setenv(R.CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(harness, "Timer", FixedTimer)


def test_matmul_rate_is_two_n_cubed_flops_over_the_median_second(fixed_clock):
    out = R.measure_matmul(torch.device("cpu"), "fp32")
    side = out["side"]
    assert side % 128 == 0 and 256 <= side <= R.MAX_SIDE["cpu"]
    # One 512^2 product took STEP_S, so the side grows by (TARGET_S / STEP_S)^(1/3), rounded down to 128.
    assert side == int(512 * (R.TARGET_S / STEP_S) ** (1 / 3)) // 128 * 128
    assert out["tflops"] == pytest.approx(2 * side**3 / STEP_S / 1e12)
    assert out["samples"] >= 5


def test_copy_bandwidth_counts_a_read_and_a_write(fixed_clock):
    out = R.measure_bandwidth(torch.device("cpu"))
    assert out["copy_gbs"] == pytest.approx(2 * R.COPY_BYTES / STEP_S / 1e9)
    assert "h2d_gbs" not in out  # host<->device copies exist on a GPU only


def test_tf32_is_measured_on_cuda_only():
    assert "tf32" not in R.applicable(torch.device("cpu"))
    assert R.applicable(torch.device("cuda")) == R.PRECISIONS


def test_a_real_measurement_is_cached_and_reused(monkeypatch):
    cpu = torch.device("cpu")
    assert R.cached(cpu) is None
    first = R.roofline_for(cpu, "fp32")
    assert 1e-3 < first["matmul"]["fp32"]["tflops"] < 100  # a CPU core does GFLOP/s, not PFLOP/s
    assert first["copy_gbs"] > 0.1
    assert json.loads(R.cache_path().read_text())[R.machine_key(cpu)]["matmul"]["fp32"]

    def fail(*a, **k):
        raise AssertionError("a fresh cached figure must not be measured again")

    monkeypatch.setattr(R, "measure_roofline", fail)
    assert R.roofline_for(cpu, "fp32")["matmul"]["fp32"] == first["matmul"]["fp32"]


def test_a_stale_cache_entry_is_measured_again(monkeypatch):
    cpu = torch.device("cpu")
    R._store(cpu, {"matmul": {"fp32": {"tflops": 9.9, "side": 256, "samples": 5,
                                        "measured_at": "2020-01-01T00:00:00+00:00"}},
                   "copy_gbs": 1.0, "measured_at": "2020-01-01T00:00:00+00:00"})
    assert R.cached(cpu) is None
    calls = []
    monkeypatch.setattr(R, "measure_roofline", lambda device, precisions: calls.append(precisions))
    R.roofline_for(cpu, "fp32")
    assert calls == [("fp32",)]


def test_probe_measure_prints_the_roofline_as_json(fixed_clock):
    result = CliRunner().invoke(cli, ["probe", "--measure", "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    roof = json.loads(result.stdout)["roofline"]
    assert set(roof["matmul"]) == {"fp32", "bf16", "fp16"}
    assert roof["device"] == "cpu" and roof["copy_gbs"] == pytest.approx(2 * R.COPY_BYTES / STEP_S / 1e9)


def test_probe_measure_table_names_units():
    result = CliRunner().invoke(cli, ["probe", "--measure", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "Measured roofline" in result.output and "GFLOP/s" in result.output and "GB/s" in result.output


def test_this_cpu_takes_the_measured_rates():
    roof = {"matmul": {"fp32": {"tflops": 0.2, "side": 1024, "measured_at": "now"},
                       "bf16": {"tflops": 0.8, "side": 1024, "measured_at": "now"}}, "copy_gbs": 40.0}
    spec = this_cpu_spec(load_catalog(), "AMD EPYC", 2, roofline=roof).spec
    assert spec.fp32_gflops == pytest.approx(200) and spec.bf16_gflops == pytest.approx(800)
    assert spec.memory_bandwidth_gbs == 40.0 and "measured" in spec.name
    # A bf16 rate no better than fp32 is emulation, not a unit: it is not taken as a peak.
    roof["matmul"]["bf16"]["tflops"] = 0.1
    assert this_cpu_spec(load_catalog(), "AMD EPYC", 2, roofline=roof).spec.bf16_gflops is None
