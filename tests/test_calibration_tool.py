"""The calibration tool: what it writes keeps every field the advisor reads, and the footprints of
what it measures are counted at the sizes the libraries really run."""

from __future__ import annotations

import pytest

from segbench.cost.footprint import Query
from segbench.families.registry import get_spec
from segbench.maintenance import calibrate


def test_a_rewritten_calibration_keeps_the_decode_rates_the_advisor_reads(tmp_path, monkeypatch):
    """The host section is rewritten on every run: the decode rates must be measured with it (a
    rewrite that dropped them made the profile unreadable)."""
    from segbench.advisor.data.calibration import load_calibration

    entry = {"id": "cpu-sam21-tiny-image-512", "model": "sam2.1-tiny", "workload": "image", "precision": "fp32",
             "batch_size": 1, "seconds_per_item": 0.5, "median_seconds_per_item": 0.55, "samples": 4}
    fake = {"entry": entry, "rates": {"fp32_gflops": 100.0, "memory_bandwidth_gbs": 50.0},
            "host_pixel_s": 7e-9, "decode_pixel_s": 3e-9, "decode_voxel_s": 2e-8}
    monkeypatch.setattr(calibrate, "points", lambda: [("cpu-sam21-tiny-image-512", "sam2.1-tiny", "image", 512, {})])
    monkeypatch.setattr(calibrate, "_run_point", lambda ident: fake)
    path = calibrate.write(tmp_path / "calibration.yaml", rounds=1, log=lambda *_: None)
    cal = load_calibration(path)
    assert (cal.decode_pixel_s, cal.decode_voxel_s, cal.host_pixel_s) == (3e-9, 2e-8, 7e-9)
    assert "finetune:" in path.read_text()  # the hand-entered part came along


def test_the_decoders_are_timed_per_pixel_and_per_voxel():
    rates = calibrate._decode_seconds(repeats=1)
    # A 1024x768 JPEG decodes in milliseconds, not nanoseconds or seconds.
    assert 1e-10 < rates["decode_pixel_s"] < 1e-6 and 1e-10 < rates["decode_voxel_s"] < 1e-5


@pytest.mark.parametrize(("source", "counted"), [((768, 1024), (480, 640)), ((810, 1080), (480, 640)),
                                                 ((1000, 1000), (640, 640)), ((1080, 1920), (384, 640))])
def test_yolo_predict_is_counted_at_its_letterboxed_size(source, counted):
    from segbench.families.yolo.cost import counted_size

    spec = get_spec("yolo11n-seg")
    assert counted_size(spec, Query(spec.name, "image", resolution=source)) == counted
    assert counted_size(spec, Query(spec.name, "train", resolution=source)) == (640, 640)  # square crops
