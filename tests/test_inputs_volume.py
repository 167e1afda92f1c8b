"""Volume inputs: NIfTI, DICOM series and .npy written in tmp_path and read back, hostile volumes,
the phantom, and the --volume / --roi parsers."""

from __future__ import annotations

import gzip
import shutil

import nibabel as nib
import numpy as np
import pydicom
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from segbench.errors import InputError
from segbench.inputs.parsing import (
    MAX_VOLUME_VOXELS,
    ROI_SIDE,
    VOLUME_DEPTH,
    VOLUME_PLANE_SIDE,
    parse_roi,
    parse_volume_shape,
)
from segbench.inputs.volume import Volume, phantom, read_volume
from segbench.inputs.volume_write import write_dicom_series, write_nifti, write_npy


def _shipped(name: str) -> str:
    """A test file shipped inside pydicom's wheel (get_testdata_file would download missing ones)."""
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom does not ship {name}")
    return path


@pytest.fixture(scope="module")
def small() -> Volume:
    return phantom((24, 20, 6), seed=1)


# --- phantom ------------------------------------------------------------------------------------


def test_phantom_shape_values_and_determinism():
    vol = phantom((40, 32, 12), seed=0)
    assert vol.array.shape == (12, 32, 40) and vol.array.dtype == np.float32
    assert vol.shape_whd == (40, 32, 12) and vol.source == "phantom"
    assert vol.array.min() >= -1000 and vol.array.max() <= 1500
    assert (vol.array <= -950).mean() > 0.1  # air around the body
    assert (vol.array >= 700).any()  # bone
    assert ((vol.array > 0) & (vol.array < 100)).mean() > 0.2  # soft tissue
    assert vol.spacing is not None and all(s > 0 for s in vol.spacing)
    np.testing.assert_array_equal(vol.array, phantom((40, 32, 12), seed=0).array)
    assert not np.array_equal(vol.array, phantom((40, 32, 12), seed=1).array)


def test_phantom_has_lungs_near_the_top_and_not_the_bottom():
    vol = phantom((64, 64, 20))
    lung = (vol.array > -900) & (vol.array < -750)
    assert lung[3].mean() > 0.05 and lung[-2].mean() < 0.01


def test_phantom_rejects_a_zero_side():
    with pytest.raises(InputError, match="zero or negative side"):
        phantom((32, 0, 4))


# --- .npy ---------------------------------------------------------------------------------------


def test_npy_round_trip(tmp_path, small):
    vol = read_volume(write_npy(small, tmp_path / "v.npy"))
    np.testing.assert_array_equal(vol.array, small.array)
    assert vol.spacing is None and vol.source.endswith("v.npy")


@pytest.mark.parametrize("shape", [(1, 4, 5, 6), (4, 5, 6, 1)])
def test_npy_4d_with_singleton_channel_is_squeezed(tmp_path, shape):
    np.save(tmp_path / "c.npy", np.ones(shape, np.int16))
    vol = read_volume(tmp_path / "c.npy")
    assert vol.array.shape == (4, 5, 6) and vol.array.dtype == np.float32


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((5, 6), r"volume has 2 dimensions \(5, 6\); segbench needs 3 \(D, H, W\) \(a single slice"),
        ((1, 1, 4, 5, 6), "volume has 5 dimensions"),
        ((2, 4, 5, 6), r"volume is 4D \(2, 4, 5, 6\) with several channels or time points"),
        ((4, 0, 6), r"volume has a zero-size axis \(4, 0, 6\)"),
        ((1, 0, 5, 6), "volume has a zero-size axis"),
    ],
)
def test_npy_wrong_shapes(tmp_path, shape, message):
    path = tmp_path / "bad.npy"
    np.save(path, np.zeros(shape, np.float32))
    with pytest.raises(InputError, match=rf"bad\.npy: {message}"):
        read_volume(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_voxels_are_refused_with_count_and_place(tmp_path, bad):
    array = np.zeros((3, 4, 5), np.float32)
    array[1, 2, 3] = bad
    array[2, 0, 0] = bad
    np.save(tmp_path / "nan.npy", array)
    with pytest.raises(InputError, match=r"nan\.npy: volume has 2 NaN or infinite voxels \(first at z=1, y=2, x=3"):
        read_volume(tmp_path / "nan.npy")


def test_values_beyond_float32_count_as_infinite(tmp_path):
    np.save(tmp_path / "huge.npy", np.full((2, 2, 2), 1e300, np.float64))
    with pytest.raises(InputError, match="8 NaN or infinite voxels"):
        read_volume(tmp_path / "huge.npy")


def test_pickled_npy_is_refused_not_executed(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match=r"obj\.npy: holds Python objects \(a pickle\), which segbench does not load"):
        read_volume(tmp_path / "obj.npy")


def test_complex_npy_is_refused(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((2, 2, 2), np.complex64))
    with pytest.raises(InputError, match="complex64 values; segbench needs real numbers"):
        read_volume(tmp_path / "c.npy")


def test_npz_named_npy_and_garbage(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 2, 2)))
    shutil.copy(tmp_path / "a.npz", tmp_path / "a.npy")
    with pytest.raises(InputError, match=r"a\.npy: is an \.npz archive, not an \.npy array"):
        read_volume(tmp_path / "a.npy")
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(InputError, match=r"text\.npy: not an \.npy file"):
        read_volume(tmp_path / "text.npy")
    data = write_npy(phantom((16, 16, 2)), tmp_path / "whole.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.npy: cannot read \.npy array"):
        read_volume(tmp_path / "cut.npy")


