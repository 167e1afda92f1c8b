"""MONAI 3D segmentation networks over whole CT/MRI volumes with sliding windows: the UNet of
MONAI's tutorials (five levels, 16-256 channels, two residual units) and SwinUNETR in its BTCV
configuration (feature size 48, 14 organ classes), and the model zoo's whole-body CT SegResNet (105
classes, the TotalSegmentator label set). A model's "resolution" is its window, W x H x D."""

from segbench.families.base import Family, ModelSpec, Quality

FAMILY = Family(
    name="monai",
    title="MONAI 3D networks",
    models=(
        ModelSpec("monai-unet", "monai", ("volume",), (96, 96, 96), "MONAI 3D UNet (5 levels, 16-256 channels)",
                  tasks=("semantic",),
                  quality=Quality(1, "the convolutional baseline of MONAI's 3D segmentation tutorials"),
                  config={"network": "unet", "out_channels": 14}),
        ModelSpec("monai-swinunetr", "monai", ("volume",), (96, 96, 96), "MONAI SwinUNETR (feature size 48, BTCV)",
                  tasks=("semantic",),
                  quality=Quality(2, "BTCV multi-organ Dice 0.82 in MONAI's swin_unetr_btcv_segmentation bundle, "
                                     "ahead of CNN baselines in the SwinUNETR paper (Hatamizadeh et al., 2022)"),
                  config={"network": "swinunetr", "out_channels": 14}),
        ModelSpec("monai-segresnet-wholebody", "monai", ("volume",), (96, 96, 96),
                  "MONAI SegResNet, whole-body CT (105 classes, model zoo wholeBody_ct_segmentation)",
                  tasks=("semantic",),
                  quality=Quality(0, "its 104 TotalSegmentator structures are a different label set from the 14-organ "
                                     "models: chosen for the classes it segments, not ranked against them"),
                  config={"network": "segresnet", "out_channels": 105}),
    ),
    packages=("monai",),
    loading="segbench.families.monai.loading",
    workloads={"volume": "segbench.workloads.volume:SlidingWindowVolume"},
    cost="segbench.families.monai.cost",
    default_for=("volume",),
)
