"""The images a 2D workload runs on: the user's files, else deterministic synthetic photos."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from segbench.cost.footprint import Query
from segbench.workloads.base import Workload, WorkloadOptions
from segbench.workload_catalog import FULL

_SYNTHETIC_COUNT = 4  # batches cycle through them; making more costs seconds


def images_for(options: WorkloadOptions) -> tuple[list[np.ndarray], dict]:
    """(RGB uint8 arrays, input info for the record). Batches cycle through these."""
    size = None if options.inputs else (options.source_size or FULL.source_size)
    arrays, info = _images(tuple(options.inputs), size, options.seed)
    return list(arrays), dict(info)


@functools.lru_cache(maxsize=2)
def _images(paths: tuple[str, ...], size: tuple[int, int] | None, seed: int) -> tuple[tuple[np.ndarray, ...], dict]:
    """Decoded (or drawn) once per process: the input check and every workload after it reuse them.
    Workloads never write to the arrays."""
    from segbench.inputs import images as image_inputs

    if paths:
        loaded = image_inputs.load_images(list(paths))
        arrays = tuple(img.array for img in loaded)
        names = sorted(Path(img.path).name for img in loaded)
        digest = hashlib.sha1("\n".join(names).encode()).hexdigest()[:10]
        info = {
            "source": "files",
            "files": len(arrays),
            "key": f"files:{digest}",
            "source_sizes": sorted({tuple(a.shape[:2]) for a in arrays}),
        }
        return arrays, info
    assert size is not None
    made = image_inputs.synthetic_images(_SYNTHETIC_COUNT, size=size, seed=seed)
    arrays = tuple(getattr(img, "array", img) for img in made)
    return arrays, {"source": "synthetic", "key": f"synthetic:{size[1]}x{size[0]}", "source_size": list(size)}


def check_image_inputs(options: WorkloadOptions) -> None:
    if options.inputs:
        images_for(options)


class ImageBatches(Workload):
    """A workload over batches of the run's images (the user's files, else synthetic photos), cycled to
    fill a batch, at the model's input size."""

    check_inputs = classmethod(lambda cls, options: check_image_inputs(options))

    def __init__(self, model, device, options: WorkloadOptions) -> None:
        super().__init__(model, device, options)
        self.images, self._input = images_for(options)

    def batch(self, batch_size: int) -> list[np.ndarray]:
        return [self.images[i % len(self.images)] for i in range(batch_size)]

    def cost_query(self, batch_size: int) -> Query:
        return Query(self.model.spec.name, self.name, batch_size=batch_size, model_size=tuple(self.model.resolution),
                     resolution=tuple(self.images[0].shape[:2]))

    def input_info(self) -> dict:
        return dict(self._input)