# --- NIfTI --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v.nii", "v.nii.gz"])
def test_nifti_round_trip_with_spacing(tmp_path, small, name):
    vol = read_volume(write_nifti(Volume(small.array, (2.5, 0.75, 0.5), "x"), tmp_path / name))
    np.testing.assert_allclose(vol.array, small.array, atol=1e-3)
    assert vol.array.shape == small.array.shape
    assert vol.spacing == pytest.approx((2.5, 0.75, 0.5))


def test_nifti_axes_are_reversed_to_dhw(tmp_path):
    data = np.zeros((5, 4, 3), np.float32)  # NIfTI (x, y, z)
    data[4, 1, 2] = 7.0
    nib.save(nib.Nifti1Image(data, np.diag([0.5, 0.6, 3.0, 1.0])), tmp_path / "axes.nii")
    vol = read_volume(tmp_path / "axes.nii")
    assert vol.array.shape == (3, 4, 5) and vol.array[2, 1, 4] == 7.0
    assert vol.spacing == pytest.approx((3.0, 0.6, 0.5))


def test_nifti_scaling_is_applied(tmp_path):
    img = nib.Nifti1Image(np.full((3, 3, 3), 10, np.int16), np.eye(4))
    img.header.set_slope_inter(2.0, -1000.0)
    nib.save(img, tmp_path / "scaled.nii")
    assert (read_volume(tmp_path / "scaled.nii").array == -980.0).all()


def test_nifti_4d_single_timepoint_is_squeezed_and_5d_refused(tmp_path):
    nib.save(nib.Nifti1Image(np.ones((5, 4, 3, 1), np.float32), np.eye(4)), tmp_path / "t1.nii")
    assert read_volume(tmp_path / "t1.nii").array.shape == (3, 4, 5)
    nib.save(nib.Nifti1Image(np.ones((5, 4, 3, 2), np.float32), np.eye(4)), tmp_path / "t2.nii")
    with pytest.raises(InputError, match="several channels or time points"):
        read_volume(tmp_path / "t2.nii")
    nib.save(nib.Nifti1Image(np.ones((5, 4, 3, 1, 2), np.float32), np.eye(4)), tmp_path / "5d.nii")
    with pytest.raises(InputError, match=r"5d\.nii: volume has 5 dimensions"):
        read_volume(tmp_path / "5d.nii")
    nib.save(nib.Nifti1Image(np.ones((5, 4), np.float32), np.eye(4)), tmp_path / "2d.nii")
    with pytest.raises(InputError, match="volume has 2 dimensions"):
        read_volume(tmp_path / "2d.nii")


def test_nifti_with_nan_is_refused(tmp_path):
    data = np.zeros((4, 4, 4), np.float32)
    data[0, 1, 2] = np.nan
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "nan.nii.gz")
    with pytest.raises(InputError, match=r"1 NaN or infinite voxels \(first at z=2, y=1, x=0"):
        read_volume(tmp_path / "nan.nii.gz")


def test_broken_nifti_files(tmp_path, small):
    (tmp_path / "text.nii").write_text("not a nifti header" * 30)
    with pytest.raises(InputError, match=r"text\.nii: cannot read NIfTI file"):
        read_volume(tmp_path / "text.nii")
    (tmp_path / "empty.nii.gz").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.nii\.gz: file is empty"):
        read_volume(tmp_path / "empty.nii.gz")
    data = write_nifti(small, tmp_path / "whole.nii.gz").read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.nii\.gz: cannot read NIfTI file"):
        read_volume(tmp_path / "cut.nii.gz")
    (tmp_path / "plain.nii.gz").write_bytes(gzip.compress(b"\0" * 400))
    with pytest.raises(InputError, match=r"plain\.nii\.gz: cannot read NIfTI file"):
        read_volume(tmp_path / "plain.nii.gz")


# --- DICOM --------------------------------------------------------------------------------------


