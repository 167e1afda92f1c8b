"""Ultralytics YOLO-seg (YOLO11n-seg, YOLO11s-seg): the small instance-segmentation models of the
"label with SAM, then train a small model" path, built offline from the package's own model YAML.

Ultralytics is AGPL-3.0 and an optional extra (`pip install 'segbench[yolo]'`); without it these
models are listed but running them is a one-line error, and the advisor still predicts them from
the footprints counted here.
"""

from segbench.families.base import Family, ModelSpec, Quality

_DOCS = "Ultralytics docs, Instance Segmentation (COCO val mask mAP50-95)"


def _spec(size: str, params: str, rank: int, map_mask: str) -> ModelSpec:
    return ModelSpec(
        name=f"yolo11{size}-seg",
        family="yolo",
        workloads=("image", "train"),
        default_resolution=(640, 640),
        description=f"Ultralytics YOLO11{size}-seg ({params} params, 640 px)",
        tasks=("instance",),
        quality=Quality(rank, f"mask mAP50-95 {map_mask} ({_DOCS})"),
        config={"yaml": f"yolo11{size}-seg.yaml", "checkpoint": f"yolo11{size}-seg.safetensors", "classes": 80},
    )


FAMILY = Family(
    name="yolo",
    title="Ultralytics YOLO-seg",
    models=(_spec("n", "2.9M", 1, "32.0"), _spec("s", "10.1M", 2, "37.8")),
    packages=("ultralytics",),
    loading="segbench.families.yolo.loading",
    workloads={"image": "segbench.families.yolo.workloads:YoloImage",
               "train": "segbench.families.yolo.workloads:YoloTrain"},
    cost="segbench.families.yolo.cost",
    default_for=("train",),
)
