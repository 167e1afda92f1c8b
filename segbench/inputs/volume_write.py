"""Writing volumes as NIfTI, `.npy` or a DICOM CT series: for tests, examples and users' own inputs.

Each writer produces what `read_volume` reads back to the same array (DICOM to within its
rescale quantisation). Files appear whole or not at all (atomic rename).
"""

from __future__ import annotations

import datetime
import gzip
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from segbench.errors import InputError
from segbench.inputs.volume import Volume
from segbench.atomic import atomic_write_bytes

DEFAULT_SPACING = (1.0, 1.0, 1.0)


def write_npy(volume: Volume, path: str | os.PathLike) -> Path:
    """Save the (D, H, W) float32 array with numpy.save."""
    buffer = io.BytesIO()
    np.save(buffer, volume.array, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def write_nifti(volume: Volume, path: str | os.PathLike) -> Path:
    """Save as NIfTI-1 (.nii, or gzipped for .nii.gz) with the spacing on the affine's diagonal."""
    import nibabel as nib

    z, y, x = volume.spacing or DEFAULT_SPACING
    img = nib.Nifti1Image(np.ascontiguousarray(volume.array.T), affine=np.diag([x, y, z, 1.0]))
    img.header.set_zooms((x, y, z))
    data = img.to_bytes()
    if str(path).lower().endswith(".gz"):
        data = gzip.compress(data, compresslevel=1)
    atomic_write_bytes(path, data)
    return Path(path)


def _quantise(array: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Stored int16 values and (slope, intercept) so that stored * slope + intercept ~ array."""
    lo, hi = float(array.min()), float(array.max())
    if np.array_equal(array, np.round(array)) and lo >= -32768 and hi <= 32767:
        return array.astype(np.int16), 1.0, 0.0
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    intercept = lo + 32768.0 * slope  # stored -32768 maps to lo
    stored = np.clip(np.round((array - intercept) / slope), -32768, 32767).astype(np.int16)
    return stored, slope, intercept


def _slice_dataset(stored: np.ndarray, k: int, volume: Volume, uids: dict[str, str], slope: float, intercept: float):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    dz, dy, dx = volume.spacing or DEFAULT_SPACING
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.Modality = "CT"
    ds.PatientName = "Phantom^Segbench"
    ds.PatientID = "segbench"
    ds.StudyDate = datetime.date.today().strftime("%Y%m%d")
    ds.SeriesNumber = 1
    ds.InstanceNumber = k + 1
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0.0, 0.0, float(k * dz)]
    ds.PixelSpacing = [float(dy), float(dx)]
    ds.SliceThickness = float(dz)
    ds.RescaleSlope = f"{slope:.10g}"
    ds.RescaleIntercept = f"{intercept:.10g}"
    ds.RescaleType = "HU"
    ds.set_pixel_data(stored, "MONOCHROME2", 16, generate_instance_uid=False)
    return ds


def write_dicom_series(volume: Volume, directory: str | os.PathLike) -> Path:
    """Write one CT slice per file (00000.dcm...) into `directory`, created and renamed into place.

    The slices are uncompressed, int16 with RescaleSlope/Intercept, ordered by ImagePositionPatient
    and InstanceNumber; `directory` must not exist or be empty.
    """
    from pydicom.uid import generate_uid

    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target}: exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    stored, slope, intercept = _quantise(volume.array)
    uids = {"study": generate_uid(), "series": generate_uid(), "frame": generate_uid()}
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for k in range(stored.shape[0]):
            ds = _slice_dataset(stored[k], k, volume, uids, slope, intercept)
            ds.save_as(tmp / f"{k:05d}.dcm", enforce_file_format=True)
        tmp.chmod(0o755)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
