"""MONAI 3D networks: the published architectures, window-size rules, and weights loaded safely."""

from __future__ import annotations

import pytest
import torch

from segbench.cost.counting import count
from segbench.errors import InputError
from segbench.families.base import LoadOptions
from segbench.families.monai import loading as monai3d
from segbench.families.registry import build_on_meta, get_spec, load_model
from segbench.measure.device import autocast, default_precision

CPU = torch.device("cpu")


def test_architectures_match_the_published_sizes():
    unet = monai3d.build(get_spec("monai-unet"))
    swin = monai3d.build(get_spec("monai-swinunetr"))
    assert type(unet).__name__ == "UNet" and type(swin).__name__ == "SwinUNETR"
    # MONAI's tutorial UNet (16-256 channels, 2 residual units) and SwinUNETR-BTCV (62.2M parameters).
    assert sum(p.numel() for p in unet.parameters()) == pytest.approx(4.82e6, rel=0.01)
    assert sum(p.numel() for p in swin.parameters()) == pytest.approx(62.19e6, rel=0.01)
    assert swin.out.conv.conv.out_channels == 14


# fp32 and the machine's default ("auto": bf16 autocast on a CPU with native bf16, as on Ampere or newer GPUs).
@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_unet_runs_on_a_small_window(precision):
    loaded = load_model("monai-unet", LoadOptions(CPU, "random", resolution=(32, 32, 32)))
    with torch.inference_mode(), autocast(CPU, default_precision(CPU) if precision == "auto" else precision):
        out = loaded.module(torch.zeros(1, 1, 32, 32, 32))
    assert out.shape == (1, 14, 32, 32, 32)
    assert loaded.resolution == (32, 32, 32) and loaded.weights == "random"
    assert any("differs from the published" in n for n in loaded.notes)


@pytest.mark.parametrize(
    "model, roi",
    [
        ("monai-unet", (96, 96, 96)),
        ("monai-unet", (32, 32, 32)),
        ("monai-unet", (48, 32, 16)),
        ("monai-swinunetr", (96, 96, 96)),
        ("monai-swinunetr", (64, 32, 32)),
    ],
)
def test_windows_the_networks_can_run(model, roi):
    assert tuple(monai3d.check_roi(get_spec(model), roi)) == roi


@pytest.mark.parametrize(
    "model, roi, divisor",
    [
        ("monai-swinunetr", (96, 96, 80), 32),
        ("monai-swinunetr", (48, 48, 48), 32),
        ("monai-swinunetr", (32, 32, 32), 32),
        ("monai-swinunetr", (0, 96, 96), 32),
        ("monai-unet", (40, 40, 40), 16),
        ("monai-unet", (16, 16, 16), 16),
    ],
)
def test_windows_the_networks_cannot_run_are_input_errors(model, roi, divisor):
    with pytest.raises(InputError, match=rf"multiple of {divisor}"):
        monai3d.check_roi(get_spec(model), roi)


def test_a_2d_model_size_is_refused_for_a_3d_network():
    with pytest.raises(InputError, match="--roi"):
        load_model("monai-unet", LoadOptions(CPU, "random", resolution=(256, 256)))


def test_flops_on_meta_count_a_window():
    meta = build_on_meta("monai-unet", (96, 96, 96))
    flops = count(lambda: meta(torch.empty(1, 1, 96, 96, 96, device="meta")))[0].flops
    assert 15e9 < flops < 30e9  # ~21.7 GFLOP per 96^3 window
    assert next(meta.parameters()).device.type == "meta"


def test_checkpoint_round_trip_loads_the_same_weights(tmp_path):
    source = monai3d.build(get_spec("monai-unet"))
    path = tmp_path / "unet.pt"
    torch.save({"state_dict": source.state_dict()}, path)  # the layout MONAI training scripts save
    loaded = load_model("monai-unet", LoadOptions(CPU, "pretrained", checkpoint=str(path)))
    assert loaded.weights == "pretrained" and loaded.checkpoint == str(path)
    for name, tensor in source.state_dict().items():
        assert torch.equal(loaded.module.state_dict()[name], tensor)


def test_checkpoint_for_another_network_is_refused(tmp_path):
    path = tmp_path / "swin.pt"
    torch.save({"some.weight": torch.zeros(3)}, path)
    with pytest.raises(InputError, match="does not match monai-unet"):
        load_model("monai-unet", LoadOptions(CPU, "auto", checkpoint=str(path)))


def test_checkpoint_with_code_is_refused(tmp_path):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"state_dict": Evil()}, protocol=2))
    with pytest.raises(InputError, match="refused to load"):
        load_model("monai-unet", LoadOptions(CPU, "pretrained", checkpoint=str(path)))


def test_weights_auto_finds_a_local_checkpoint_else_uses_random(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEGBENCH_CHECKPOINTS", str(tmp_path / "ckpts"))
    assert load_model("monai-unet", LoadOptions(CPU, "auto")).weights == "random"
    with pytest.raises(InputError, match="monai-unet.pt"):
        load_model("monai-unet", LoadOptions(CPU, "pretrained"))
    (tmp_path / "ckpts").mkdir()
    torch.save(monai3d.build(get_spec("monai-unet")).state_dict(), tmp_path / "ckpts" / "monai-unet.pt")
    found = load_model("monai-unet", LoadOptions(CPU, "auto"))
    assert found.weights == "pretrained" and found.checkpoint.endswith("monai-unet.pt")
