"""nnU-Net v2's 3D U-Net (PlainConvUNet, dynamic-network-architectures) over whole CT volumes with
sliding windows, configured from a plans file like nnU-Net's own: the 3d_fullres network its default
planner gives a typical CT dataset, and TotalSegmentator's single-network 117-class (`--fast`) model.
A model's "resolution" is its window, W x H x D (the plans' patch size by default).

`$SEGBENCH_NNUNET_PLANS` points every model here at another plans file (segbench's YAML layout, or
nnU-Net's own plans.json, whose 3d_fullres configuration is read).
"""

from segbench.families.base import Family, ModelSpec, Quality

_NNUNET = ("nnU-Net (Isensee et al., Nature Methods 2021) won the Medical Segmentation Decathlon and is its "
           "reference method; 'nnU-Net Revisited' (Isensee et al., MICCAI 2024) finds it ahead of SwinUNETR and "
           "other transformer networks across six 3D benchmarks")
_TOTALSEG = ("TotalSegmentator's network (Wasserthal et al., Radiology: AI 2023): its 117 whole-body structures are "
             "a different label set from the 14-organ models, chosen for the classes it segments, not ranked "
             "against them")

FAMILY = Family(
    name="nnunet",
    title="nnU-Net v2 (PlainConvUNet)",
    models=(
        ModelSpec("nnunet-3d-fullres", "nnunet", ("volume",), (128, 128, 128),
                  "nnU-Net v2 3d_fullres PlainConvUNet, default planner for CT (6 stages, 32-320 features, "
                  "128^3 patch, 14 classes)",
                  tasks=("semantic",), quality=Quality(3, _NNUNET),
                  config={"network": "PlainConvUNet", "plans": "3d_fullres.yaml", "out_channels": 14}),
        ModelSpec("nnunet-3d-totalseg", "nnunet", ("volume",), (112, 112, 128),
                  "nnU-Net v2 PlainConvUNet sized as TotalSegmentator's 3 mm model (117 classes + background, "
                  "5 stages, 128x112x112 patch)",
                  tasks=("semantic",), quality=Quality(0, _TOTALSEG),
                  config={"network": "PlainConvUNet", "plans": "totalseg_3mm.yaml", "out_channels": 118}),
    ),
    packages=("dynamic-network-architectures",),
    loading="segbench.families.nnunet.loading",
    workloads={"volume": "segbench.workloads.volume:SlidingWindowVolume"},
    cost="segbench.families.nnunet.cost",
)
