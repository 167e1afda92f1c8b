"""A synthetic CT-like torso of any size: body, lungs with vessels, organs, bone, gas and noise.

Values are Hounsfield-like (air -1000, fat -100, soft tissue 30..60, bone 300..1500) so windowing
and intensity normalisation see what a real CT gives them, and the organs give a 3D network
structure across slices. Anatomy is laid out in normalised coordinates (x, y in [-1, 1], depth
t in [0, 1] from the apex of the lungs down to the pelvis), so any W x H x D grid holds the whole
torso; the field of view is FOV_MM. Built slice by slice, touching only each shape's bounding box,
so a 512x512x200 phantom takes a few seconds and no more memory than the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from segbench.errors import InputError

FOV_MM = (300.0, 400.0, 400.0)  # z, y, x extent of the phantom in mm
HU_MIN, HU_MAX = -1000.0, 1500.0
AIR, FAT, SOFT, BLOOD, LIVER, SPLEEN, KIDNEY, LUNG, GAS = -1000, -100, 40, 50, 60, 45, 35, -850, -900
CANCELLOUS, CORTICAL, RIB, CONTRAST = 300, 1200, 1100, 180
NOISE_HU = 12.0


@dataclass(frozen=True)
class _Blob:
    """An ellipsoid: centre (x, y, t), radii (rx, ry, rt) in normalised units, and its value."""

    x: float
    y: float
    t: float
    rx: float
    ry: float
    rt: float
    value: float

    def section(self, t: float) -> tuple[float, float] | None:
        """In-plane radii of the slice through depth t, or None if the slice misses it."""
        f = 1.0 - ((t - self.t) / self.rt) ** 2
        if f <= 0:
            return None
        s = math.sqrt(f)
        return self.rx * s, self.ry * s


class _Plane:
    """One slice's pixel-centre coordinates and ellipse painting within bounding boxes."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        self.xs = ((np.arange(w, dtype=np.float32) + 0.5) / w * 2 - 1)[None, :]
        self.ys = ((np.arange(h, dtype=np.float32) + 0.5) / h * 2 - 1)[:, None]

    def ellipse(self, cx: float, cy: float, rx: float, ry: float) -> tuple[tuple[slice, slice], np.ndarray] | None:
        j0, j1 = max(0, math.floor((cx - rx + 1) / 2 * self.w)), min(self.w, math.ceil((cx + rx + 1) / 2 * self.w) + 1)
        i0, i1 = max(0, math.floor((cy - ry + 1) / 2 * self.h)), min(self.h, math.ceil((cy + ry + 1) / 2 * self.h) + 1)
        if j0 >= j1 or i0 >= i1 or rx <= 0 or ry <= 0:
            return None
        inside = ((self.xs[:, j0:j1] - cx) / rx) ** 2 + ((self.ys[i0:i1] - cy) / ry) ** 2 <= 1.0
        return (slice(i0, i1), slice(j0, j1)), inside

    def paint(
        self, out: np.ndarray, cx: float, cy: float, rx: float, ry: float, value: float, *, only: float | None = None
    ) -> None:
        """Set `value` inside the ellipse (only over voxels equal to `only`, when given)."""
        hit = self.ellipse(cx, cy, rx, ry)
        if hit is None:
            return
        box, inside = hit
        region = out[box]
        if only is not None:
            inside = inside & (region == only)
        region[inside] = value


def _organs(rng: np.random.Generator) -> list[_Blob]:
    """Soft organs with a little seeded variation in place and size, drawn in this order."""

    def j(v: float, spread: float = 0.04) -> float:
        return v + rng.uniform(-spread, spread)

    return [
        _Blob(j(-0.38), j(-0.05), 0.28, 0.27, 0.36, 0.25, LUNG),
        _Blob(j(0.38), j(-0.05), 0.28, 0.25, 0.36, 0.25, LUNG),
        _Blob(j(0.10), j(-0.12), 0.34, 0.22, 0.20, 0.13, BLOOD),  # heart
        _Blob(j(-0.35), j(0.00), 0.53, 0.36, 0.30, 0.16, LIVER),
        _Blob(j(0.45), j(0.12), 0.52, 0.12, 0.15, 0.10, SPLEEN),
        _Blob(j(-0.30), j(0.25), 0.68, 0.10, 0.14, 0.12, KIDNEY),
        _Blob(j(0.30), j(0.25), 0.68, 0.10, 0.14, 0.12, KIDNEY),
        _Blob(j(0.0, 0.02), j(0.25), 0.93, 0.15, 0.12, 0.08, 5.0),  # bladder
    ]


