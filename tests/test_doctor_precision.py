"""Precision findings (bf16 before Ampere, fp16 without tensor cores or on the CPU) and the families'
optional extensions (sam2's CUDA kernels)."""

from __future__ import annotations

import dataclasses

import pytest

from segbench.doctor import DoctorRequest, ExtensionState, TargetGPU
from segbench.doctor.context import probe_extension, probe_extensions
from tests.doctor_helpers import CPU_TORCH, by_id, context, findings, host
from tests.fakes.fake_pynvml import presets


def test_bf16_on_a_pascal_card_fails_and_recommends_fp32():
    items = findings(context([presets.pascal_card()], request=DoctorRequest(precision="bf16")))
    f = by_id(items, "gpu0.precision")
    assert f.severity == "fail"
    assert "bf16 needs compute capability 8.0" in f.cause and "6.1" in f.cause
    assert "--precision fp32" in f.fix  # no tensor cores: fp16 would not help either


def test_bf16_on_turing_recommends_fp16():
    gpu = presets.idle_desktop(name="NVIDIA GeForce RTX 2080 Ti", compute_capability=(7, 5))
    f = by_id(findings(context([gpu], request=DoctorRequest(precision="bf16"))), "gpu0.precision")
    assert f.severity == "fail" and f.fix == "--precision fp16"


def test_sam2_video_on_a_pre_ampere_gpu_warns_about_its_bf16_memory_bank():
    gpu = presets.idle_desktop(name="NVIDIA Tesla T4", compute_capability=(7, 5))
    request = DoctorRequest(model="sam2.1-small", workload="video")
    f = by_id(findings(context([gpu], request=request)), "gpu0.precision")
    assert f.severity == "warn"
    assert "bf16" in f.cause and "video predictor" in f.cause
    assert "torch.float16" in f.fix


def test_monai_volume_is_not_sams_bf16_path():
    gpu = presets.idle_desktop(compute_capability=(7, 5))
    request = DoctorRequest(model="monai-unet", workload="volume")
    assert by_id(findings(context([gpu], request=request)), "gpu0.precision").severity == "ok"


def test_default_precision_on_pascal_is_fp32_like_segbench_run():
    f = by_id(findings(context([presets.pascal_card()])), "gpu0.precision")
    assert f.severity == "ok" and f.details["precision"] == "fp32"


def test_fp16_on_pascal_gains_nothing_there():
    f = by_id(findings(context([presets.pascal_card()], request=DoctorRequest(precision="fp16"))), "gpu0.precision")
    assert f.severity == "warn" and "no tensor cores" in f.cause and f.fix == "--precision fp32"


@pytest.mark.parametrize("cc", [(6, 1), (7, 0), (7, 5), (8, 0), (8, 6), (9, 0), (12, 0)])
def test_doctor_check_and_run_share_one_precision_rule(cc):
    from segbench.advisor.data.catalog import load_catalog
    from segbench.advisor.evaluate import default_precision
    from segbench.doctor.context import gpu_precision
    from segbench.measure.device import precision_for_capability

    spec = dataclasses.replace(load_catalog().get("RTX 3060 12GB"), compute_capability=cc)
    assert gpu_precision(DoctorRequest(), cc) == default_precision(spec) == precision_for_capability(cc)
    assert by_id(findings(context([presets.idle_desktop(compute_capability=cc)])),
                 "gpu0.precision").details["precision"] == precision_for_capability(cc)


def test_default_precision_on_ampere_is_native_bf16():
    f = by_id(findings(context([presets.idle_desktop()])), "gpu0.precision")
    assert f.severity == "ok" and f.details["precision"] == "bf16"


def test_fp16_on_the_cpu_warns():
    f = by_id(findings(context([], request=DoctorRequest(precision="fp16"))), "cpu.precision")
    assert f.severity == "warn" and "fp16 on the CPU" in f.cause and f.fix == "--precision fp32"


def test_fp16_on_a_cpu_with_native_bf16_recommends_bf16():
    ctx = context([], request=DoctorRequest(precision="fp16"), host_facts=host(cpu_bf16_native=True))
    assert "bf16" in by_id(findings(ctx), "cpu.precision").fix


def test_bf16_on_a_cpu_without_native_bf16_warns():
    f = by_id(findings(context([], request=DoctorRequest(precision="bf16"))), "cpu.precision")
    assert f.severity == "warn" and "emulated" in f.cause


def test_cpu_default_precision_is_ok_and_gpu_runs_have_no_cpu_row():
    assert by_id(findings(context([])), "cpu.precision").severity == "ok"
    assert not [f for f in findings(context([presets.idle_desktop()])) if f.id == "cpu.precision"]


def test_cpu_only_torch_beside_a_gpu_checks_both_paths():
    items = findings(context([presets.idle_desktop()], torch=CPU_TORCH, request=DoctorRequest(precision="fp16")))
    assert by_id(items, "gpu0.precision").severity == "ok"  # once torch is fixed
    assert by_id(items, "cpu.precision").severity == "warn"  # what runs today


def test_target_gpu_precision_uses_the_catalog_capability():
    target = TargetGPU("GTX 1060 6GB", (6, 1), 6 * 2**30, "desktop")
    items = findings(context([], target=target, request=DoctorRequest(gpu="1060", precision="bf16")))
    assert by_id(items, "target.precision").severity == "fail"


# -- sam2's CUDA extension ----------------------------------------------------------------------

MISSING = ExtensionState(installed=True, version="1.1.0", loaded=False, error="ModuleNotFoundError: No module named 'sam2._C'")


def test_missing_extension_warns_for_sam2_video_with_the_build_command():
    ctx = context([presets.idle_desktop()], extension=MISSING, request=DoctorRequest(workload="video"))
    f = by_id(findings(ctx), "sam2.extension")
    assert f.severity == "warn"
    assert "holes" in f.cause and "not built" in f.cause
    assert "SAM2_BUILD_CUDA=1" in f.fix and "--no-build-isolation" in f.fix and "sam2==1.1.0" in f.fix
    assert "nvcc" in f.fix and "CUDA 13.0" in f.fix


def test_missing_extension_is_fine_for_image_work():
    f = by_id(findings(context([presets.idle_desktop()], extension=MISSING)), "sam2.extension")
    assert f.severity == "ok" and "does not use it" in f.cause


def test_missing_extension_on_a_cpu_run_is_skipped():
    f = by_id(findings(context([], extension=MISSING, request=DoctorRequest(workload="video"))), "sam2.extension")
    assert f.severity == "skipped"


def test_extension_that_fails_to_load_says_so():
    broken = ExtensionState(installed=True, version="1.1.0", loaded=False,
                           error="ImportError: _C.so: undefined symbol: _ZN3c104cuda9SetDevice")
    ctx = context([presets.idle_desktop()], extension=broken, request=DoctorRequest(workload="video"))
    assert "fails to load" in by_id(findings(ctx), "sam2.extension").cause


def test_probe_of_the_real_install_here():
    ext = probe_extension("sam2._C", "sam2")
    assert ext.installed and ext.version == "1.1.0"
    assert ext.loaded is False and "sam2._C" in ext.error  # installed without its CUDA extension here
    # The registry's families declare it: doctor probes every extension a family names.
    assert probe_extensions()["sam2._C"] == ext


def test_a_package_that_is_not_installed_is_reported_as_such():
    absent = probe_extension("nosuchpkg._C", "nosuchpkg")
    assert absent == ExtensionState(installed=False)
    f = by_id(findings(context([presets.idle_desktop()], extension=absent)), "sam2.extension")
    assert f.severity == "skipped" and "not installed" in f.cause
