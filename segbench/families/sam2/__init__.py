"""SAM 2.1 (Meta's `sam2` package): Hiera-T/S/B+/L with the package's bundled configs.

Serves every 2D and 3D workload that takes prompts: the image encoder, prompt decoding on a cached
embedding, automatic masks, video propagation, a volume's slices propagated as frames, and the
mask-decoder fine-tune (encoder frozen).
"""

from segbench.families.base import Extension, Family, FamilyOption, ModelSpec, Quality

_ACCURACY = "SA-V test J&F {jf} (SAM 2.1 README, checkpoint table, Dec 2024)"


def _spec(size: str, short: str, hf: str, params: str, rank: int, jf: str) -> ModelSpec:
    return ModelSpec(
        name=f"sam2.1-{size}",
        family="sam2",
        workloads=("image", "prompt", "auto", "video", "volume", "train"),
        default_resolution=(1024, 1024),
        description=f"SAM 2.1 Hiera-{short.upper()} ({params} params)",
        tasks=("promptable",),
        quality=Quality(rank, _ACCURACY.format(jf=jf)),
        config={
            "config": f"configs/sam2.1/sam2.1_hiera_{short}.yaml",
            "checkpoint": f"sam2.1_hiera_{hf.replace('-', '_')}.pt",
            "hf_id": f"facebook/sam2.1-hiera-{hf}",
        },
        # SAM 2.0 checkpoints: the same architectures, so published SAM 2.0 timings count for these.
        aliases=(f"sam2-{size}",),
    )


FAMILY = Family(
    name="sam2",
    title="SAM 2.1",
    models=(
        _spec("tiny", "t", "tiny", "38.9M", 5, "76.5"),
        _spec("small", "s", "small", "46M", 6, "76.6"),
        _spec("base-plus", "b+", "base-plus", "80.8M", 7, "78.2"),
        _spec("large", "l", "large", "224.4M", 8, "79.5"),
    ),
    packages=("sam2",),
    loading="segbench.families.sam2.loading",
    workloads={
        "image": "segbench.families.sam2.still:SamImage",
        "prompt": "segbench.families.sam2.still:SamPrompt",
        "auto": "segbench.families.sam2.still:SamAuto",
        "video": "segbench.families.sam2.tracking:SamVideo",
        "volume": "segbench.families.sam2.tracking:SamVolume",
        "train": "segbench.families.sam2.finetune:SamDecoderTrain",
    },
    cost="segbench.families.sam2.cost",
    default_for=("image", "prompt", "auto", "video"),
    extensions=(
        Extension(
            module="sam2._C",
            package="sam2",
            used_by=("video", "volume"),
            lost="sam2's video predictor then skips filling holes of up to 8 pixels in its low-resolution masks, "
                 "warns on every frame, and masks may keep small holes",
            build="SAM2_BUILD_CUDA=1 SAM2_BUILD_ALLOW_ERRORS=0 pip install -v --no-build-isolation --no-cache-dir "
                  "--force-reinstall --no-deps sam2=={version}",
        ),
    ),
    bf16_state={
        workload: "sam2's video predictor stores its memory bank in bf16 and its examples autocast to bf16 on CUDA"
        for workload in ("video", "volume")
    },
    options=(
        FamilyOption(
            "vos_optimized", "flag", False,
            "video/volume, SAM 2.1: sam2's own compiled video predictor (SAM2VideoPredictorVOS; compiles on the "
            "first frames)",
            workloads=("video", "volume"), tune=(True,), compiles=True,
        ),
    ),
    quiet_warnings=(
        # sam2 scripts its transforms with torch.jit, which torch now warns about on every model build.
        (r".*torch\.jit\.script.*", "FutureWarning"),
        # Without the CUDA extension, video post-processing skips hole filling; records say so (and
        # `segbench doctor` explains it) instead of a multi-line warning in the middle of a progress bar.
        (r"cannot import name '_C' from 'sam2'", "UserWarning"),
    ),
)
