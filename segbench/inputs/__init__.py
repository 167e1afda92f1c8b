"""Inputs for the workloads: images, video clips and 3D volumes, read from files or made up.

Modules, one job each:
  images        JPEG/PNG files and folders, scikit-image sample photos, synthetic scenes
  video         video files (OpenCV) and frame folders, synthetic clips, MP4/JPEG-folder writers
  volume        NIfTI, DICOM, .npy volumes and the CT-like phantom
  dicom         DICOM series/multi-frame reading (used by volume)
  volume_write  NIfTI, .npy and DICOM-series writers
  parsing       --resolution, --volume and --roi parsers
  synthetic     the 2D drawing behind synthetic images and clips
  ct_phantom    the 3D drawing behind the phantom

Nothing here knows about models. Every failure a user can cause raises `InputError` naming the
file and the problem. The names below are importable from `segbench.inputs` directly; they are
loaded on first use so that importing the package does not import OpenCV, nibabel or pydicom.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Image": "images",
    "InputNote": "images",
    "load_images": "images",
    "sample_images": "images",
    "synthetic_images": "images",
    "Clip": "video",
    "ObjectPrompt": "video",
    "read_video": "video",
    "synthetic_clip": "video",
    "write_mp4": "video",
    "write_jpeg_folder": "video",
    "Volume": "volume",
    "read_volume": "volume",
    "phantom": "volume",
    "write_nifti": "volume_write",
    "write_npy": "volume_write",
    "write_dicom_series": "volume_write",
    "WHD": "parsing",
    "parse_resolution": "parsing",
    "format_resolution": "parsing",
    "parse_volume_shape": "parsing",
    "parse_roi": "parsing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