def _gas(rng: np.random.Generator, n: int = 14) -> list[_Blob]:
    """Bowel gas pockets scattered in the abdomen."""
    return [
        _Blob(
            x=rng.uniform(-0.5, 0.5),
            y=rng.uniform(-0.35, 0.2),
            t=rng.uniform(0.62, 0.9),
            rx=r,
            ry=r * rng.uniform(0.6, 1.0),
            rt=0.03,
            value=GAS,
        )
        for r in rng.uniform(0.03, 0.07, size=n)
    ]


def _vessels(rng: np.random.Generator, n: int = 40) -> np.ndarray:
    """Lung vessels as straight tubes: (x at t=0, y at t=0, dx/dt, dy/dt, radius) per row."""
    start = np.column_stack([rng.uniform(-0.65, 0.65, n), rng.uniform(-0.4, 0.3, n)])
    drift = rng.uniform(-0.3, 0.3, size=(n, 2))
    radius = rng.uniform(0.008, 0.02, n)
    return np.column_stack([start, drift, radius])


def _slice(plane: _Plane, t: float, organs: list[_Blob], gas: list[_Blob], vessels: np.ndarray) -> np.ndarray:
    out = np.full((plane.h, plane.w), AIR, dtype=np.float32)
    # Body: an ellipse a little wider at the shoulders and hips, with a fat layer under the skin.
    bx = 0.86 - 0.06 * math.sin(math.pi * t)
    by = 0.62
    plane.paint(out, 0.0, 0.0, bx, by, FAT)
    plane.paint(out, 0.0, 0.0, bx - 0.07, by - 0.06, SOFT)
    for blob in organs:
        radii = blob.section(t)
        if radii:
            plane.paint(out, blob.x, blob.y, *radii, blob.value)
    for x0, y0, dx, dy, r in vessels:  # vessels show only inside the lungs
        plane.paint(out, x0 + dx * t, y0 + dy * t, r, r, BLOOD, only=LUNG)
    for blob in gas:
        radii = blob.section(t)
        if radii:
            plane.paint(out, blob.x, blob.y, *radii, blob.value, only=SOFT)
    plane.paint(out, 0.04, 0.15, 0.05, 0.05, CONTRAST)  # aorta
    # Spine: vertebral body (cortical rim, cancellous core), canal and posterior arch.
    plane.paint(out, 0.0, 0.40, 0.11, 0.10, CORTICAL)
    plane.paint(out, 0.0, 0.40, 0.09, 0.08, CANCELLOUS)
    plane.paint(out, 0.0, 0.55, 0.07, 0.05, CORTICAL)
    plane.paint(out, 0.0, 0.54, 0.035, 0.03, 10.0)
    if 0.05 < t < 0.6:  # ribs in cross-section, along the inside of the chest wall
        for k in range(7):
            a = math.pi * (0.15 + 0.7 * k / 6)
            for side in (-1, 1):
                plane.paint(out, side * (bx - 0.1) * math.sin(a), -(by - 0.09) * math.cos(a), 0.025, 0.025, RIB)
    if t > 0.8:  # iliac wings
        for side in (-1, 1):
            plane.paint(out, side * 0.5, 0.2, 0.16, 0.09, CORTICAL)
            plane.paint(out, side * 0.5, 0.2, 0.12, 0.06, CANCELLOUS)
    return out


def phantom_array(shape_whd: tuple[int, int, int], seed: int = 0) -> tuple[np.ndarray, tuple[float, float, float]]:
    """(D, H, W) float32 Hounsfield-like values and the spacing (z, y, x) in mm."""
    try:
        w, h, d = (int(v) for v in shape_whd)
    except (TypeError, ValueError) as exc:
        raise InputError(f"phantom shape must be (width, height, depth), got {shape_whd!r}") from exc
    if w < 1 or h < 1 or d < 1:
        raise InputError(f"phantom shape {w}x{h}x{d} has a zero or negative side")
    rng = np.random.default_rng(seed)
    organs, gas, vessels = _organs(rng), _gas(rng), _vessels(rng)
    plane = _Plane(h, w)
    volume = np.empty((d, h, w), dtype=np.float32)
    for k in range(d):
        volume[k] = _slice(plane, (k + 0.5) / d, organs, gas, vessels)
        volume[k] += rng.standard_normal((h, w), dtype=np.float32) * NOISE_HU
    np.clip(volume, HU_MIN, HU_MAX, out=volume)
    spacing = (FOV_MM[0] / d, FOV_MM[1] / h, FOV_MM[2] / w)
    return volume, spacing
