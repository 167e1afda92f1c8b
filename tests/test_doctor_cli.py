"""`segbench doctor` through Click's CliRunner: the real run here (no GPU), fake GPUs, --gpu, --json."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from segbench.cli import cli
from segbench.doctor import TorchCudaState
from tests.doctor_helpers import CPU_TORCH, CUDA_TORCH
from tests.fakes.fake_pynvml import FakeNVML, presets


def invoke(*args: str):
    # Rich sizes its table from COLUMNS: wide enough that no sentence is wrapped mid-phrase.
    return CliRunner().invoke(cli, ["doctor", *args], env={"COLUMNS": "400"})


@pytest.fixture
def fake_machine(monkeypatch):
    """Install a fake pynvml module and a torch CUDA state; returns a setter for both."""

    def install(gpus, torch_state: TorchCudaState = CUDA_TORCH, **nvml_kw):
        monkeypatch.setitem(sys.modules, "pynvml", FakeNVML(gpus, **nvml_kw))
        monkeypatch.setattr(TorchCudaState, "from_torch", classmethod(lambda cls, environ=None: torch_state))

    return install


def test_real_run_here_without_a_gpu(in_tmp):
    result = invoke()
    assert "Traceback" not in result.output
    out = result.stdout
    assert "segbench doctor: this machine" in out
    assert "torch can use the GPU" in out and "skipped" in out and "No NVIDIA GPU" in out
    assert "Host RAM" in out and "torch CPU threads" in out and "Results folder writable" in out
    summary = out.strip().splitlines()[-1]
    assert (" 0 fail" in summary) == (result.exit_code == 0)


def test_real_run_here_json(in_tmp):
    result = invoke("--json")
    data = json.loads(result.stdout)  # nothing but JSON on stdout
    assert data["schema_version"] == 1
    assert data["request"]["model"] == "sam2.1-tiny" and data["target"] is None
    by_id = {f["id"]: f for f in data["findings"]}
    assert by_id["torch.cuda"]["severity"] == "skipped"
    assert not [i for i in by_id if i.startswith("gpu")]  # every GPU check says it could not check
    ram = by_id["host.ram"]
    need, available = ram["details"]["need_bytes"], ram["details"]["available_bytes"]
    assert need > 0 and available > 0  # the memory model answered, the OS reported
    expected = "fail" if need > available else "warn" if need > 0.9 * available else "ok"
    assert ram["severity"] == expected
    assert set(by_id["host.ram"]) == {"id", "severity", "title", "cause", "fix", "details"}
    fails = data["summary"]["fail"]
    assert data["exit_code"] == result.exit_code == (1 if fails else 0)
    assert sum(data["summary"].values()) == len(data["findings"])


def test_fake_pascal_card_with_bf16_exits_1(in_tmp, fake_machine):
    fake_machine([presets.pascal_card()])
    result = invoke("--precision", "bf16")
    assert result.exit_code == 1
    assert "bf16 needs compute capability 8.0" in result.stdout
    assert "GPU 0 (GTX 1080 Ti)" in result.stdout


def test_fake_cpu_only_torch_beside_a_gpu_exits_1_in_json(in_tmp, fake_machine):
    fake_machine([presets.idle_desktop()], torch_state=CPU_TORCH)
    result = invoke("--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    torch_finding = next(f for f in data["findings"] if f["id"] == "torch.cuda")
    assert torch_finding["severity"] == "fail" and "CPU-only" in torch_finding["cause"]


def test_fake_healthy_gpu_exits_0_with_warnings_allowed(in_tmp, fake_machine):
    fake_machine([presets.pcie_x4_card(util_gpu_pct=0)])
    result = invoke("--json")
    data = json.loads(result.stdout)
    assert data["summary"]["warn"] >= 1 and data["summary"]["fail"] == 0
    assert result.exit_code == 0
    vram = next(f for f in data["findings"] if f["id"] == "gpu0.vram")
    assert vram["severity"] == "ok" and vram["details"]["precision"] == "bf16"


def test_gpu_option_checks_a_catalog_gpu(in_tmp, monkeypatch):
    monkeypatch.setattr(TorchCudaState, "from_torch", classmethod(lambda cls, environ=None: CUDA_TORCH))
    result = invoke("--gpu", "1060", "--precision", "bf16", "--json")
    data = json.loads(result.stdout)
    assert data["target"]["name"] == "GTX 1060 6GB"
    ids = {f["id"]: f for f in data["findings"]}
    assert ids["target.arch"]["severity"] == "fail"  # 6.1 is below this torch's sm_75
    assert ids["target.precision"]["severity"] == "fail"
    assert "on the GTX 1060 6GB" in ids["target.vram"]["cause"] and ids["target.vram"]["details"]["precision"] == "bf16"
    assert result.exit_code == 1


def test_gpu_option_laptop_part_warns(in_tmp, monkeypatch):
    monkeypatch.setattr(TorchCudaState, "from_torch", classmethod(lambda cls, environ=None: CUDA_TORCH))
    from segbench.advisor.data.catalog import load_catalog

    laptop = next(g for g in load_catalog().gpus if g.form_factor == "laptop")
    data = json.loads(invoke("--gpu", laptop.name, "--json").stdout)
    ids = {f["id"]: f for f in data["findings"]}
    assert ids["target.form_factor"]["severity"] == "warn"


@pytest.mark.parametrize("args, message", [
    (["--model", "sam3-huge"], "unknown model"),
    (["--model", "mask2former-swin-tiny", "--workload", "video"], "does not support the 'video' workload"),
    (["--gpu", "voodoo9"], "unknown GPU"),
    (["--gpu", "cpu"], "is a CPU"),
    (["--volume", "12x12"], "volume shape"),
])
def test_bad_input_is_one_line_and_exit_2(in_tmp, args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_check_that_raises_becomes_a_skipped_row():
    from segbench.doctor import run_checks
    from tests.doctor_helpers import context

    def broken(ctx):
        raise KeyError("temperature_c")

    rows = run_checks(context([]), checks=(("broken", broken), ("host.threads", lambda ctx: [])))
    assert len(rows) == 1 and rows[0].severity == "skipped" and "KeyError" in rows[0].cause
    with pytest.raises(KeyError):
        run_checks(context([]), checks=(("broken", broken),), raise_errors=True)
