"""nnU-Net v2 PlainConvUNet: built from plans files (bundled or the user's), windows it runs,
`--classes`, and weights loaded safely."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from segbench.errors import InputError
from segbench.families.base import LoadOptions
from segbench.families.nnunet import loading as nnunet
from segbench.families.nnunet.plans_file import PLANS_ENV, read_plans
from segbench.families.registry import get_spec, load_model, with_classes

CPU = torch.device("cpu")


def convs(network: torch.nn.Module) -> list[torch.nn.Conv3d]:
    return [m for m in network.encoder.modules() if isinstance(m, torch.nn.Conv3d)]


def test_the_bundled_3d_fullres_plans_land_in_the_network():
    plans = read_plans("3d_fullres.yaml")
    network = nnunet.plain_conv_unet(plans, 14)
    assert len(network.encoder.stages) == plans["n_stages"] == 6
    # Two convolutions per stage: the first of each stage carries the stage's stride and width.
    firsts = convs(network)[::2]
    assert [c.out_channels for c in firsts] == [32, 64, 128, 256, 320, 320]
    assert [list(c.stride) for c in firsts] == plans["strides"]
    assert all(list(c.kernel_size) == [3, 3, 3] for c in convs(network))
    assert isinstance(network.encoder.stages[0][0].convs[0].norm, torch.nn.InstanceNorm3d)
    assert network.decoder.seg_layers[-1].out_channels == 14 and not network.decoder.deep_supervision
    assert sum(p.numel() for p in network.parameters()) == pytest.approx(31.2e6, rel=0.01)


def test_the_totalsegmentator_model_has_its_plans_and_118_outputs():
    spec = get_spec("nnunet-3d-totalseg")
    network = nnunet.build(spec)
    assert len(network.encoder.stages) == 5 and network.decoder.seg_layers[-1].out_channels == 118
    assert tuple(nnunet.default_roi(spec)) == (112, 112, 128)  # plans (z, y, x) = 128, 112, 112


def test_classes_117_gives_117_output_channels():
    spec = with_classes("nnunet-3d-fullres", 117)
    loaded = load_model("nnunet-3d-fullres", LoadOptions(CPU, "random", resolution=(32, 32, 64), classes=117))
    assert nnunet.classes_of(spec) == 117
    with torch.inference_mode():
        out = loaded.module(torch.zeros(1, 1, 64, 32, 32))
    assert out.shape == (1, 117, 64, 32, 32)


def test_classes_out_of_range_is_an_input_error():
    with pytest.raises(InputError, match="--classes"):
        with_classes("nnunet-3d-fullres", 0)


def _write(tmp_path, plans: dict, name: str = "plans.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(plans))
    return path


@pytest.mark.parametrize(
    "change, field",
    [
        ({"n_stages": None}, "n_stages"),
        ({"features_per_stage": [32, 64, 128]}, "features_per_stage"),
        ({"strides": [[1, 1, 1]] * 5}, "strides"),
        ({"kernel_sizes": [[3, 3]] * 6}, r"kernel_sizes\[0\]"),
        ({"n_conv_per_stage_decoder": [2] * 6}, "n_conv_per_stage_decoder"),
        ({"patch_size": [128, 128]}, "patch_size"),
        ({"norm_op": "LayerNorm"}, "norm_op"),
        ({"network_class_name": "ResidualEncoderUNet"}, "network_class_name"),
    ],
)
def test_a_malformed_plans_file_is_a_one_line_error_naming_file_and_field(tmp_path, change, field):
    plans = {**yaml.safe_load(open(nnunet.__file__.replace("loading.py", "plans/3d_fullres.yaml"))), **change}
    path = _write(tmp_path, {k: v for k, v in plans.items() if v is not None})
    with pytest.raises(InputError, match=field) as caught:
        read_plans(str(path))
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_plans_file_that_is_not_yaml_is_an_input_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("patch_size: [128, 128\n")
    with pytest.raises(InputError, match="not YAML"):
        read_plans(str(path))


def test_the_user_plans_file_from_the_environment_builds_their_network(tmp_path, monkeypatch):
    """nnU-Net's own plans.json layout (configurations -> 3d_fullres -> architecture.arch_kwargs)."""
    arch = {"n_stages": 4, "features_per_stage": [16, 32, 64, 128],
            "conv_op": "torch.nn.modules.conv.Conv3d",
            "kernel_sizes": [[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
            "strides": [[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]],
            "n_conv_per_stage": [2, 2, 2, 2], "n_conv_per_stage_decoder": [2, 2, 2], "conv_bias": True,
            "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d", "norm_op_kwargs": {"eps": 1e-05, "affine": True},
            "dropout_op": None, "dropout_op_kwargs": None, "nonlin": "torch.nn.LeakyReLU",
            "nonlin_kwargs": {"inplace": True}}
    plans = {"configurations": {"3d_fullres": {"patch_size": [40, 96, 80], "architecture": {
        "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet", "arch_kwargs": arch,
        "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]}}}}
    path = tmp_path / "nnUNetPlans.json"
    path.write_text(json.dumps(plans))
    monkeypatch.setenv(PLANS_ENV, str(path))
    loaded = load_model("nnunet-3d-fullres", LoadOptions(CPU, "random", resolution=(16, 16, 8)))
    network = loaded.module
    assert len(network.encoder.stages) == 4 and convs(network)[0].kernel_size == (1, 3, 3)
    assert tuple(nnunet.default_roi(get_spec("nnunet-3d-fullres"))) == (80, 96, 40)
    assert any(str(path) in note for note in loaded.notes)
    with pytest.raises(InputError, match="multiple of 8x8x4"):  # x, y pooled 3 times; z twice
        nnunet.check_roi(get_spec("nnunet-3d-fullres"), (12, 16, 8))


@pytest.mark.parametrize("roi", [(128, 128, 128), (32, 32, 64), (64, 96, 160)])
def test_windows_the_network_can_run(roi):
    assert tuple(nnunet.check_roi(get_spec("nnunet-3d-fullres"), roi)) == roi


@pytest.mark.parametrize("roi", [(32, 32, 32), (96, 96, 80), (0, 128, 128)])
def test_windows_the_network_cannot_run_are_input_errors(roi):
    with pytest.raises(InputError, match="multiple of 32x32x32"):
        nnunet.check_roi(get_spec("nnunet-3d-fullres"), roi)


def test_a_state_dict_saved_with_torch_save_loads(tmp_path):
    source = nnunet.build(get_spec("nnunet-3d-totalseg"))
    path = tmp_path / "totalseg.pt"
    torch.save(source.state_dict(), path)
    loaded = load_model("nnunet-3d-totalseg", LoadOptions(CPU, "pretrained", checkpoint=str(path)))
    assert loaded.weights == "pretrained" and loaded.checkpoint == str(path)
    for name, tensor in source.state_dict().items():
        assert torch.equal(loaded.module.state_dict()[name], tensor)


def test_a_pickled_object_is_refused(tmp_path):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "checkpoint_final.pth"
    path.write_bytes(pickle.dumps({"network_weights": Evil()}, protocol=2))
    with pytest.raises(InputError, match="refused to load"):
        load_model("nnunet-3d-fullres", LoadOptions(CPU, "pretrained", checkpoint=str(path)))


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "auto"])  # auto: bf16 autocast on a CPU with native bf16
def test_the_volume_workload_slides_the_plans_window(tmp_path, precision):
    from segbench.families.registry import build_workload
    from segbench.measure.device import autocast, default_precision
    from segbench.workloads.base import WorkloadOptions

    loaded = load_model("nnunet-3d-fullres", LoadOptions(CPU, "random", resolution=(32, 32, 64), classes=3))
    workload = build_workload("volume", loaded, CPU, WorkloadOptions(volume=(64, 32, 64), depths=()))
    with torch.inference_mode(), autocast(CPU, default_precision(CPU) if precision == "auto" else precision):
        out = workload.prepare(1)()
    assert out.shape == (1, 3, 64, 32, 64)
    params = workload.params()
    assert params["roi"] == [32, 32, 64] and params["out_channels"] == 3 and params["windows"] == 3
    assert workload.cost_query(1).classes == 3
