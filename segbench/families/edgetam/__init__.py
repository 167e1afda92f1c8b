"""EdgeTAM (Meta, 2025): SAM 2-style tracking made for phones, through `transformers` (its RepViT-M1
image encoder comes from `timm`: `pip install 'segbench[models]'`). A RepViT-M1 encoder and a 2D
spatial perceiver that compresses each frame's memory, 13.9M parameters at 1024 px; its `image` and
`video` rows compare row for row with SAM 2.1 tiny's (same input size, prompts and clip)."""

from segbench.families.base import Family, ModelSpec, Quality

FAMILY = Family(
    name="edgetam",
    title="EdgeTAM",
    models=(
        ModelSpec(
            name="edgetam",
            family="edgetam",
            workloads=("image", "video"),
            default_resolution=(1024, 1024),
            description="EdgeTAM (RepViT-M1 encoder + 2D spatial perceiver, 13.9M params; 1024 px)",
            tasks=("promptable",),
            quality=Quality(4, "SA-V test J&F 72.3 (EdgeTAM README, VOS table), below SAM 2.1 tiny's 76.5: "
                               "on-device speed bought with accuracy; 1-click SA image mIoU 55.5"),
            config={
                "hf_id": "yonigozlan/EdgeTAM-hf",
                "image_model": "EdgeTamModel",
                "video_model": "EdgeTamVideoModel",
                "image_processor": "Sam2ImageProcessor",
                "video_processor_class": "Sam2VideoProcessor",
                "encode": "get_image_embeddings",
                # timm's name for the encoder of EdgeTAM's checkpoint (transformers' default config builds a ResNet-50).
                "backbone": "repvit_m1.dist_in1k",
            },
        ),
    ),
    packages=("transformers", "timm"),
    loading="segbench.families.edgetam.loading",
    workloads={"image": "segbench.families._shared.hf_sam:HfImage", "video": "segbench.families._shared.hf_sam:HfVideo"},
    cost="segbench.families.edgetam.cost",
)
