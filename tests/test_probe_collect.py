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
    """Checked against the OS's own answers, read here without psutil."""
    import os
    import platform
    import socket

    assert probed["host"]["hostname"] == socket.gethostname()
    assert probed["host"]["python"] == platform.python_version()
    cpu = probed["cpu"]
    assert cpu["logical_cores"] == os.cpu_count() and cpu["model_name"]
    assert cpu["usable_cores"] == len(os.sched_getaffinity(0))
    mem = probed["memory"]
    assert mem["total_bytes"] == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < mem["available_bytes"] <= mem["total_bytes"]


def test_torch_facts_follow_what_torch_is_set_to():
    import importlib.metadata

    import torch

    from segbench.probe.torchinfo import torch_info

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        info = torch_info()
        assert info["num_threads"] == 1
    finally:
        torch.set_num_threads(before)
    assert torch_info()["num_threads"] == before
    # The version pip installed, read from the distribution's metadata rather than from torch.
    assert info["version"].split("+")[0] == importlib.metadata.version("torch").split("+")[0]
    assert isinstance(info["mps_available"], bool)


@pytest.mark.skipif(_nvidia_driver_present(), reason="this machine has an NVIDIA driver")
def test_no_cuda_without_a_driver():
    from segbench.probe.torchinfo import torch_info

    assert torch_info()["cuda_available"] is False


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
