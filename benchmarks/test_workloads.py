"""Each workload at --quick size (the same sizes `segbench run --quick` uses)."""

from __future__ import annotations

import pytest

from benchmarks.conftest import SAM_SIZE, run_workload

SAM = (SAM_SIZE, SAM_SIZE)


@pytest.mark.parametrize("batch_size", [1, 2])
def test_sam_image(benchmark, device, precision, batch_size):
    benchmark.group = "image"
    run_workload(benchmark, "sam2.1-tiny", "image", device, precision, batch_size, resolution=SAM)


def test_sam_prompt(benchmark, device, precision):
    benchmark.group = "prompt"
    run_workload(benchmark, "sam2.1-tiny", "prompt", device, precision, 1, resolution=SAM)


def test_sam_auto(benchmark, device, precision):
    benchmark.group = "auto"
    run_workload(benchmark, "sam2.1-tiny", "auto", device, precision, 1, resolution=SAM)


def test_mask2former_image(benchmark, device, precision):
    benchmark.group = "image"
    run_workload(benchmark, "mask2former-swin-tiny", "image", device, precision, 1)


def test_sam_video(benchmark, device, precision):
    benchmark.group = "video"
    run_workload(benchmark, "sam2.1-tiny", "video", device, precision, 1, resolution=SAM)


def test_volume_unet(benchmark, device, precision):
    benchmark.group = "volume"
    run_workload(benchmark, "monai-unet", "volume", device, precision, 1)
