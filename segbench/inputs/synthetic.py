"""Deterministic 2D scenes: a textured background and textured shapes with sharp edges.

Flat noise gives a mask generator nothing to find (and with random weights nothing to post-process),
so synthetic images and clips are built from objects a segmenter can separate: ellipses, rotated
rectangles and triangles, each with its own colour and a stripe texture that moves with it.
Everything is drawn with numpy from a seeded generator, so the same seed gives the same pixels.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np

from segbench.errors import InputError

KINDS = ("ellipse", "rectangle", "triangle")
MIN_SIDE = 16  # smaller frames leave no room for a shape with an edge inside it
MIN_OBJECT_RADIUS = 4.0  # pixels; a tracked object smaller than this is a dot, not an object


@dataclass(frozen=True)
class Shape:
    """One object: where it is, how big, how turned, what it looks like."""

    kind: str
    cy: float
    cx: float
    ry: float  # half-extents in the shape's own frame; every point lies within max(ry, rx)
    rx: float
    angle: float  # radians
    color: tuple[float, float, float]  # 0..255
    stripe_period: float  # pixels
    stripe_angle: float  # radians, relative to the shape

    def moved(self, cy: float, cx: float, angle: float) -> Shape:
        return Shape(self.kind, cy, cx, self.ry, self.rx, angle, self.color, self.stripe_period, self.stripe_angle)


def check_size(size: tuple[int, int], what: str = "image") -> tuple[int, int]:
    """(h, w) as ints, or InputError when it is not a pair of sides of at least MIN_SIDE."""
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} size must be (height, width), got {size!r}") from exc
    if h < MIN_SIDE or w < MIN_SIDE:
        raise InputError(f"{what} size {w}x{h} is too small: each side must be at least {MIN_SIDE} pixels")
    return h, w


def random_color(rng: np.random.Generator, *, vivid: bool) -> tuple[float, float, float]:
    hue = rng.random()
    sat = rng.uniform(0.55, 1.0) if vivid else rng.uniform(0.05, 0.35)
    val = rng.uniform(0.45, 1.0) if vivid else rng.uniform(0.3, 0.7)
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return (r * 255.0, g * 255.0, b * 255.0)


def background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A muted, smoothly varying float32 HxWx3 background with a faint fine texture and grain."""
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    base = np.array(random_color(rng, vivid=False), dtype=np.float32)
    out = np.empty((h, w, 3), dtype=np.float32)
    out[:] = base
    # A few low-frequency waves per channel: lighting and large soft regions.
    for c in range(3):
        for _ in range(3):
            fy, fx = rng.uniform(0.3, 2.0, size=2)
            phase = rng.uniform(0, 2 * math.pi)
            out[..., c] += rng.uniform(10, 30) * np.sin(2 * math.pi * (fy * yy + fx * xx) + phase)
    # Fine grating: texture without edges strong enough to look like objects.
    period = rng.uniform(6, 14)
    theta = rng.uniform(0, math.pi)
    grating = np.sin(2 * math.pi * (np.cos(theta) * xx * w + np.sin(theta) * yy * h) / period)
    out += (6.0 * grating)[..., None]
    out += rng.normal(0.0, 3.0, size=(h, w, 1)).astype(np.float32)
    return out


def random_shape(rng: np.random.Generator, cy: float, cx: float, radius: float) -> Shape:
    """A shape of any kind centred at (cy, cx) with every point within `radius` of the centre."""
    kind = KINDS[int(rng.integers(len(KINDS)))]
    if kind == "rectangle":
        corner = rng.uniform(math.radians(25), math.radians(65))  # half-diagonal = radius
        ry, rx = radius * math.sin(corner), radius * math.cos(corner)
    else:
        ry, rx = radius * rng.uniform(0.6, 1.0), radius * rng.uniform(0.6, 1.0)
    return Shape(
        kind=kind,
        cy=cy,
        cx=cx,
        ry=ry,
        rx=rx,
        angle=rng.uniform(0, math.pi),
        color=random_color(rng, vivid=True),
        stripe_period=max(3.0, radius * rng.uniform(0.25, 0.6)),
        stripe_angle=rng.uniform(0, math.pi),
    )


def _bbox(shape: Shape, h: int, w: int) -> tuple[int, int, int, int]:
    # A rectangle's corners reach its half-diagonal; ellipses and triangles stay within max(ry, rx).
    r = (math.hypot(shape.ry, shape.rx) if shape.kind == "rectangle" else max(shape.ry, shape.rx)) + 1
    y0, y1 = max(0, math.floor(shape.cy - r)), min(h, math.ceil(shape.cy + r) + 1)
    x0, x1 = max(0, math.floor(shape.cx - r)), min(w, math.ceil(shape.cx + r) + 1)
    return y0, y1, x0, x1


def _local(shape: Shape, y0: int, y1: int, x0: int, x1: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres in the shape's own rotated frame (u along its width, v along its height)."""
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] - shape.cy
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] - shape.cx
    cos, sin = math.cos(shape.angle), math.sin(shape.angle)
    return dx * cos + dy * sin, -dx * sin + dy * cos


