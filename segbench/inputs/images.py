"""Still images: JPEG/PNG files or folders, scikit-image's sample photos, or synthetic scenes.

Decoding goes through Pillow with its safety limits as they are: `Image.MAX_IMAGE_PIXELS` stays
set (a decompression bomb is refused before its pixels are allocated) and `LOAD_TRUNCATED_IMAGES`
stays off (a cut-off file is an error, not a half-grey image). Every image comes back as HxWx3
uint8 RGB whatever it was stored as (greyscale, palette, RGBA, 16-bit).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageFile, ImageOps

from segbench.errors import InputError
from segbench.inputs import synthetic
from segbench.inputs._files import IMAGE_SUFFIXES, decode_error, existing_path, files_in, non_empty_file

# Real photos shipped inside scikit-image's wheel (no download), in the order sample_images uses.
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")


class InputNote(UserWarning):
    """Something about the inputs the user should know but that does not stop the run."""


@dataclass(frozen=True)
class Image:
    """One decoded image. `array` is HxWx3 uint8 RGB; `source_size` is (h, w) as decoded."""

    array: np.ndarray = field(repr=False)
    path: Path | None  # None for sample and synthetic images
    name: str  # file name, "skimage:astronaut" or "synthetic:3": what a record can show

    @property
    def source_size(self) -> tuple[int, int]:
        return (int(self.array.shape[0]), int(self.array.shape[1]))


def _to_rgb(img: PILImage.Image) -> np.ndarray:
    """HxWx3 uint8 RGB from any Pillow mode.

    16-bit and 32-bit integer greyscale is scaled down, not clipped: `convert("RGB")` would clip
    every value above 255 to white. Alpha is dropped (the colour channels are what a model sees).
    """
    if img.mode.startswith("I;16") or img.mode == "I":
        # Only PNG is accepted, so "I" holds 16-bit samples too: keep the top 8 bits.
        grey = np.clip(np.asarray(img).astype(np.int64), 0, 65535)
        grey8 = (grey >> 8).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey8[..., None], 3, axis=2))
    if img.mode == "F":
        grey = np.nan_to_num(np.asarray(img, dtype=np.float32))
        return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def decode_image(path: Path) -> np.ndarray:
    """One JPEG/PNG file as HxWx3 uint8 RGB, or InputError naming the file and the problem."""
    non_empty_file(path)
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone in this process switched Pillow to accept cut-off files; refuse to rely on it.
        raise InputError(f"{path}: PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on, so truncated images cannot be detected")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)  # warns at 1x, raises at 2x
            with PILImage.open(path, formats=("JPEG", "PNG")) as img:
                img.load()  # decode now, inside the try: truncation shows up here
                img = ImageOps.exif_transpose(img)  # phone photos: honour the orientation tag
                return _to_rgb(img)
    except PILImage.DecompressionBombError as exc:
        raise InputError(
            f"{path}: image is too large to decode safely ({exc}); "
            "raise PIL.Image.MAX_IMAGE_PIXELS only for files you trust"
        ) from exc
    except PILImage.UnidentifiedImageError as exc:
        raise InputError(f"{path}: not a JPEG or PNG image") from exc
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError... on corrupt data
        if isinstance(exc, OSError) and "truncated" in str(exc):
            raise InputError(f"{path}: image file is truncated") from exc
        raise decode_error(path, "image", exc) from exc


def _expand(paths: Sequence[str | Path]) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise InputError("no image files or folders given")
    files: list[Path] = []
    for raw in paths:
        p = existing_path(raw, "image file or folder")
        if p.is_dir():
            found = files_in(p, IMAGE_SUFFIXES)
            if not found:
                raise InputError(
                    f"{p}: folder holds no JPEG or PNG images (.jpg, .jpeg, .png; subfolders are not searched)"
                )
            files.extend(found)
        else:
            files.append(p)
    return files


def load_images(paths: Sequence[str | Path]) -> list[Image]:
    """Decode image files and every JPEG/PNG directly inside folders (naturally sorted), in order."""
    return [Image(decode_image(p), p, p.name) for p in _expand(paths)]


def resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 resized to (h, w) with Pillow's antialiasing bilinear filter."""
    h, w = size
    if array.shape[:2] == (h, w):
        return array
    return np.asarray(PILImage.fromarray(array).resize((w, h), PILImage.Resampling.BILINEAR))


def _check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"number of images must be a positive integer, got {n!r}")
    return int(n)


def synthetic_images(n: int, size: tuple[int, int] = (480, 640), seed: int = 0) -> list[Image]:
    """`n` deterministic HxWx3 scenes (textured shapes on a textured background), (h, w) = `size`."""
    n = _check_count(n)
    h, w = synthetic.check_size(size)
    images = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        array = synthetic.scene((h, w), rng, n_shapes=int(rng.integers(6, 13)))
        images.append(Image(array, None, f"synthetic:{i}"))
    return images


def sample_images(n: int, size: tuple[int, int] | None = None) -> list[Image]:
    """`n` real photos from scikit-image's bundled data, cycled if `n` exceeds them.

    Without `size` each photo keeps its own size (they differ); with `size` (h, w) all are resized.
    scikit-image is a test extra: without it, synthetic scenes come back with an InputNote warning.
    """
    n = _check_count(n)
    if size is not None:
        size = synthetic.check_size(size)
    try:
        from skimage import data as skdata
    except ImportError:
        warnings.warn(
            "scikit-image is not installed: using synthetic images instead of sample photos",
            InputNote,
            stacklevel=2,
        )
        return synthetic_images(n, size or (480, 640))
    images = []
    for i in range(n):
        name = SKIMAGE_PHOTOS[i % len(SKIMAGE_PHOTOS)]
        array = np.ascontiguousarray(getattr(skdata, name)()[..., :3], dtype=np.uint8)
        if size is not None:
            array = resize(array, size)
        images.append(Image(array, None, f"skimage:{name}"))
    return images
