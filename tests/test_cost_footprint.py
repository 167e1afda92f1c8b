"""Footprints: counting on meta (FLOPs, traffic, peaks), the cache, and the workload memory rules."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

import segbench.cost.footprint as FP
import segbench.families.costs as costs
from segbench.cost.counting import Counts, count
from segbench.errors import InputError
from segbench.workloads.volume import count_windows_whd


def _meta(module: torch.nn.Module) -> torch.nn.Module:
    return module.to("meta").requires_grad_(False)


def test_counts_flops_and_conv_share_of_a_small_network():
    conv = _meta(torch.nn.Conv2d(3, 8, 3))
    linear = _meta(torch.nn.Linear(8, 4))
    x = torch.empty(1, 3, 10, 10, device="meta")
    counts, out = count(lambda: linear(conv(x).permute(0, 2, 3, 1)))
    conv_flops = 2 * (8 * 8 * 8) * (3 * 3 * 3)  # outputs x multiply-adds per output
    linear_flops = 2 * (8 * 8) * 8 * 4
    assert counts.conv_flops == conv_flops
    assert counts.flops == conv_flops + linear_flops
    assert counts.kernels >= 2
    assert counts.peak_bytes >= out.numel() * 4


def test_peak_tracks_frees_not_the_sum_of_allocations():
    x = torch.empty(1024, device="meta")

    def chain():
        y = x
        for _ in range(10):
            y = y * 2  # each step frees the previous intermediate
        return y

    counts, _ = count(chain)
    one = 1024 * 4
    assert counts.other_bytes == pytest.approx(10 * 2 * one)  # every kernel reads and writes one tensor
    assert one <= counts.peak_bytes <= 2 * one  # at most two alive at once, not ten


def test_fused_attention_has_the_math_flops_without_the_score_matrix():
    q = torch.empty(1, 2, 256, 32, device="meta")
    fused, _ = count(lambda: F.scaled_dot_product_attention(q, q, q))
    math_path, _ = count(lambda: F.scaled_dot_product_attention(q, q, q), fused_attention=False)
    assert fused.flops == pytest.approx(math_path.flops)
    assert fused.flops == 4 * 2 * 256 * 256 * 32
    assert math_path.peak_bytes >= 2 * 256 * 256 * 4  # the L x S scores of both heads
    assert fused.peak_bytes < math_path.peak_bytes / 4


def test_autocast_emulation_halves_activations_and_keeps_weight_casts_out_of_each_step():
    net = _meta(torch.nn.Sequential(torch.nn.Linear(512, 2048), torch.nn.GELU(), torch.nn.Linear(2048, 512)))
    x = torch.empty(64, 512, device="meta")
    fp32, _ = count(lambda: net(x))
    half, out = count(lambda: net(x), torch.bfloat16)
    assert out.dtype == torch.bfloat16
    assert half.flops == fp32.flops
    assert half.peak_bytes < 0.75 * fp32.peak_bytes
    # Cached weight casts cost nothing per step: only the input cast joins the two linears and the GELU.
    assert half.kernels == fp32.kernels + 1


def test_counts_add_and_scale():
    a = Counts(flops=10, kernels=3, peak_bytes=5, other_bytes=2)
    b = Counts(flops=1, kernels=1, peak_bytes=9)
    assert (a + b).flops == 11 and (a + b).peak_bytes == 9 and (a + b).kernels == 4
    assert a.times(4).kernels == 3 and a.times(4).peak_bytes == 20  # one batched launch, four items alive
    assert a.times(4, batched=False).kernels == 12 and a.times(4, batched=False).peak_bytes == 5


@pytest.mark.slow
def test_cache_matches_a_fresh_count():
    """profiles/footprints.yaml must be what counting the real architecture gives today."""
    cached = costs.load_cache()[("sam2.1-tiny", (512, 512))]
    fresh = costs.count_model("sam2.1-tiny", (512, 512))
    assert fresh.params == cached.params
    for precision, blocks in fresh.blocks.items():
        for name, counts in blocks.items():
            want = cached.blocks[precision][name]
            for field in dataclasses.fields(Counts):
                assert getattr(counts, field.name) == pytest.approx(getattr(want, field.name), rel=1e-6), \
                    f"{precision}/{name}/{field.name}: regenerate with python -m segbench.maintenance footprints --out segbench/profiles/footprints.yaml"


def _q(**kw) -> FP.Query:
    return FP.Query(**{"model": "sam2.1-tiny", "workload": "image", **kw})


def test_image_batch_scales_work_but_not_launches():
    one = costs.footprint(_q(batch_size=1))
    four = costs.footprint(_q(batch_size=4))
    assert four.device.flops == pytest.approx(4 * one.device.flops)
    assert four.device.kernels == one.device.kernels
    assert four.activation_bytes == pytest.approx(4 * one.activation_bytes)
    assert four.items_per_step == 4


def test_half_precision_keeps_fp32_weights_plus_a_half_copy():
    fp32 = costs.footprint(_q(precision="fp32"))
    bf16 = costs.footprint(_q(precision="bf16"))
    assert bf16.weights_bytes - fp32.weights_bytes == pytest.approx(2 * fp32.params)
    assert bf16.activation_bytes < fp32.activation_bytes


def test_video_memory_grows_per_frame_and_offloading_moves_it_to_the_host():
    short = costs.footprint(_q(workload="video", frames=100, precision="bf16"))
    long = costs.footprint(_q(workload="video", frames=300, precision="bf16"))
    assert long.state_bytes - short.state_bytes == pytest.approx(200 * short.growth_bytes_per_frame)
    frame = 3 * 1024 * 1024 * 4  # init_state keeps each frame at 1024x1024 fp32
    assert short.growth_bytes_per_frame > frame
    offloaded = costs.footprint(_q(workload="video", frames=300, precision="bf16", offload_video_to_cpu=True))
    assert long.state_bytes - offloaded.state_bytes == pytest.approx(300 * frame)
    assert offloaded.host_state_bytes - long.host_state_bytes == pytest.approx(300 * frame)


def test_volume_aggregation_buffers_follow_aggregate_on():
    base = {"model": "monai-unet", "workload": "volume", "volume": (512, 512, 200)}
    device = costs.footprint(FP.Query(**base))
    cpu = costs.footprint(FP.Query(**base, aggregate_on="cpu"))
    buffers = (14 + 1) * 512 * 512 * 200 * 4  # 14 classes + count map, fp32
    assert device.state_bytes - cpu.state_bytes == pytest.approx(buffers)
    assert cpu.host_state_bytes - device.host_state_bytes == pytest.approx(buffers)
    assert device.device.flops == pytest.approx(147 * costs.model_counts("monai-unet").block("window", "fp32").flops)


def test_windows_follow_monai_scan_rule():
    assert count_windows_whd((512, 512, 200), (96, 96, 96), 0.25) == 147
    assert count_windows_whd((96, 96, 96), (96, 96, 96), 0.25) == 1
    assert count_windows_whd((64, 64, 32), (96, 96, 96), 0.25) == 1  # padded up to one window


def test_unsupported_workload_and_bad_batch_are_input_errors():
    with pytest.raises(InputError, match="does not support"):
        costs.footprint(FP.Query("monai-unet", "video"))
    with pytest.raises(InputError, match="batch size"):
        costs.footprint(_q(batch_size=0))
    assert math.isfinite(costs.footprint(_q(workload="prompt")).peak_bytes)
