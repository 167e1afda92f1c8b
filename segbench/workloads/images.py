"""The images a 2D workload runs on: the user's files, else deterministic synthetic photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segbench.workloads.base import WorkloadOptions

# A 4:3 photo, the common camera shape; SAM resizes it to its square input anyway.
DEFAULT_SOURCE_SIZE = (768, 1024)
_SYNTHETIC_COUNT = 4  # batches cycle through them; making more costs seconds


def images_for(options: WorkloadOptions) -> tuple[list[np.ndarray], dict]:
    """(RGB uint8 arrays, input info for the record). Batches cycle through these."""
    from segbench.inputs import images as image_inputs

    if options.inputs:
        loaded = image_inputs.load_images(list(options.inputs))
        arrays = [img.array for img in loaded]
        names = sorted(Path(img.path).name for img in loaded)
        info = {
            "source": "files",
            "files": len(arrays),
            "key": "files:" + _digest(names),
            "source_sizes": sorted({tuple(a.shape[:2]) for a in arrays}),
        }
        return arrays, info
    size = options.source_size or DEFAULT_SOURCE_SIZE
    made = image_inputs.synthetic_images(_SYNTHETIC_COUNT, size=size, seed=options.seed)
    arrays = [getattr(img, "array", img) for img in made]
    return arrays, {"source": "synthetic", "key": f"synthetic:{size[1]}x{size[0]}", "source_size": list(size)}


def check_image_inputs(options: WorkloadOptions) -> None:
    if options.inputs:
        images_for(options)


def _digest(names: list[str]) -> str:
    import hashlib

    return hashlib.sha1("\n".join(names).encode()).hexdigest()[:10]