def _inside(shape: Shape, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if shape.kind == "ellipse":
        return (u / shape.rx) ** 2 + (v / shape.ry) ** 2 <= 1.0
    if shape.kind == "rectangle":
        return (np.abs(u) <= shape.rx) & (np.abs(v) <= shape.ry)
    # Triangle with vertices on the ellipse at 90, 210 and 330 degrees: its centroid is the centre,
    # so the centre point prompt always lands on the object.
    pts = [(shape.rx * math.cos(a), shape.ry * math.sin(a)) for a in (math.pi / 2, 7 * math.pi / 6, 11 * math.pi / 6)]
    inside = np.ones(np.broadcast_shapes(u.shape, v.shape), dtype=bool)
    for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
        inside &= (bx - ax) * (v - ay) - (by - ay) * (u - ax) >= 0
    return inside


def shape_mask(shape: Shape, h: int, w: int) -> np.ndarray:
    """The full-frame boolean mask of `shape`."""
    mask = np.zeros((h, w), dtype=bool)
    y0, y1, x0, x1 = _bbox(shape, h, w)
    if y0 < y1 and x0 < x1:
        u, v = _local(shape, y0, y1, x0, x1)
        mask[y0:y1, x0:x1] = _inside(shape, u, v)
    return mask


def paint(canvas: np.ndarray, shape: Shape) -> None:
    """Draw `shape` onto a float32 HxWx3 canvas in place, its stripes fixed to the shape."""
    h, w = canvas.shape[:2]
    y0, y1, x0, x1 = _bbox(shape, h, w)
    if y0 >= y1 or x0 >= x1:
        return
    u, v = _local(shape, y0, y1, x0, x1)
    inside = _inside(shape, u, v)
    s = u * math.cos(shape.stripe_angle) + v * math.sin(shape.stripe_angle)
    shade = 1.0 + 0.25 * np.sin(2 * math.pi * s / shape.stripe_period)
    region = canvas[y0:y1, x0:x1]
    region[inside] = (shade[..., None] * np.asarray(shape.color, dtype=np.float32))[inside]


def to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def scene(size: tuple[int, int], rng: np.random.Generator, n_shapes: int) -> np.ndarray:
    """An HxWx3 uint8 image: background plus `n_shapes` shapes at random places (they may overlap)."""
    h, w = size
    canvas = background(h, w, rng)
    short = min(h, w)
    for _ in range(n_shapes):
        radius = short * rng.uniform(0.06, 0.2)
        cy, cx = rng.uniform(radius, h - radius), rng.uniform(radius, w - radius)
        paint(canvas, random_shape(rng, cy, cx, radius))
    return to_uint8(canvas)


@dataclass(frozen=True)
class Mover:
    """A shape that drifts and turns on a smooth periodic path that stays inside its grid cell."""

    shape: Shape
    amp_y: float
    amp_x: float
    period: float  # frames
    phase: float
    spin: float  # radians per frame

    def at(self, t: int) -> Shape:
        s = math.sin(2 * math.pi * t / self.period + self.phase) - math.sin(self.phase)
        c = math.cos(2 * math.pi * t / self.period + self.phase) - math.cos(self.phase)
        shape = self.shape
        return shape.moved(shape.cy + self.amp_y * s, shape.cx + self.amp_x * c, shape.angle + self.spin * t)


def movers(size: tuple[int, int], n: int, rng: np.random.Generator) -> list[Mover]:
    """`n` objects laid out one per grid cell so they never overlap or leave the frame.

    Each object stays within 0.32 of its cell's short side from its centre and drifts at most
    0.15 of it, so 0.47 < 0.5: objects stay apart and in frame, and every frame-0 centre is on
    its own object (a point prompt there is unambiguous).
    """
    h, w = size
    cols = max(1, math.ceil(math.sqrt(n * w / h)))
    rows = math.ceil(n / cols)
    cell_h, cell_w = h / rows, w / cols
    radius = 0.32 * min(cell_h, cell_w)
    if radius < MIN_OBJECT_RADIUS:
        raise InputError(f"{n} objects do not fit in a {w}x{h} frame: use fewer objects or a larger resolution")
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        cy, cx = (r + 0.5) * cell_h, (c + 0.5) * cell_w
        shape = random_shape(rng, cy, cx, radius * rng.uniform(0.7, 1.0))
        amp = 0.15 * min(cell_h, cell_w) / 2  # s and c above swing over [-2, 2]
        out.append(
            Mover(
                shape=shape,
                amp_y=amp * rng.uniform(0.5, 1.0),
                amp_x=amp * rng.uniform(0.5, 1.0),
                period=rng.uniform(24, 60),
                phase=rng.uniform(0, 2 * math.pi),
                spin=rng.uniform(-0.03, 0.03),
            )
        )
    return out
