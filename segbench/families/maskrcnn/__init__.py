"""torchvision's Mask R-CNN (ResNet-50 FPN v2): the two-stage instance-segmentation model of the
"label with SAM, then train a small model" path, built with `weights=None` (no download)."""

from segbench.families.base import Family, ModelSpec, Quality

FAMILY = Family(
    name="maskrcnn",
    title="torchvision Mask R-CNN",
    models=(
        ModelSpec("maskrcnn-resnet50-fpn-v2", "maskrcnn", ("image", "train"),
                  # A 4:3 photo at torchvision's short side of 800, padded to a multiple of 32.
                  (800, 1088), "torchvision Mask R-CNN ResNet-50 FPN v2 (46.4M params, short side 800)",
                  tasks=("instance",),
                  quality=Quality(3, "COCO val mask AP 41.8 (torchvision MaskRCNN_ResNet50_FPN_V2_Weights), above "
                                     "YOLO11s-seg's 37.8 at many times its cost"),
                  config={"checkpoint": "maskrcnn_resnet50_fpn_v2.safetensors", "classes": 91, "max_size": 1333}),
    ),
    packages=("torchvision",),
    loading="segbench.families.maskrcnn.loading",
    workloads={"image": "segbench.families.maskrcnn.workloads:MaskRcnnImage",
               "train": "segbench.families.maskrcnn.workloads:MaskRcnnTrain"},
    cost="segbench.families.maskrcnn.cost",
)
