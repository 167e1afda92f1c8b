"""Mask2Former with Swin backbones through `transformers`: the published ADE20K semantic and COCO
panoptic checkpoints, their architectures built offline from configs held here as data."""

from segbench.families.base import Family, ModelSpec, Quality

_SWIN_T = {"embed_dim": 96, "depths": [2, 2, 6, 2], "num_heads": [3, 6, 12, 24], "window_size": 7,
           "pretrain_image_size": 224}
_SWIN_L = {"embed_dim": 192, "depths": [2, 2, 18, 2], "num_heads": [6, 12, 24, 48], "window_size": 12,
           "pretrain_image_size": 384}
# COCO images (480x640) resized to a short side of 800 and padded to /32, as the panoptic configs evaluate.
_COCO_SIZE = (800, 1088)
_ZOO = "Mask2Former model zoo (MODEL_ZOO.md, facebookresearch/Mask2Former)"


def _spec(name: str, hf_id: str, swin: dict, queries: int, labels: int, resolution: tuple[int, int], task: str,
          rank: int, accuracy: str, desc: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="mask2former",
        workloads=("image",),
        default_resolution=resolution,
        description=desc,
        tasks=(task,),
        quality=Quality(rank, f"{accuracy} ({_ZOO})"),
        config={"hf_id": hf_id, "architecture": {**swin, "num_queries": queries, "num_labels": labels}},
    )


FAMILY = Family(
    name="mask2former",
    title="Mask2Former",
    models=(
        _spec("mask2former-swin-tiny", "facebook/mask2former-swin-tiny-ade-semantic", _SWIN_T, 100, 150, (512, 512),
              "semantic", 1, "ADE20K val mIoU 47.7", "Mask2Former Swin-T, ADE20K semantic (512x512 crops)"),
        _spec("mask2former-swin-large", "facebook/mask2former-swin-large-ade-semantic", _SWIN_L, 100, 150, (640, 640),
              "semantic", 2, "ADE20K val mIoU 56.1", "Mask2Former Swin-L, ADE20K semantic (640x640 crops)"),
        _spec("mask2former-swin-tiny-coco", "facebook/mask2former-swin-tiny-coco-panoptic", _SWIN_T, 100, 133,
              _COCO_SIZE, "panoptic", 1, "COCO val PQ 53.2", "Mask2Former Swin-T, COCO panoptic (short side 800)"),
        _spec("mask2former-swin-large-coco", "facebook/mask2former-swin-large-coco-panoptic", _SWIN_L, 200, 133,
              _COCO_SIZE, "panoptic", 2, "COCO val PQ 57.8",
              "Mask2Former Swin-L, COCO panoptic (short side 800, 200 queries)"),
    ),
    packages=("transformers",),
    loading="segbench.families.mask2former.loading",
    workloads={"image": "segbench.families.mask2former.image:Mask2FormerImage"},
    cost="segbench.families.mask2former.cost",
)
