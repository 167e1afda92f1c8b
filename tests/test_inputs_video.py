"""Video inputs: MP4/AVI written with OpenCV and read back, frame folders, synthetic clips, parsers."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image as PILImage

from segbench.errors import InputError
from segbench.inputs import synthetic
from segbench.inputs.parsing import FRAME_SIDE, RESOLUTIONS, format_resolution, parse_resolution
from segbench.inputs.video import Clip, read_video, synthetic_clip, write_jpeg_folder, write_mp4


def _solid_clip(colors: list[tuple[int, int, int]], size=(48, 64), fps=12.0) -> Clip:
    h, w = size
    return Clip([np.full((h, w, 3), c, np.uint8) for c in colors], fps, "test")


# --- synthetic clips ----------------------------------------------------------------------------


def test_synthetic_clip_shape_and_determinism():
    a = synthetic_clip(6, (64, 96), objects=2, seed=3)
    b = synthetic_clip(6, (64, 96), objects=2, seed=3)
    assert len(a) == 6 and a.source == "synthetic" and a.fps == 30.0
    assert a.source_size == (64, 96)
    assert all(f.shape == (64, 96, 3) and f.dtype == np.uint8 for f in a.frames)
    for x, y in zip(a.frames, b.frames):
        np.testing.assert_array_equal(x, y)
    assert a.objects == b.objects
    assert not np.array_equal(a.frames[0], synthetic_clip(6, (64, 96), objects=2, seed=4).frames[0])


def test_synthetic_objects_move_and_prompts_are_valid():
    clip = synthetic_clip(12, (120, 200), objects=4, seed=1)
    h, w = clip.source_size
    assert len(clip.objects) == 4
    boxes = []
    for obj in clip.objects:
        x, y = obj.point
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert x0 <= x < x1 and y0 <= y < y1
        assert (x1 - x0) >= 8 and (y1 - y0) >= 8
        boxes.append(obj.box)
    # Objects live in separate grid cells: their first-frame boxes do not overlap.
    for i, (ax0, ay0, ax1, ay1) in enumerate(boxes):
        for bx0, by0, bx1, by1 in boxes[i + 1 :]:
            assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0
    # Something moves between the first and the last frame, inside the objects' boxes.
    first, last = clip.frames[0].astype(int), clip.frames[-1].astype(int)
    for x0, y0, x1, y1 in boxes:
        assert np.abs(first[y0:y1, x0:x1] - last[y0:y1, x0:x1]).mean() > 1.0


@pytest.mark.parametrize("objects", [1, 3, 5])
def test_objects_stay_apart_in_frame_and_under_their_point(objects):
    # The layout promise behind `.objects`: over a long clip no object touches another or the frame
    # edge, and each frame-0 point lies on its own object.
    h, w = 60, 90
    for seed in range(5):
        movers = synthetic.movers((h, w), objects, np.random.default_rng(seed))
        for t in range(0, 80, 7):
            masks = [synthetic.shape_mask(m.at(t), h, w) for m in movers]
            total = np.sum(masks, axis=0)
            assert total.max() <= 1  # no overlap
            edge = np.concatenate([total[0], total[-1], total[:, 0], total[:, -1]])
            assert edge.max() == 0  # never leaves the frame
        for m, mask in zip(movers, (synthetic.shape_mask(m.at(0), h, w) for m in movers)):
            assert mask[int(round(m.shape.cy)), int(round(m.shape.cx))]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_frames": 0}, "number of frames must be a positive integer"),
        ({"n_frames": 2, "objects": 0}, "number of objects must be a positive integer"),
        ({"n_frames": 2, "size": (8, 8)}, "too small"),
        ({"n_frames": 2, "size": (20, 20), "objects": 50}, "50 objects do not fit in a 20x20 frame"),
    ],
)
def test_synthetic_clip_rejects_bad_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        synthetic_clip(**kwargs)


# --- video files --------------------------------------------------------------------------------


def test_mp4_round_trip_keeps_frames_colours_and_rate(tmp_path):
    colors = [(220, 20, 20), (20, 220, 20), (20, 20, 220), (200, 200, 30)]
    path = write_mp4(_solid_clip(colors), tmp_path / "clip.mp4")
    assert path.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    clip = read_video(path)
    assert len(clip) == 4 and clip.source_size == (48, 64) and clip.source == str(path)
    assert clip.fps == pytest.approx(12.0)
    for frame, color in zip(clip.frames, colors):
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3)
        # RGB, not OpenCV's BGR: the red frame comes back red.
        np.testing.assert_allclose(frame.reshape(-1, 3).mean(axis=0), color, atol=12)


def test_synthetic_clip_survives_mp4_and_max_frames(tmp_path):
    clip = synthetic_clip(10, (64, 96), objects=2)
    back = read_video(write_mp4(clip, tmp_path / "s.mp4"), max_frames=3)
    assert len(back) == 3
    assert np.abs(back.frames[2].astype(int) - clip.frames[2].astype(int)).mean() < 12  # lossy but close


def test_other_containers_via_opencv(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 24))
    for i in range(3):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    clip = read_video(path)
    assert len(clip) == 3 and clip.fps == pytest.approx(25.0)


def test_missing_video(tmp_path):
    with pytest.raises(InputError, match=r"nope\.mp4: no such video file or frame folder"):
        read_video(tmp_path / "nope.mp4")


def test_zero_byte_video(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.mp4: file is empty"):
        read_video(tmp_path / "empty.mp4")


def test_file_opencv_cannot_open(tmp_path):
    (tmp_path / "fake.mp4").write_text("not a video at all\n" * 20)
    with pytest.raises(InputError, match=r"fake\.mp4: OpenCV cannot open this as a video"):
        read_video(tmp_path / "fake.mp4")


def test_still_image_is_not_a_video(tmp_path):
    # FFmpeg would read a picture as a one-frame "video"; that is never what a user meant.
    path = tmp_path / "still.png"
    PILImage.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path, "PNG")
    with pytest.raises(InputError, match=r"still\.png: is a single image; pass a video file or a folder of frames"):
        read_video(path)


def test_video_with_no_frames(tmp_path):
    path = tmp_path / "hollow.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 24))
    writer.release()  # a valid container, zero frames
    with pytest.raises(InputError, match=r"hollow\.avi: video holds no frames"):
        read_video(path)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_max_frames(tmp_path, bad):
    with pytest.raises(InputError, match="max_frames must be a positive integer"):
        read_video(tmp_path, max_frames=bad)


# --- frame folders ------------------------------------------------------------------------------


def test_frame_folder_is_read_in_natural_order(tmp_path):
    for value, name in [(10, "1.jpg"), (20, "2.jpg"), (100, "10.jpg"), (50, "3.png")]:
        PILImage.fromarray(np.full((16, 24, 3), value, np.uint8)).save(tmp_path / name, quality=100)
    clip = read_video(tmp_path)
    assert clip.fps is None and clip.source == str(tmp_path) and clip.source_size == (16, 24)
    means = [int(round(f.mean())) for f in clip.frames]
    assert means == [10, 20, 50, 100]  # 1, 2, 3, 10 (plain sorting would put 10 before 2)
    assert len(read_video(tmp_path, max_frames=2)) == 2


def test_jpeg_folder_round_trip_in_sam2_layout(tmp_path):
    clip = synthetic_clip(12, (32, 48), objects=1)
    folder = write_jpeg_folder(clip, tmp_path / "frames")
    names = sorted(os.listdir(folder))
    assert names[:3] == ["00000.jpg", "00001.jpg", "00002.jpg"] and len(names) == 12
    # The SAM 2 predictor sorts frames by int(stem); that order must be the clip's order.
    assert sorted(names, key=lambda p: int(os.path.splitext(p)[0])) == names
    back = read_video(folder)
    assert len(back) == 12 and back.source_size == (32, 48)
    assert np.abs(back.frames[11].astype(int) - clip.frames[11].astype(int)).mean() < 8


def test_jpeg_folder_into_empty_existing_folder_but_not_a_full_one(tmp_path):
    clip = synthetic_clip(2, (32, 32))
    (tmp_path / "empty").mkdir()
    write_jpeg_folder(clip, tmp_path / "empty")
    assert len(os.listdir(tmp_path / "empty")) == 2
    with pytest.raises(InputError, match="folder is not empty"):
        write_jpeg_folder(clip, tmp_path / "empty")


def test_folder_without_frames(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match="folder holds no JPEG or PNG frames"):
        read_video(tmp_path)


def test_frames_of_different_sizes(tmp_path):
    PILImage.fromarray(np.zeros((16, 24, 3), np.uint8)).save(tmp_path / "0.png")
    PILImage.fromarray(np.zeros((16, 24, 3), np.uint8)).save(tmp_path / "1.png")
    PILImage.fromarray(np.zeros((20, 24, 3), np.uint8)).save(tmp_path / "2.png")
    with pytest.raises(InputError, match=r"2\.png: frame is 24x20 but 0\.png is 24x16"):
        read_video(tmp_path)


def test_broken_frame_in_folder_is_named(tmp_path):
    PILImage.fromarray(np.zeros((16, 24, 3), np.uint8)).save(tmp_path / "0.jpg")
    (tmp_path / "1.jpg").write_bytes(b"")
    with pytest.raises(InputError, match=r"1\.jpg: file is empty"):
        read_video(tmp_path)


# --- --resolution -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("480p", (480, 854)),
        ("720p", (720, 1280)),
        ("1080P", (1080, 1920)),
        ("4k", (2160, 3840)),
        (" 4K ", (2160, 3840)),
        ("640x360", (360, 640)),
        ("640 X 360", (360, 640)),
    ],
)
def test_parse_resolution_examples(text, expected):
    assert parse_resolution(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("720q", "is not one of 360p, 480p"),
        ("", "is not one of"),
        ("640x", "WxH"),
        ("-640x360", "WxH"),
        ("640x360x3", "WxH"),
        ("8x360", "width 8 in '8x360' is out of range: it must be between 16 and 8192"),
        ("640x99999", "height 99999"),
        ("６４０x360", "WxH"),  # full-width digits are not ASCII digits
    ],
)
def test_parse_resolution_errors(text, message):
    with pytest.raises(InputError, match=message):
        parse_resolution(text)


def test_parse_resolution_rejects_non_text():
    with pytest.raises(InputError, match="must be text"):
        parse_resolution(720)  # type: ignore[arg-type]


sides = st.integers(min_value=FRAME_SIDE[0], max_value=FRAME_SIDE[1])


@given(h=sides, w=sides)
def test_resolution_round_trips(h, w):
    assert parse_resolution(format_resolution((h, w))) == (h, w)


@given(name=st.sampled_from(sorted(RESOLUTIONS)), upper=st.booleans(), pad=st.sampled_from(["", " ", "\t"]))
def test_named_resolutions_are_case_and_space_insensitive(name, upper, pad):
    text = pad + (name.upper() if upper else name) + pad
    assert parse_resolution(text) == RESOLUTIONS[name]


@given(w=st.integers(0, 10**6), h=st.integers(0, 10**6))
def test_resolution_out_of_range_is_input_error(w, h):
    text = f"{w}x{h}"
    if FRAME_SIDE[0] <= w <= FRAME_SIDE[1] and FRAME_SIDE[0] <= h <= FRAME_SIDE[1]:
        assert parse_resolution(text) == (h, w)
    else:
        with pytest.raises(InputError):
            parse_resolution(text)


@given(st.text(max_size=30))
def test_any_text_gives_a_size_or_input_error(text):
    try:
        h, w = parse_resolution(text)
    except InputError:
        return
    assert FRAME_SIDE[0] <= h <= FRAME_SIDE[1] and FRAME_SIDE[0] <= w <= FRAME_SIDE[1]
