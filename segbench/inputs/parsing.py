"""Parsers for the size options: `--resolution 720p|WxH`, `--volume WxHxD`, `--roi WxHxD`.

Every parser takes the user's text and returns numbers, or raises InputError with one line saying
what was wrong and what is accepted. Nothing else escapes (hypothesis checks that in the tests).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from segbench.errors import InputError

# Named video resolutions as (h, w); 480p is the 16:9 854x480, as video tools use it.
RESOLUTIONS: dict[str, tuple[int, int]] = {
    "360p": (360, 640),
    "480p": (480, 854),
    "720p": (720, 1280),
    "1080p": (1080, 1920),
    "1440p": (1440, 2560),
    "2160p": (2160, 3840),
    "4k": (2160, 3840),
}
FRAME_SIDE = (16, 8192)  # pixels, inclusive
VOLUME_PLANE_SIDE = (16, 4096)  # W and H of a phantom
VOLUME_DEPTH = (1, 4096)  # slices
MAX_VOLUME_VOXELS = 2**31  # 8 GiB as float32: beyond that a phantom is a typo, not a benchmark
ROI_SIDE = (8, 1024)

# ASCII digits only and at most 6 of them: int() on a 5000-digit string raises ValueError.
_NUM = r"\s*([0-9]{1,6})\s*"
_SEP = r"[xX×]"
_PAIR = re.compile(rf"^{_NUM}{_SEP}{_NUM}$", re.ASCII)
_TRIPLE = re.compile(rf"^{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}$", re.ASCII)
_SINGLE = re.compile(rf"^{_NUM}$", re.ASCII)


class WHD(NamedTuple):
    """A 3D size as the user writes it, width x height x depth (x, y, z).

    Compares equal to the plain tuple (w, h, d). Arrays in segbench are (D, H, W): use `.dhw`.
    """

    w: int
    h: int
    d: int

    @property
    def dhw(self) -> tuple[int, int, int]:
        return (self.d, self.h, self.w)

    def __str__(self) -> str:
        return f"{self.w}x{self.h}x{self.d}"


def _text(value: object, option: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{option} must be text such as the examples in --help, got {value!r}")
    return value


def _check_side(value: int, bounds: tuple[int, int], what: str, text: str) -> int:
    lo, hi = bounds
    if not lo <= value <= hi:
        raise InputError(f"{what} {value} in {text!r} is out of range: it must be between {lo} and {hi}")
    return value


def parse_resolution(text: str) -> tuple[int, int]:
    """ "720p", "4k" or "WxH" (e.g. "640x360") -> (h, w)."""
    text = _text(text, "resolution")
    key = text.strip().lower()
    if key in RESOLUTIONS:
        return RESOLUTIONS[key]
    match = _PAIR.match(text)
    if not match:
        names = ", ".join(RESOLUTIONS)
        raise InputError(f"resolution {text!r} is not one of {names} or WxH (e.g. 640x360)")
    w, h = (int(g) for g in match.groups())
    _check_side(w, FRAME_SIDE, "width", text)
    _check_side(h, FRAME_SIDE, "height", text)
    return (h, w)


def format_resolution(size: tuple[int, int]) -> str:
    """(h, w) -> "WxH", the inverse of parse_resolution for explicit sizes."""
    h, w = size
    return f"{w}x{h}"


def parse_volume_shape(text: str) -> WHD:
    """ "512x512x200" (width x height x slices) -> WHD(w, h, d), for a synthetic phantom."""
    text = _text(text, "volume shape")
    match = _TRIPLE.match(text)
    if not match:
        raise InputError(f"volume shape {text!r} is not WxHxD (e.g. 512x512x200)")
    w, h, d = (int(g) for g in match.groups())
    _check_side(w, VOLUME_PLANE_SIDE, "width", text)
    _check_side(h, VOLUME_PLANE_SIDE, "height", text)
    _check_side(d, VOLUME_DEPTH, "depth", text)
    if w * h * d > MAX_VOLUME_VOXELS:
        raise InputError(f"volume shape {text!r} has {w * h * d:,} voxels, more than the {MAX_VOLUME_VOXELS:,} allowed")
    return WHD(w, h, d)


def parse_roi(text: str) -> WHD:
    """ "96x96x96" or just "96" (a cube) -> WHD(w, h, d), the sliding-window size."""
    text = _text(text, "roi")
    triple, single = _TRIPLE.match(text), _SINGLE.match(text)
    if triple:
        w, h, d = (int(g) for g in triple.groups())
    elif single:
        w = h = d = int(single.group(1))
    else:
        raise InputError(f"roi {text!r} is not WxHxD (e.g. 96x96x96) or one side for a cube (e.g. 96)")
    for value, what in ((w, "roi width"), (h, "roi height"), (d, "roi depth")):
        _check_side(value, ROI_SIDE, what, text)
    return WHD(w, h, d)
