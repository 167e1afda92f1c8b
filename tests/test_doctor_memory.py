"""VRAM and host-RAM findings with an injected memory model, and the real advisor model wired in."""

from __future__ import annotations

import pytest

from segbench.doctor import DoctorRequest, TargetGPU
from segbench.doctor.context import footprint_estimate
from tests.doctor_helpers import (
    GiB,
    by_id,
    context,
    estimate,
    findings,
    host,
    small_card,
)


def test_fits_with_room_is_ok_and_reports_the_numbers():
    items = findings(context([small_card(free_mib=7000)], memory=estimate(device_gib=2)))
    f = by_id(items, "gpu0.vram")
    assert f.severity == "ok"
    assert f.details["need_bytes"] == 2 * GiB and f.details["available_bytes"] == 7000 * 2**20
    assert "free now" in f.cause


def test_more_than_free_vram_fails_and_other_processes_are_named():
    items = findings(context([small_card(free_mib=1500)], memory=estimate(device_gib=2)))
    f = by_id(items, "gpu0.vram")
    assert f.severity == "fail"
    assert "out of memory" in f.cause and "already in use" in f.cause
    assert "nvidia-smi" in f.fix


def test_within_ten_percent_of_free_vram_warns_like_check_flags_oom():
    # 2 GiB predicted, 2.15 GiB free: over 90 %, the advisor's `oom` threshold.
    f = by_id(findings(context([small_card(free_mib=2200)], memory=estimate(device_gib=2))), "gpu0.vram")
    assert f.severity == "warn" and "within 10%" in f.cause
    ok = by_id(findings(context([small_card(free_mib=2300)], memory=estimate(device_gib=2))), "gpu0.vram")
    assert ok.severity == "ok"


def test_doctor_and_check_predict_the_same_peak():
    from segbench.advisor.check import CheckRequest, check

    need = footprint_estimate(DoctorRequest(model="sam2.1-large", workload="image"), "bf16")
    answer = check(CheckRequest(gpu="RTX 3060 12GB", model="sam2.1-large", workload="image", precision="bf16"))
    assert need.device_bytes / 2**30 == pytest.approx(answer.to_dict()["predicted"]["peak_vram_gb"], rel=1e-3)


def test_video_fixes_offer_offloading():
    request = DoctorRequest(workload="video", batch_size=4)
    f = by_id(findings(context([small_card(free_mib=1000)], request=request, memory=estimate(3))), "gpu0.vram")
    assert "--offload-video-to-cpu" in f.fix and "--batch-sizes 2" in f.fix


def test_the_memory_model_is_asked_with_the_request_and_the_gpus_precision():
    fake = estimate()
    request = DoctorRequest(model="sam2.1-large", workload="video", batch_size=3, resolution=(720, 1280))
    findings(context([small_card(free_mib=7000)], request=request, memory=fake))
    asked_request, precision = fake.asked[0]
    assert asked_request == request and precision == "bf16"  # Ampere's default


def test_cpu_run_checks_host_ram_with_device_and_host_memory():
    small_host = host(memory={"available_bytes": 3 * GiB})
    f = by_id(findings(context([], memory=estimate(device_gib=2.5, host_gib=0.75), host_facts=small_host)), "host.ram")
    assert f.severity == "fail" and "for a CPU run" in f.cause
    assert f.details["need_bytes"] == int(3.25 * GiB)


def test_gpu_run_counts_only_what_stays_in_host_ram():
    small_host = host(memory={"available_bytes": 3 * GiB})
    items = findings(context([small_card(free_mib=7000)], memory=estimate(device_gib=2.5, host_gib=0.75),
                             host_facts=small_host))
    assert by_id(items, "host.ram").details["need_bytes"] == int(0.75 * GiB)


def test_an_estimate_that_raises_is_skipped_not_a_crash():
    def broken(request, precision):
        raise RuntimeError("no counts for this size")

    items = findings(context([small_card(free_mib=7000)], memory=broken))
    assert by_id(items, "gpu0.vram").severity == "skipped"
    assert "no counts for this size" in by_id(items, "gpu0.vram").cause


def test_target_gpu_vram_is_its_whole_memory():
    target = TargetGPU("RTX 3060 12GB", (8, 6), 12 * 2**30, "desktop")
    items = findings(context([], target=target, request=DoctorRequest(gpu="3060"), memory=estimate(device_gib=13)))
    f = by_id(items, "target.vram")
    assert f.severity == "fail" and "on the RTX 3060 12GB" in f.cause


@pytest.mark.parametrize("model, workload", [("sam2.1-tiny", "image"), ("monai-unet", "volume")])
def test_the_advisor_memory_model_answers_for_real_models(model, workload):
    from segbench.advisor.data.calibration import load_calibration
    from segbench.families.costs import model_counts

    volume = (128, 128, 64) if workload == "volume" else None
    need = footprint_estimate(DoctorRequest(model=model, workload=workload, volume=volume), "fp32")
    calibration = load_calibration()
    weights = model_counts(model).params * 4  # fp32
    # On a GPU: the CUDA context plus at least the weights; the host keeps the runtime and the weights;
    # a CPU run holds all of that and the activations in RAM.
    assert need.device_bytes > calibration.cuda_context_gib * GiB + weights
    assert need.host_bytes >= calibration.cpu_runtime_gib * GiB + weights
    assert need.cpu_run_bytes > need.host_bytes
    assert need.notes  # what the footprint assumed travels with the numbers


def test_frames_reach_the_advisor_memory_model():
    short = footprint_estimate(DoctorRequest(workload="video", frames=20), "bf16")
    long = footprint_estimate(DoctorRequest(workload="video", frames=600), "bf16")
    assert long.device_bytes > short.device_bytes + 500 * 2**20  # sam2 keeps every frame on the GPU


def test_catalog_target_memory_is_what_nvidia_smi_shows():
    from segbench.doctor.context import catalog_target

    assert catalog_target("GTX 1060 6GB").vram_bytes == 6144 * 2**20  # a "6GB" card: 6144 MiB
    assert catalog_target("RTX 3090").vram_bytes == 24576 * 2**20


def test_host_ram_on_a_gpu_run_is_estimated_at_the_gpus_precision():
    from tests.fakes.fake_pynvml import presets

    fake = estimate(device_gib=1)
    findings(context([presets.pascal_card()], memory=fake))
    assert {precision for _, precision in fake.asked} == {"fp32"}  # Pascal: fp32, for VRAM and host RAM alike
