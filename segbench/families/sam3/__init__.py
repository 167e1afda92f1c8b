"""SAM 3 (Meta, Nov 2025) through `transformers`: one ~840M-parameter model that finds every instance
of a concept (a short text, or a box exemplar) in an image, and tracks prompted objects through a
video with the SAM 2-style tracker that shares its vision encoder.

`image` is the vision encoder (1008 px), `prompt` a text and a box-exemplar prompt decoded against a
cached embedding (the objects returned are counted), `video` the tracker over a clip with N objects
(Sam3TrackerVideoModel). The text-prompted video model (Sam3VideoModel: the detector on every frame
plus the tracker) is not timed: it costs at least the detector's prompt decode more per frame.
"""

from segbench.families.base import Family, FamilyOption, ModelSpec, Quality

FAMILY = Family(
    name="sam3",
    title="SAM 3",
    models=(
        ModelSpec(
            name="sam3",
            family="sam3",
            workloads=("image", "prompt", "video"),
            default_resolution=(1008, 1008),
            quick_resolution=(336, 336),  # the encoder at 1008 takes ~25 s per image on 2 CPU cores
            description="SAM 3 (ViT 1024-wide x 32 layers, 840M params with its text encoder; 1008 px)",
            tasks=("promptable", "instance"),
            quality=Quality(9, "concept prompts: a short text or a box exemplar segments every instance of it (SA-Co "
                               "benchmark, SAM 3 paper, Carion et al., 2025), which no other model here does; it "
                               "also tracks clicked objects like SAM 2.1, at several times SAM 2.1 large's compute"),
            config={
                "hf_id": "facebook/sam3",
                "image_model": "Sam3Model",
                "video_model": "Sam3TrackerVideoModel",
                "image_processor": "Sam3ImageProcessor",
                "video_processor_class": "Sam3TrackerVideoProcessor",
                "encode": "get_vision_features",
            },
        ),
    ),
    packages=("transformers",),
    loading="segbench.families.sam3.loading",
    workloads={
        "image": "segbench.families._shared.hf_sam:HfImage",
        "prompt": "segbench.families.sam3.concepts:Sam3Prompt",
        "video": "segbench.families._shared.hf_sam:HfVideo",
    },
    cost="segbench.families.sam3.cost",
    options=(
        FamilyOption("text", "text", "person", "prompt, SAM 3: the text prompt whose instances are segmented",
                     workloads=("prompt",)),
    ),
)
