"""The real probe on this machine (no NVIDIA driver here): the no-GPU path, host facts, disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segbench.probe import PROBE_SCHEMA_VERSION, collect
from segbench.probe.host import disk_info
from segbench.probe.torchinfo import _cudnn_version


@pytest.fixture(scope="module")
def probed(tmp_path_factory) -> dict:
    return collect(results_dir=tmp_path_factory.mktemp("p") / "results-not-yet")


def test_top_level_keys_and_json_ready(probed):
    assert set(probed) == {"schema_version", "host", "gpus", "gpu_note", "cpu", "memory", "torch", "disk"}
    assert probed["schema_version"] == PROBE_SCHEMA_VERSION
    assert json.loads(json.dumps(probed)) == probed


def _nvidia_driver_present() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return False
    pynvml.nvmlShutdown()
    return True


@pytest.mark.skipif(_nvidia_driver_present(), reason="this machine has an NVIDIA driver")
def test_no_gpu_here_gives_empty_list_and_note(probed):
    assert probed["gpus"] == []
    assert isinstance(probed["gpu_note"], str) and probed["gpu_note"]


def test_host_cpu_memory_facts_are_real(probed):
    assert probed["host"]["hostname"] and probed["host"]["python"].count(".") == 2
    cpu = probed["cpu"]
    assert cpu["logical_cores"] >= 1 and cpu["model_name"]
    assert cpu["freq_max_mhz"] is None or cpu["freq_max_mhz"] > 0
    mem = probed["memory"]
    assert 0 < mem["available_bytes"] <= mem["total_bytes"]
    assert mem["swap_total_bytes"] >= 0


def test_torch_facts(probed):
    import torch

    info = probed["torch"]
    assert info["version"] == torch.__version__
    assert info["cuda_available"] == torch.cuda.is_available()
    assert info["num_threads"] == torch.get_num_threads()
    assert isinstance(info["mps_available"], bool)


def test_disk_for_a_folder_that_does_not_exist_yet(probed, tmp_path):
    results = probed["disk"][0]
    assert results["purpose"] == "results" and results["path"].endswith("results-not-yet")
    assert 0 < results["free_bytes"] <= results["total_bytes"]
    [entry] = disk_info({"checkpoints": tmp_path / "a" / "b"})
    assert entry["free_bytes"] > 0


def test_cudnn_version_decoding():
    assert _cudnn_version(90100) == "9.1.0"
    assert _cudnn_version(8907) == "8.9.7"
    assert _cudnn_version(None) is None


def test_collect_writes_nothing(tmp_path):
    collect(results_dir=tmp_path / "results", checkpoints_dir=tmp_path / "ckpt")
    assert list(Path(tmp_path).iterdir()) == []
