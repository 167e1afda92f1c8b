"""Image inputs: real files written in tmp_path, hostile files, sample and synthetic images."""

from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageFile

from segbench.errors import InputError
from segbench.inputs.images import InputNote, load_images, sample_images, synthetic_images


def _write(path: Path, array: np.ndarray, fmt: str | None = None, **kwargs) -> Path:
    PILImage.fromarray(array).save(path, fmt, **kwargs)
    return path


def _rgb(h: int = 24, w: int = 32, value: int = 0) -> np.ndarray:
    rng = np.random.default_rng(value)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (CRC fixed, so only the size is a lie)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    idat = zlib.compress(b"\x00" * 16)
    body += struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + body


# --- reading real files -------------------------------------------------------------------------


def test_png_and_jpeg_files_decode_to_rgb_uint8(tmp_path):
    array = _rgb(24, 32)
    png = _write(tmp_path / "a.png", array)
    jpg = _write(tmp_path / "b.jpg", array, quality=95)
    images = load_images([png, str(jpg)])
    assert [im.name for im in images] == ["a.png", "b.jpg"]
    for im in images:
        assert im.array.shape == (24, 32, 3) and im.array.dtype == np.uint8
        assert im.source_size == (24, 32)
    assert images[0].path == png
    np.testing.assert_array_equal(images[0].array, array)  # PNG is lossless and stays RGB, not BGR


def test_folder_is_read_naturally_sorted_and_not_recursively(tmp_path):
    for i, name in enumerate(["10.png", "2.jpg", "1.PNG", "frame3.jpeg"]):
        _write(tmp_path / name, _rgb(value=i), "PNG" if name.lower().endswith("png") else "JPEG")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.jpg").write_bytes(b"")  # macOS resource forks and the like are skipped
    sub = tmp_path / "sub"
    sub.mkdir()
    _write(sub / "0.png", _rgb())
    names = [im.name for im in load_images([tmp_path])]
    assert names == ["1.PNG", "2.jpg", "10.png", "frame3.jpeg"]


def test_single_path_string_is_accepted(tmp_path):
    _write(tmp_path / "x.png", _rgb())
    assert len(load_images(str(tmp_path / "x.png"))) == 1


@pytest.mark.parametrize(
    ("mode", "make"),
    [
        ("L", lambda: np.full((8, 8), 77, np.uint8)),
        ("LA", lambda: np.dstack([np.full((8, 8), 77, np.uint8), np.full((8, 8), 5, np.uint8)])),
        ("RGBA", lambda: np.dstack([np.full((8, 8, 3), 77, np.uint8), np.zeros((8, 8), np.uint8)])),
    ],
)
def test_grey_and_alpha_images_become_rgb(tmp_path, mode, make):
    path = tmp_path / f"{mode}.png"
    PILImage.fromarray(make(), mode).save(path)
    (im,) = load_images([path])
    assert im.array.shape == (8, 8, 3)
    assert (im.array == 77).all()  # alpha dropped, grey copied into all three channels


def test_palette_image_becomes_rgb(tmp_path):
    path = tmp_path / "p.png"
    rgb = PILImage.fromarray(np.full((8, 8, 3), (200, 10, 30), np.uint8))
    rgb.convert("P", palette=PILImage.Palette.ADAPTIVE).save(path)
    (im,) = load_images([path])
    assert tuple(im.array[0, 0]) == (200, 10, 30)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    grey = np.array([[0, 256 * 100, 65535, 256 * 200]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    PILImage.fromarray(grey).save(path)
    assert PILImage.open(path).mode in ("I;16", "I")  # the case this test is about
    (im,) = load_images([path])
    np.testing.assert_array_equal(im.array[0, :, 0], [0, 100, 255, 200])
    assert im.array.dtype == np.uint8 and im.array.shape == (1, 4, 3)


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = PILImage.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    PILImage.fromarray(_rgb(10, 30)).save(path, exif=exif.tobytes())
    (im,) = load_images([path])
    assert im.source_size == (30, 10)


# --- hostile and broken files -------------------------------------------------------------------


def test_no_paths_is_an_error():
    with pytest.raises(InputError, match="no image files or folders given"):
        load_images([])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match=r"missing\.jpg: no such image file or folder"):
        load_images([tmp_path / "missing.jpg"])


def test_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(InputError, match="folder holds no JPEG or PNG images"):
        load_images([tmp_path])


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.jpg: file is empty \(0 bytes\)"):
        load_images([tmp_path / "empty.jpg"])


def test_text_file_named_jpg(tmp_path):
    (tmp_path / "fake.jpg").write_text("this is not a JPEG\n" * 10)
    with pytest.raises(InputError, match=r"fake\.jpg: not a JPEG or PNG image"):
        load_images([tmp_path / "fake.jpg"])


def test_other_formats_are_refused_even_when_named_png(tmp_path):
    path = tmp_path / "really_a_bmp.png"
    PILImage.fromarray(_rgb()).save(path, "BMP")
    with pytest.raises(InputError, match="not a JPEG or PNG image"):
        load_images([path])


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", "jpg"), ("PNG", "png")])
def test_truncated_files_are_errors(tmp_path, fmt, suffix):
    buffer = io.BytesIO()
    PILImage.fromarray(_rgb(64, 64)).save(buffer, fmt)
    data = buffer.getvalue()
    path = tmp_path / f"cut.{suffix}"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError, match=rf"cut\.{suffix}: image file is truncated"):
        load_images([path])


