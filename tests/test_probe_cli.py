"""`segbench probe` through Click's CliRunner and once through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from segbench.cli import cli
from tests.fakes.fake_pynvml import FakeNVML, presets


@pytest.fixture
def fake_gpus(monkeypatch):
    """Replace the pynvml module itself: the probe imports whatever `pynvml` resolves to."""
    nvml = FakeNVML([presets.laptop_throttled(), presets.pcie_x4_card(), presets.idle_desktop()])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    return nvml


def test_json_prints_only_json(fake_gpus):
    result = CliRunner().invoke(cli, ["probe", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["gpus"][0]["name"] == "NVIDIA GeForce RTX 3070 Laptop GPU"
    assert data["gpus"][0]["throttle"] == ["sw_power_cap", "sw_thermal"]


def test_table_shows_clocks_power_pcie_and_throttle_names(fake_gpus):
    result = CliRunner().invoke(cli, ["probe"], terminal_width=140)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "GPU 0: NVIDIA GeForce RTX 3070 Laptop GPU" in out
    assert "1245/1620 MHz" in out
    assert "80.1/80 W" in out
    assert "sw_power_cap, sw_thermal" in out
    assert "Gen3 x4 of Gen3 x16 (card supports Gen4)" in out
    assert "gpu_idle" in out
    for section in ("CPU", "Memory", "torch", "Disk"):
        assert section in out


def test_without_driver_exit_0_and_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNVML(init_error=9))
    result = CliRunner().invoke(cli, ["probe"])
    assert result.exit_code == 0
    assert "No NVIDIA GPU" in result.stdout and "not running" in result.stdout
    assert "Traceback" not in result.output


def test_output_writes_the_json_file(tmp_path, fake_gpus):
    target = tmp_path / "sub" / "probe.json"
    result = CliRunner().invoke(cli, ["probe", "--json", "--output", str(target)])
    assert result.exit_code == 0
    saved = json.loads(target.read_text())
    assert saved == json.loads(result.stdout)
    assert [p.name for p in target.parent.iterdir()] == ["probe.json"]  # no temporary file left


def test_unwritable_output_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["probe", "--output", str(blocker / "probe.json")])
    assert result.exit_code == 2
    assert result.stderr.startswith("segbench: error: cannot write")
    assert "Traceback" not in result.output


def test_real_subprocess_json_parses():
    exe = Path(sys.executable).with_name("segbench")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "segbench"]
    done = subprocess.run([*command, "probe", "--json"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert isinstance(data["gpus"], list)
    assert "Traceback" not in done.stderr


def test_a_lost_gpu_is_a_row_in_the_table(monkeypatch):
    from tests.fakes.fake_pynvml import NVML_ERROR_GPU_IS_LOST, FakeGPU

    monkeypatch.setitem(sys.modules, "pynvml", FakeNVML([FakeGPU(handle_error=NVML_ERROR_GPU_IS_LOST)]))
    result = CliRunner().invoke(cli, ["probe"])
    assert result.exit_code == 0
    assert "GPU 0: unknown" in result.stdout and "GPU is lost" in result.stdout