def test_dicom_series_round_trip(tmp_path, small):
    folder = write_dicom_series(Volume(small.array.round(), (2.0, 0.8, 0.7), "x"), tmp_path / "ct")
    assert len(list(folder.glob("*.dcm"))) == small.array.shape[0]
    vol = read_volume(folder)
    np.testing.assert_array_equal(vol.array, small.array.round())  # integer HU: exact through int16
    assert vol.spacing == pytest.approx((2.0, 0.8, 0.7))
    assert vol.source == str(folder)


def test_dicom_rescale_slope_and_intercept_are_applied(tmp_path):
    array = np.linspace(-0.5, 3.25, 2 * 6 * 7, dtype=np.float32).reshape(2, 6, 7)  # not integers
    folder = write_dicom_series(Volume(array, (1.0, 1.0, 1.0), "x"), tmp_path / "mr")
    assert float(pydicom.dcmread(next(folder.iterdir())).RescaleSlope) != 1.0
    np.testing.assert_allclose(read_volume(folder).array, array, atol=1e-4)


def test_dicom_slices_are_sorted_by_position_not_file_name(tmp_path, small):
    folder = write_dicom_series(small, tmp_path / "ct")
    files = sorted(folder.iterdir())
    # Reverse the names (z=0 slice gets the last name) and scramble the instance numbers.
    for f in files:
        f.rename(f.with_name("tmp_" + f.name))
    for i, f in enumerate(sorted(folder.iterdir())):
        ds = pydicom.dcmread(f)
        ds.InstanceNumber = (i * 7) % len(files) + 1
        ds.save_as(folder / f"slice{len(files) - i}.dcm")
        f.unlink()
    np.testing.assert_allclose(read_volume(folder).array, small.array, atol=0.5)


def test_dicom_without_positions_falls_back_to_instance_number(tmp_path, small):
    folder = write_dicom_series(small, tmp_path / "ct")
    for i, f in enumerate(sorted(folder.iterdir())):
        ds = pydicom.dcmread(f)
        del ds.ImagePositionPatient
        ds.InstanceNumber = len(small.array) - i  # numbered in reverse
        ds.save_as(f)
    vol = read_volume(folder)
    np.testing.assert_allclose(vol.array, small.array[::-1], atol=0.5)


def test_dicom_ignores_non_dicom_files_in_the_folder(tmp_path, small):
    folder = write_dicom_series(small, tmp_path / "ct")
    (folder / "README.txt").write_text("exported by a scanner")
    (folder / "thumb.jpg").write_bytes(b"\xff\xd8\xff" + b"0" * 300)
    assert read_volume(folder).array.shape == small.array.shape


def test_pydicom_shipped_ct_slice(tmp_path):
    source = _shipped("CT_small.dcm")
    ds = pydicom.dcmread(source)
    (tmp_path / "one").mkdir()
    shutil.copy(source, tmp_path / "one" / "IM0001")  # no suffix, as scanners often write them
    vol = read_volume(tmp_path / "one")
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(vol.array[0], expected.astype(np.float32))
    assert vol.array.shape == (1, 128, 128)
    with pytest.raises(InputError, match=r"CT_small\.dcm: a single-frame DICOM file is one 2D slice"):
        read_volume(source)


def test_pydicom_shipped_multiframe_file():
    vol = read_volume(_shipped("rtdose.dcm"))
    assert vol.array.shape == (15, 10, 10)
    assert vol.spacing == pytest.approx((5.0, 10.0, 10.0))


def test_truncated_dicom_is_named(tmp_path):
    (tmp_path / "s").mkdir()
    shutil.copy(_shipped("MR_truncated.dcm"), tmp_path / "s" / "a.dcm")
    with pytest.raises(InputError, match=r"a\.dcm: cannot read DICOM pixel data: The number of bytes"):
        read_volume(tmp_path / "s")