def test_truncated_files_are_refused_even_if_pillow_was_told_to_accept_them(tmp_path, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    _write(tmp_path / "ok.png", _rgb())
    with pytest.raises(InputError, match="LOAD_TRUNCATED_IMAGES is on"):
        load_images([tmp_path / "ok.png"])


def test_decompression_bomb_header_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_claiming(100_000, 100_000))  # 10 gigapixels claimed, 100 bytes on disk
    assert path.stat().st_size < 200
    with pytest.raises(InputError, match=r"bomb\.png: image is too large to decode safely"):
        load_images([path])


def test_pixel_limit_is_honoured(tmp_path, monkeypatch):
    _write(tmp_path / "big.png", _rgb(64, 64))
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)  # Pillow raises above twice the limit
    with pytest.raises(InputError, match="too large to decode safely"):
        load_images([tmp_path / "big.png"])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unreadable_file(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = _write(tmp_path / "locked.png", _rgb())
    path.chmod(0)
    with pytest.raises(InputError, match="cannot read"):
        load_images([path])


# --- sample and synthetic images ----------------------------------------------------------------


def test_synthetic_images_are_deterministic_and_have_structure():
    a = synthetic_images(3, (96, 128), seed=7)
    b = synthetic_images(3, (96, 128), seed=7)
    c = synthetic_images(3, (96, 128), seed=8)
    assert [im.name for im in a] == ["synthetic:0", "synthetic:1", "synthetic:2"]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.array, y.array)
    assert not np.array_equal(a[0].array, c[0].array)
    assert not np.array_equal(a[0].array, a[1].array)
    for im in a:
        assert im.array.shape == (96, 128, 3) and im.array.dtype == np.uint8
        grey = im.array.astype(np.float32).mean(axis=2)
        # Sharp object edges: a real share of pixels has a strong horizontal or vertical step...
        steps = np.maximum(np.abs(np.diff(grey, axis=0))[:, :-1], np.abs(np.diff(grey, axis=1))[:-1, :])
        assert (steps > 25).mean() > 0.005
        # ...and most of the image is smooth, unlike noise.
        assert (steps < 12).mean() > 0.6


def test_synthetic_images_reject_bad_arguments():
    with pytest.raises(InputError, match="positive integer"):
        synthetic_images(0)
    with pytest.raises(InputError, match="too small"):
        synthetic_images(1, (8, 64))


def test_sample_images_are_skimage_photos_cycled_and_resized():
    images = sample_images(8, (64, 80))
    assert images[0].name == "skimage:astronaut"
    assert images[7].name == images[0].name  # cycles past the seven photos
    assert all(im.array.shape == (64, 80, 3) and im.array.dtype == np.uint8 for im in images)
    native = sample_images(2)
    assert native[0].source_size == (512, 512) and native[1].source_size == (400, 600)


def test_sample_images_fall_back_to_synthetic_without_skimage(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)  # makes `import skimage...` raise ImportError
    with pytest.warns(InputNote, match="scikit-image is not installed"):
        images = sample_images(2, (32, 48))
    assert [im.name for im in images] == ["synthetic:0", "synthetic:1"]
    assert images[0].array.shape == (32, 48, 3)
