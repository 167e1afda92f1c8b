"""3D volumes: NIfTI (nibabel), a DICOM series or multi-frame file (pydicom), `.npy`, or a phantom.

Every reader returns a `Volume`: float32 (D, H, W) — slices first, the order MONAI's
sliding-window inference and a slice-by-slice SAM 2 both walk — with the voxel spacing in mm
(z, y, x) where the file gives it. NIfTI data arrives as (x, y, z) and is reversed to (z, y, x);
it is not reoriented, which timing does not need.

Refused with one InputError line: a 2D or 5D array (a 4D one with a singleton channel first or
last is squeezed), a zero-size axis, complex data, and any NaN or infinite voxel. Non-finite
voxels are an error rather than an option: they make a network's output NaN everywhere they
reach, which would time a broken input; clean the file first (e.g. `numpy.nan_to_num`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segbench.errors import InputError
from segbench.inputs._files import decoding, existing_path, non_empty_file
from segbench.inputs.ct_phantom import phantom_array
from segbench.inputs.parsing import WHD, parse_roi, parse_volume_shape

__all__ = ["Volume", "WHD", "parse_roi", "parse_volume_shape", "phantom", "read_volume"]

NIFTI_SUFFIXES = (".nii", ".nii.gz")
Spacing = tuple[float, float, float]


@dataclass(frozen=True)
class Volume:
    """A 3D scan: `array` float32 (D, H, W); `spacing` (z, y, x) in mm or None; `source` path or "phantom"."""

    array: np.ndarray = field(repr=False)
    spacing: Spacing | None
    source: str

    @property
    def shape_whd(self) -> WHD:
        d, h, w = self.array.shape
        return WHD(w, h, d)

    @property
    def voxels(self) -> int:
        return int(self.array.size)


def check_shape(shape: tuple[int, ...], source: str) -> tuple[int, ...]:
    """The axes to squeeze so `shape` becomes (D, H, W), or InputError for any other shape.

    Only a 4D shape with a singleton first axis (channel-first) or last axis (channel-last, or a
    NIfTI with one time point) is squeezed: anything else is ambiguous, so it is refused.
    """
    shape = tuple(int(s) for s in shape)
    squeeze: tuple[int, ...] = ()
    if len(shape) == 4:
        if shape[0] == 1:
            squeeze = (0,)
        elif shape[-1] == 1:
            squeeze = (3,)
        else:
            raise InputError(
                f"{source}: volume is 4D {shape} with several channels or time points; segbench needs one 3D volume"
            )
    elif len(shape) != 3:
        hint = " (a single slice: pass the whole series or a 3D file)" if len(shape) == 2 else ""
        raise InputError(f"{source}: volume has {len(shape)} dimensions {shape}; segbench needs 3 (D, H, W){hint}")
    spatial = [s for i, s in enumerate(shape) if i not in squeeze]
    if 0 in spatial:
        raise InputError(f"{source}: volume has a zero-size axis {shape}")
    return squeeze


def as_volume(array: np.ndarray, spacing: Spacing | None, source: str) -> Volume:
    """Validate any array read from a file and make it a float32 (D, H, W) Volume."""
    squeeze = check_shape(array.shape, source)
    if np.iscomplexobj(array) or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise InputError(f"{source}: volume holds {array.dtype} values; segbench needs real numbers")
    data = np.squeeze(array, axis=squeeze) if squeeze else array
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported just below
        data = np.ascontiguousarray(data, dtype=np.float32)
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        z, y, x = (int(v) for v in np.argwhere(~finite)[0])
        raise InputError(
            f"{source}: volume has {bad} NaN or infinite voxels (first at z={z}, y={y}, x={x}; values beyond "
            "float32's range count too); clean it first, e.g. with numpy.nan_to_num"
        )
    if spacing is not None:
        spacing = tuple(float(s) for s in spacing)  # type: ignore[assignment]
        if not all(np.isfinite(s) and s > 0 for s in spacing):
            spacing = None  # a header with zero or NaN spacing says nothing
    return Volume(data, spacing, source)


def _read_nifti(path: Path) -> Volume:
    import nibabel as nib

    with decoding(path, "NIfTI file"):
        img = nib.load(path)
        if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
            raise InputError(f"{path}: not a NIfTI image (nibabel read it as {type(img).__name__})")
        check_shape(tuple(reversed(img.shape)), str(path))  # refuse before loading gigabytes
        data = img.get_fdata(dtype=np.float32)  # applies scl_slope / scl_inter
        zooms = img.header.get_zooms()
    spacing = tuple(float(z) for z in reversed(zooms[:3])) if len(zooms) >= 3 else None
    return as_volume(data.T, spacing, str(path))  # (x, y, z[, t]) -> ([t,] z, y, x)


def _read_npy(path: Path) -> Volume:
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic.startswith(b"PK"):
        raise InputError(f"{path}: is an .npz archive, not an .npy array; save one array with numpy.save")
    if magic != b"\x93NUMPY":
        raise InputError(f"{path}: not an .npy file (no NUMPY header)")
    with decoding(path, ".npy array"):
        try:
            # No pickles: a .npy holding Python objects could run code when loaded. Memory-mapped
            # so that the shape is checked before the data is read.
            data = np.load(path, allow_pickle=False, mmap_mode="r")
        except ValueError as exc:
            if "Python objects" in str(exc) or "allow_pickle" in str(exc):
                raise InputError(
                    f"{path}: holds Python objects (a pickle), which segbench does not load; save a numeric array"
                ) from exc
            raise
        check_shape(data.shape, str(path))  # before copying it into memory
        return as_volume(np.asarray(data), None, str(path))


def _read_dicom(path: Path) -> Volume:
    from segbench.inputs import dicom

    if path.is_dir():
        array, spacing = dicom.read_dicom_series(path)
    else:
        array, spacing = dicom.read_dicom_file(path)
    return as_volume(array, spacing, str(path))


def read_volume(path: str | os.PathLike) -> Volume:
    """A NIfTI file (.nii, .nii.gz), a `.npy` array (D, H, W), a DICOM series folder or multi-frame DICOM file."""
    p = existing_path(path, "volume file or DICOM folder")
    if p.is_dir():
        return _read_dicom(p)
    non_empty_file(p)
    name = p.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return _read_nifti(p)
    if name.endswith(".npy"):
        return _read_npy(p)
    from segbench.inputs.dicom import is_dicom_file

    if name.endswith((".dcm", ".dicom")) or is_dicom_file(p):
        return _read_dicom(p)
    raise InputError(f"{p}: unsupported volume format; use .nii, .nii.gz, .npy, a DICOM file or a DICOM series folder")


def phantom(shape_whd: tuple[int, int, int], seed: int = 0) -> Volume:
    """A synthetic CT-like torso, width x height x depth voxels (see `segbench.inputs.ct_phantom`)."""
    array, spacing = phantom_array(shape_whd, seed)
    return Volume(array, spacing, "phantom")


def phantom_from_text(text: str, seed: int = 0) -> Volume:
    """A phantom sized by a `--volume` string such as "512x512x200"."""
    return phantom(parse_volume_shape(text), seed)
