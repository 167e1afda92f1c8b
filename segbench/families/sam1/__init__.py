"""SAM 1 (Meta's `segment-anything` package, the one the setup guides of labeling tools still name):
ViT-B/L/H, served beside SAM 2.1 so "SAM 1 ViT-H or SAM 2.1?" is answered on the same machine.

Serves the still-image workloads: the image encoder (`SamPredictor.set_image`), prompts decoded on a
cached embedding, and automatic masks (`SamAutomaticMaskGenerator`).
"""

from segbench.families.base import Family, ModelSpec, Quality

# Kirillov et al., "Segment Anything", ICCV 2023, Fig. 13 (right): the image-encoder scale ablation.
_BASIS = ("ViT-{size} in the SAM paper's image-encoder scale ablation (Kirillov et al., Segment Anything, ICCV 2023, "
          "Fig. 13: ViT-B 91M, ViT-L 308M, ViT-H 636M encoder parameters; point-prompt mIoU rises with scale, "
          "ViT-H well ahead of ViT-B and marginally ahead of ViT-L)")


def _spec(size: str, params: str, encoder: str, rank: int, checkpoint: str,
          quick: tuple[int, int] | None = None) -> ModelSpec:
    return ModelSpec(
        name=f"sam-vit-{size}",
        family="sam1",
        workloads=("image", "prompt", "auto"),
        default_resolution=(1024, 1024),
        description=f"SAM 1 ViT-{size.upper()} ({params} params, {encoder} in the image encoder; segment-anything)",
        tasks=("promptable",),
        quality=Quality(rank, _BASIS.format(size=size.upper())),
        # The registry entry whose sizes the architecture takes, and the file name Meta publishes.
        config={"registry": f"vit_{size}", "checkpoint": checkpoint},
        quick_resolution=quick,
    )


FAMILY = Family(
    name="sam1",
    title="SAM 1 (segment-anything)",
    models=(
        _spec("b", "93.7M", "89.7M", 1, "sam_vit_b_01ec64.pth"),
        # --quick at 512 px: at 1024 one ViT-H set_image takes ~60 s on 2 CPU cores (ViT-L ~30 s).
        _spec("l", "312.3M", "308.3M", 2, "sam_vit_l_0b3195.pth", quick=(512, 512)),
        _spec("h", "641.1M", "637.0M", 3, "sam_vit_h_4b8939.pth", quick=(512, 512)),
    ),
    packages=("segment-anything",),
    loading="segbench.families.sam1.loading",
    workloads={
        "image": "segbench.families.sam1.still:Sam1Image",
        "prompt": "segbench.families.sam1.still:Sam1Prompt",
        "auto": "segbench.families.sam1.still:Sam1Auto",
    },
    cost="segbench.families.sam1.cost",
)
