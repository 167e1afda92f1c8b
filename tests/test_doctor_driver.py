"""Driver/torch findings against a fake NVML and hand-made torch CUDA states."""

from __future__ import annotations

import pytest

from segbench.doctor.torchstate import (
    builds_for,
    code_runs_on,
    supports,
    visible_indices,
)
from tests.doctor_helpers import CPU_TORCH, by_id, context, findings, torch_state
from tests.fakes.fake_pynvml import presets


def test_usable_gpu_is_ok():
    items = findings(context([presets.idle_desktop()]))
    f = by_id(items, "torch.cuda")
    assert f.severity == "ok"
    assert "sees 1 of 1 GPU(s)" in f.cause and "12.4" in f.cause
    assert by_id(items, "gpu0.arch").severity == "ok"


def test_cpu_only_torch_with_a_gpu_present_fails_and_names_a_cuda_wheel():
    ctx = context([presets.idle_desktop()], torch=CPU_TORCH)  # the driver supports CUDA 12.4
    f = by_id(findings(ctx), "torch.cuda")
    assert f.severity == "fail"
    assert "CPU-only build" in f.cause and "RTX 3090" in f.cause
    # Both published builds (12.6, 13.0) need a newer driver than 12.4: the fix says so instead.
    assert "cu126" not in f.fix and "cu130" not in f.fix
    assert "no newer than the driver's CUDA 12.4" in f.fix and "pytorch.org" in f.fix


def test_cpu_only_torch_fix_picks_the_newest_build_the_driver_runs():
    ctx = context([presets.idle_desktop()], torch=CPU_TORCH, cuda_driver_version=12080)
    f = by_id(findings(ctx), "torch.cuda")
    assert "pip install --force-reinstall torch==2.14.1 torchvision --index-url https://download.pytorch.org/whl/cu126" in f.fix


def test_driver_too_old_for_torchs_cuda_fails():
    state = torch_state(cuda_available=False, device_count=0,
                        init_warning="CUDA initialization: The NVIDIA driver on your system is too old (found version 12040).")
    ctx = context([presets.idle_desktop()], torch=state, driver_version="550.54.14", cuda_driver_version=12040)
    f = by_id(findings(ctx), "torch.cuda")
    assert f.severity == "fail"
    assert "supports CUDA up to 12.4" in f.cause and "CUDA 13.0" in f.cause
    assert "update the NVIDIA driver" in f.fix


def test_newer_driver_but_cuda_does_not_start_reports_what_torch_said():
    state = torch_state(cuda_available=False, device_count=0, init_warning="CUDA initialization: unknown error")
    ctx = context([presets.idle_desktop()], torch=state, cuda_driver_version=13000)
    f = by_id(findings(ctx), "torch.cuda")
    assert f.severity == "fail"
    assert "unknown error" in f.cause and "nvidia-smi" in f.fix


def test_cuda_visible_devices_empty_hides_the_gpu():
    state = torch_state(cuda_available=False, device_count=0, visible_devices="")
    items = findings(context([presets.idle_desktop()], torch=state))
    f = by_id(items, "torch.cuda")
    assert f.severity == "fail"
    assert "CUDA_VISIBLE_DEVICES=''" in f.cause and "unset CUDA_VISIBLE_DEVICES" in f.fix
    assert not [x for x in items if x.id.startswith("gpu0.")]  # a hidden GPU is not checked further


def test_cuda_visible_devices_selecting_one_of_two_is_ok():
    state = torch_state(visible_devices="1")
    items = findings(context([presets.idle_desktop(), presets.pcie_x4_card()], torch=state))
    assert by_id(items, "torch.cuda").severity == "ok"
    assert "CUDA_VISIBLE_DEVICES=1" in by_id(items, "torch.cuda").cause
    assert {f.id.split(".")[0] for f in items if f.id.startswith("gpu")} == {"gpu1"}


def test_driver_minor_older_than_torch_cuda_is_ok_through_minor_version_compatibility():
    state = torch_state(torch_cuda_version="12.8")
    f = by_id(findings(context([presets.idle_desktop()], torch=state, cuda_driver_version=12040)), "torch.cuda")
    assert f.severity == "ok" and "minor-version compatibility" in f.cause


def test_no_driver_skips_every_gpu_check_without_failing():
    items = findings(context([]))
    assert by_id(items, "torch.cuda").severity == "skipped"
    assert "no NVIDIA driver found" in by_id(items, "torch.cuda").cause
    assert not [f for f in items if f.id.startswith("gpu")]
    assert all(f.severity != "fail" for f in items)


def test_pascal_card_below_torchs_architectures_fails_and_names_the_cuda_12_6_build():
    items = findings(context([presets.pascal_card()], cuda_driver_version=12080))
    f = by_id(items, "gpu0.arch")
    assert f.severity == "fail"
    assert "6.1" in f.cause and "7.5" in f.cause and "no kernel image" in f.cause
    assert "whl/cu126" in f.fix


def test_pascal_card_with_a_torch_that_has_no_release_table_points_to_older_releases():
    state = torch_state(published_builds={})
    f = by_id(findings(context([presets.pascal_card()], torch=state)), "gpu0.arch")
    assert f.severity == "fail" and "sm_61" in f.fix and "previous-versions" in f.fix


def test_ada_card_runs_the_same_major_binaries():
    # Ada (8.9) runs cubins built for sm_80/sm_86 (same major, lower minor).
    items = findings(context([presets.heating_gpu(after=1e9)]))
    assert by_id(items, "gpu0.arch").severity == "ok"


@pytest.mark.parametrize("arch, cc, expected", [
    (["sm_75", "sm_80"], (8, 6), True),      # same major, higher minor
    (["sm_86"], (8, 0), False),              # lower minor than the cubin
    (["sm_80"], (9, 0), False),              # next major: cubins do not carry over
    (["sm_80", "compute_80"], (9, 0), True),  # PTX is compiled for newer GPUs
    (["sm_80"], (8, 7), False),              # Jetson Orin (8.7) runs only sm_87
    (["sm_90a"], (9, 0), True),              # arch-specific suffixes
    ([], (8, 0), None),
])
def test_supports_follows_cuda_binary_compatibility(arch, cc, expected):
    assert supports(arch, *cc) is expected


def test_code_runs_on_and_builds_for():
    assert code_runs_on("sm", 60, 61) and not code_runs_on("sm", 61, 60)
    assert builds_for({"12.6": (50, 60, 70), "13.0": (75, 80)}, 6, 1) == ["12.6"]


@pytest.mark.parametrize("value, expected", [
    (None, [0, 1, 2]), ("", []), ("-1", []), ("1,0", [1, 0]), ("0,7,1", [0]), ("GPU-bbb", [1]),
    ("2,2", [2]), ("abc", []),
])
def test_visible_indices_read_cuda_visible_devices_as_cuda_does(value, expected):
    assert visible_indices(value, ["GPU-aaa1", "GPU-bbb2", "GPU-ccc3"]) == expected


def test_real_torch_state_here():
    from segbench.doctor import TorchCudaState

    state = TorchCudaState.from_torch({"CUDA_VISIBLE_DEVICES": ""})
    assert state.torch_version and state.visible_devices == ""
    assert state.cuda_available is False and state.device_count == 0  # no GPU on this machine
    assert state.num_threads and state.num_threads >= 1
