"""Video clips: a file decoded with OpenCV, a folder of frames, or a synthetic clip with moving objects.

Frames are HxWx3 uint8 RGB (OpenCV decodes BGR; it is flipped here, once). Writers are here too:
`write_mp4` for tests and users, and `write_jpeg_folder` for the layout the SAM 2 video
predictor's `init_state` reads (00000.jpg, 00001.jpg, ...).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from segbench.errors import InputError
from segbench.inputs import synthetic
from segbench.inputs._files import IMAGE_SUFFIXES, existing_path, files_in, non_empty_file
from segbench.inputs.images import decode_image
from segbench.inputs.parsing import format_resolution, parse_resolution

__all__ = [
    "Clip",
    "ObjectPrompt",
    "format_resolution",
    "parse_resolution",
    "read_video",
    "synthetic_clip",
    "write_jpeg_folder",
    "write_mp4",
]

DEFAULT_FPS = 30.0  # for writing clips whose rate is unknown (frame folders, synthetic clips)
JPEG_QUALITY = 95


@dataclass(frozen=True)
class ObjectPrompt:
    """Where an object is on the first frame: a point on it and its box, in pixels."""

    point: tuple[int, int]  # (x, y)
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1), inclusive-exclusive like SAM's xyxy


@dataclass(frozen=True)
class Clip:
    """Decoded frames (HxWx3 uint8 RGB, all one size) and where they came from."""

    frames: list[np.ndarray] = field(repr=False)
    fps: float | None  # None when the source does not say (a folder of frames)
    source: str  # the path, or "synthetic"
    objects: list[ObjectPrompt] = field(default_factory=list)  # known only for synthetic clips

    @property
    def source_size(self) -> tuple[int, int]:
        return (int(self.frames[0].shape[0]), int(self.frames[0].shape[1]))

    def __len__(self) -> int:
        return len(self.frames)


def _check_max_frames(max_frames: int | None) -> int | None:
    if max_frames is None:
        return None
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)) or max_frames < 1:
        raise InputError(f"max_frames must be a positive integer, got {max_frames!r}")
    return int(max_frames)


def _read_frame_folder(folder: Path, max_frames: int | None) -> Clip:
    files = files_in(folder, IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{folder}: folder holds no JPEG or PNG frames (.jpg, .jpeg, .png)")
    if max_frames is not None:
        files = files[:max_frames]
    frames: list[np.ndarray] = []
    for path in files:
        frame = decode_image(path)
        if frames and frame.shape != frames[0].shape:
            h0, w0 = frames[0].shape[:2]
            h, w = frame.shape[:2]
            raise InputError(f"{path}: frame is {w}x{h} but {files[0].name} is {w0}x{h0}; all frames must be one size")
        frames.append(frame)
    return Clip(frames, None, str(folder))


def _open_capture(path: Path) -> cv2.VideoCapture:
    """OpenCV's FFmpeg reader, with OpenCV's own warnings muted while it opens.

    FFMPEG explicitly: the default backend order would also try CV_IMAGES, which reads a single
    picture as a one-frame video and treats "%d" in a name as a file pattern. On failure OpenCV
    logs several WARN lines that say less than the InputError that follows.
    """
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        return cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    finally:
        cv2.utils.logging.setLogLevel(level)


def _read_video_file(path: Path, max_frames: int | None) -> Clip:
    non_empty_file(path)
    cap = _open_capture(path)
    try:
        if not cap.isOpened():
            raise InputError(f"{path}: OpenCV cannot open this as a video (not a video, or a codec it lacks)")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        frames: list[np.ndarray] = []
        while max_frames is None or len(frames) < max_frames:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            if frames and bgr.shape != frames[0].shape:
                h0, w0 = frames[0].shape[:2]
                raise InputError(f"{path}: frame {len(frames)} changes size from {w0}x{h0}")
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise InputError(f"{path}: video holds no frames that OpenCV can decode")
    return Clip(frames, fps if math.isfinite(fps) and fps > 0 else None, str(path))


def read_video(path: str | os.PathLike, max_frames: int | None = None) -> Clip:
    """A video file (anything OpenCV's FFmpeg backend decodes: MP4, AVI, MKV...) or a frame folder.

    A folder is read non-recursively, JPEG/PNG frames in natural order (2.jpg before 10.jpg).
    `max_frames` keeps only the first frames (memory: a 1080p frame is 6 MB decoded).
    """
    max_frames = _check_max_frames(max_frames)
    p = existing_path(path, "video file or frame folder")
    if p.is_dir():
        return _read_frame_folder(p, max_frames)
    if p.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(f"{p}: is a single image; pass a video file or a folder of frames")
    return _read_video_file(p, max_frames)


def synthetic_clip(
    n_frames: int,
    size: tuple[int, int] = (480, 854),
    objects: int = 1,
    seed: int = 0,
) -> Clip:
    """`n_frames` of textured objects drifting and turning over a textured background.

    The objects never overlap or leave the frame, so `.objects` (a point on each and its box on
    frame 0) are valid prompts. Deterministic for a given seed.
    """
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
        raise InputError(f"number of frames must be a positive integer, got {n_frames!r}")
    if isinstance(objects, bool) or not isinstance(objects, (int, np.integer)) or objects < 1:
        raise InputError(f"number of objects must be a positive integer, got {objects!r}")
    h, w = synthetic.check_size(size, "frame")
    rng = np.random.default_rng(seed)
    movers = synthetic.movers((h, w), int(objects), rng)
    scenery = synthetic.background(h, w, rng)
    frames = []
    for t in range(int(n_frames)):
        canvas = scenery.copy()
        for mover in movers:
            synthetic.paint(canvas, mover.at(t))
        frames.append(synthetic.to_uint8(canvas))
    prompts = []
    for mover in movers:
        mask = synthetic.shape_mask(mover.at(0), h, w)
        ys, xs = np.nonzero(mask)
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        prompts.append(ObjectPrompt(point=(int(round(mover.shape.cx)), int(round(mover.shape.cy))), box=box))
    return Clip(frames, DEFAULT_FPS, "synthetic", prompts)


def synthetic_clip_at(resolution: str, n_frames: int, objects: int = 1, seed: int = 0) -> Clip:
    """`synthetic_clip` sized by a `--resolution` string such as "480p" or "640x360"."""
    return synthetic_clip(n_frames, parse_resolution(resolution), objects, seed)


def _bgr(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)


def write_mp4(clip: Clip, path: str | os.PathLike) -> Path:
    """Encode `clip` with OpenCV's mp4v codec; the file appears whole or not at all."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    h, w = clip.source_size
    # OpenCV picks the container from the suffix, so the temporary file keeps it.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix or ".mp4", dir=target.parent)
    os.close(fd)
    try:
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), clip.fps or DEFAULT_FPS, (w, h))
        if not writer.isOpened():
            raise InputError(f"{target}: OpenCV cannot write an mp4v video here")
        try:
            for frame in clip.frames:
                writer.write(_bgr(frame))
        finally:
            writer.release()
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_jpeg_folder(clip: Clip, directory: str | os.PathLike) -> Path:
    """Write frames as 00000.jpg, 00001.jpg... into `directory` (created; must hold no JPEGs).

    The frames go to a temporary folder beside it that is renamed into place at the end, so a
    reader never sees half a clip.
    """
    target = Path(directory)
    if target.exists():
        if not target.is_dir():
            raise InputError(f"{target}: exists and is not a folder")
        if any(target.iterdir()):
            raise InputError(f"{target}: folder is not empty; the SAM 2 video predictor would read its other files")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for i, frame in enumerate(clip.frames):
            ok, data = cv2.imencode(".jpg", _bgr(frame), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise InputError(f"{target}: OpenCV could not encode frame {i} as JPEG")
            (tmp / f"{i:05d}.jpg").write_bytes(data.tobytes())
        tmp.chmod(0o755)  # mkdtemp makes it private
        os.replace(tmp, target)  # an empty existing folder is replaced too (POSIX rename)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