def test_empty_folder_and_folder_without_dicom(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: no DICOM image files found \(0 files"):
        read_volume(tmp_path / "empty")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.dcm").write_text("not dicom")
    with pytest.raises(InputError, match=r"docs: no DICOM image files found \(1 files"):
        read_volume(tmp_path / "docs")


def test_mixed_slice_sizes(tmp_path):
    folder = write_dicom_series(phantom((16, 16, 3)), tmp_path / "a")
    other = write_dicom_series(phantom((20, 16, 1)), tmp_path / "b")
    odd = pydicom.dcmread(next(other.iterdir()))
    odd.SeriesInstanceUID = pydicom.dcmread(folder / "00000.dcm").SeriesInstanceUID
    odd.ImagePositionPatient = [0.0, 0.0, 99.0]
    odd.save_as(folder / "00003.dcm")
    with pytest.raises(InputError, match=r"00003\.dcm: slice is 20x16 but 00000\.dcm is 16x16"):
        read_volume(folder)


def test_two_series_in_one_folder(tmp_path):
    folder = write_dicom_series(phantom((16, 16, 2)), tmp_path / "a")
    other = write_dicom_series(phantom((16, 16, 2)), tmp_path / "b")
    for f in other.iterdir():
        shutil.copy(f, folder / f"b_{f.name}")
    with pytest.raises(InputError, match="holds 2 DICOM series; put one series per folder"):
        read_volume(folder)


def test_duplicate_slice_positions(tmp_path):
    folder = write_dicom_series(phantom((16, 16, 3)), tmp_path / "a")
    ds = pydicom.dcmread(folder / "00002.dcm")
    ds.ImagePositionPatient = pydicom.dcmread(folder / "00001.dcm").ImagePositionPatient
    ds.save_as(folder / "00002.dcm")
    with pytest.raises(InputError, match="00001.dcm and 00002.dcm are at the same position"):
        read_volume(folder)


def test_dicom_series_writer_refuses_a_full_folder(tmp_path, small):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InputError, match="not an empty folder"):
        write_dicom_series(small, tmp_path / "full")


# --- other files --------------------------------------------------------------------------------


def test_missing_and_unsupported_volume_files(tmp_path):
    with pytest.raises(InputError, match=r"gone\.nii: no such volume file or DICOM folder"):
        read_volume(tmp_path / "gone.nii")
    (tmp_path / "scan.mha").write_text("ObjectType = Image")
    with pytest.raises(InputError, match=r"scan\.mha: unsupported volume format"):
        read_volume(tmp_path / "scan.mha")


# --- --volume and --roi -------------------------------------------------------------------------


def test_parse_volume_shape_examples():
    shape = parse_volume_shape("512x512x200")
    assert shape == (512, 512, 200) and shape.dhw == (200, 512, 512) and str(shape) == "512x512x200"
    assert parse_volume_shape(" 64 X 48 x 3 ") == (64, 48, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("512x512", "is not WxHxD"),
        ("512x512x0", "depth 0 in '512x512x0' is out of range"),
        ("8x512x10", "width 8"),
        ("4096x4096x4096", "voxels, more than the"),
        ("axbxc", "is not WxHxD"),
    ],
)
def test_parse_volume_shape_errors(text, message):
    with pytest.raises(InputError, match=message):
        parse_volume_shape(text)


def test_parse_roi_examples_and_errors():
    assert parse_roi("96x96x96") == (96, 96, 96)
    assert parse_roi("128x128x64").dhw == (64, 128, 128)
    assert parse_roi("96") == (96, 96, 96)
    with pytest.raises(InputError, match="roi depth 4 in '96x96x4' is out of range"):
        parse_roi("96x96x4")
    with pytest.raises(InputError, match="is not WxHxD"):
        parse_roi("96x96")
    with pytest.raises(InputError, match="must be text"):
        parse_roi(None)  # type: ignore[arg-type]


plane = st.integers(*VOLUME_PLANE_SIDE)
depth = st.integers(*VOLUME_DEPTH)
roi_side = st.integers(*ROI_SIDE)


@given(w=plane, h=plane, d=depth)
def test_volume_shape_round_trips_or_is_too_big(w, h, d):
    text = f"{w}x{h}x{d}"
    if w * h * d > MAX_VOLUME_VOXELS:
        with pytest.raises(InputError, match="voxels"):
            parse_volume_shape(text)
    else:
        shape = parse_volume_shape(text)
        assert shape == (w, h, d) and parse_volume_shape(str(shape)) == shape


@given(w=roi_side, h=roi_side, d=roi_side)
def test_roi_round_trips(w, h, d):
    roi = parse_roi(f"{w}x{h}x{d}")
    assert roi == (w, h, d) and parse_roi(str(roi)) == roi and roi.dhw == (d, h, w)


@given(st.integers(-10, 10**7), st.integers(-10, 10**7), st.integers(-10, 10**7))
def test_out_of_range_sides_are_input_errors(w, h, d):
    for parse, lo_hi in ((parse_volume_shape, None), (parse_roi, ROI_SIDE)):
        try:
            result = parse(f"{w}x{h}x{d}")
        except InputError:
            continue
        assert result == (w, h, d)
        if lo_hi:
            assert all(lo_hi[0] <= v <= lo_hi[1] for v in result)


@given(st.text(max_size=40))
def test_any_text_gives_a_shape_or_input_error(text):
    for parse in (parse_volume_shape, parse_roi):
        try:
            result = parse(text)
        except InputError:
            continue
        assert len(result) == 3 and all(isinstance(v, int) and v >= 1 for v in result)
