"""DICOM volumes with pydicom: a folder holding one series of slices, or one multi-frame file.

Slices are ordered by their position along the slice normal (ImagePositionPatient projected on the
cross product of ImageOrientationPatient's row and column), else by InstanceNumber, else by file
name; stored values become physical ones (Hounsfield units for CT) through the modality LUT
(RescaleSlope/RescaleIntercept). Files without the DICOM preamble ("DICM") are not DICOM here,
which is what lets a series folder hold a README or a thumbnail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut

from segbench.errors import InputError
from segbench.inputs._files import decode_error, decoding, natural_key

Spacing = tuple[float, float, float]


def is_dicom_file(path: Path) -> bool:
    """True when the file carries the DICOM preamble: 128 bytes then b"DICM"."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def _header(path: Path) -> pydicom.Dataset | None:
    """The header of a DICOM image file, or None for anything that is not one."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        return None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a file claiming to be DICOM but broken
        if not is_dicom_file(path):
            return None
        raise decode_error(path, "DICOM header", exc) from exc
    if "Rows" not in ds or "Columns" not in ds:
        return None  # DICOMDIR, structured reports, RT structures: no pixels
    return ds


def _pixels(path: Path) -> tuple[pydicom.Dataset, np.ndarray]:
    with decoding(path, "DICOM pixel data"):
        ds = pydicom.dcmread(path)
        stored = ds.pixel_array
        values = apply_modality_lut(stored, ds)
    return ds, np.asarray(values, dtype=np.float32)


def _pixel_spacing(ds: pydicom.Dataset) -> tuple[float, float] | None:
    """(row spacing, column spacing) in mm, from the top level or shared functional groups."""
    spacing = ds.get("PixelSpacing")
    if spacing is None:
        try:
            spacing = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
        except (AttributeError, IndexError):
            return None
    try:
        return (float(spacing[0]), float(spacing[1]))
    except (TypeError, ValueError, IndexError):
        return None


def _slice_gap(ds: pydicom.Dataset) -> float | None:
    for key in ("SpacingBetweenSlices", "SliceThickness"):
        value = ds.get(key)
        if value not in (None, ""):
            try:
                gap = abs(float(value))
            except (TypeError, ValueError):
                continue
            if gap > 0:
                return gap
    return None


def _spacing(z: float | None, ds: pydicom.Dataset) -> Spacing | None:
    yx = _pixel_spacing(ds)
    if z is None or yx is None:
        return None
    return (float(z), yx[0], yx[1])


def _positions(headers: list[tuple[Path, pydicom.Dataset]]) -> list[float] | None:
    """Each slice's distance along the slice normal, or None when a slice lacks its geometry."""
    try:
        iop = np.asarray(headers[0][1].ImageOrientationPatient, dtype=np.float64)
        normal = np.cross(iop[:3], iop[3:6])
        return [float(np.dot(np.asarray(ds.ImagePositionPatient, dtype=np.float64), normal)) for _, ds in headers]
    except (AttributeError, TypeError, ValueError, IndexError):
        return None


def _order(headers: list[tuple[Path, pydicom.Dataset]]) -> tuple[list[tuple[Path, pydicom.Dataset]], float | None]:
    """Slices sorted head to foot (or as numbered), and the gap between them in mm if known."""
    positions = _positions(headers)
    if positions is not None:
        order = sorted(range(len(headers)), key=lambda i: positions[i])
        ranked = [positions[i] for i in order]
        for (i, a), b in zip(enumerate(ranked), ranked[1:]):
            if abs(b - a) < 1e-4:
                first, second = headers[order[i]][0].name, headers[order[i + 1]][0].name
                raise InputError(
                    f"{headers[0][0].parent}: slices {first} and {second} are at the same position; "
                    "the folder may hold two acquisitions"
                )
        gap = float(np.median(np.diff(ranked))) if len(ranked) > 1 else _slice_gap(headers[0][1])
        return [headers[i] for i in order], gap
    try:
        ordered = sorted(headers, key=lambda item: int(item[1].InstanceNumber))
    except (AttributeError, TypeError, ValueError):
        ordered = headers  # already in natural file-name order
    return ordered, _slice_gap(headers[0][1])


def read_dicom_series(folder: Path) -> tuple[np.ndarray, Spacing | None]:
    """A folder holding one DICOM series -> ((D, H, W) float32 in physical units, spacing z/y/x mm)."""
    files = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")), key=natural_key)
    headers = [(p, ds) for p in files if (ds := _header(p)) is not None]
    if not headers:
        raise InputError(f"{folder}: no DICOM image files found ({len(files)} files looked at, none with pixel data)")
    series = {str(ds.get("SeriesInstanceUID", "")) for _, ds in headers}
    if len(series) > 1:
        raise InputError(f"{folder}: holds {len(series)} DICOM series; put one series per folder")
    first_path, first = headers[0]
    for path, ds in headers:
        if int(ds.get("SamplesPerPixel", 1)) != 1:
            raise InputError(
                f"{path}: colour DICOM (SamplesPerPixel={ds.SamplesPerPixel}); a CT/MR series is greyscale"
            )
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise InputError(f"{path}: a multi-frame file inside a series folder; pass that file on its own")
        if (ds.Rows, ds.Columns) != (first.Rows, first.Columns):
            raise InputError(
                f"{path}: slice is {ds.Columns}x{ds.Rows} but {first_path.name} is {first.Columns}x{first.Rows}; "
                "all slices of a series must be one size"
            )
    ordered, gap = _order(headers)
    volume = np.empty((len(ordered), int(first.Rows), int(first.Columns)), dtype=np.float32)
    for k, (path, _) in enumerate(ordered):
        _, values = _pixels(path)
        if values.shape != volume.shape[1:]:
            raise InputError(f"{path}: pixel data is {values.shape}, not the {volume.shape[1:]} its header says")
        volume[k] = values
    return volume, _spacing(gap, first)


def read_dicom_file(path: Path) -> tuple[np.ndarray, Spacing | None]:
    """One multi-frame DICOM file -> ((frames, H, W) float32, spacing if the file gives it)."""
    ds, values = _pixels(path)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise InputError(f"{path}: colour DICOM (SamplesPerPixel={ds.SamplesPerPixel}); a CT/MR volume is greyscale")
    if frames <= 1:
        raise InputError(f"{path}: a single-frame DICOM file is one 2D slice; pass the folder holding the whole series")
    gap = _slice_gap(ds)
    offsets = ds.get("GridFrameOffsetVector")  # RT dose grids give their slice positions this way
    if gap is None and offsets is not None and len(offsets) > 1:
        gap = abs(float(offsets[1]) - float(offsets[0])) or None
    return values, _spacing(gap, ds)
