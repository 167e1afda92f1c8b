"""The GPU reference kit (scripts/gpu-reference.sh) end to end on the CPU with its tiny plan, and
`calibrate --fold`, which turns a kit's results into reference points of the fit."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from segbench.advisor.model import references
from segbench.errors import InputError
from segbench.maintenance.calibrate import fold
from segbench.records.schema import Record
from segbench.records.store import append_records, read_records

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "scripts" / "gpu-reference.sh"


@pytest.fixture(scope="module")
def kit_output(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kit")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(KIT), "--tiny", "--out-dir", str(out)], cwd=out, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def test_the_tiny_kit_writes_probe_roofline_and_a_record_per_step(kit_output):
    files = {p.name for p in kit_output.iterdir() if not p.name.startswith(".")}
    stems = {n.split(".")[0] for n in files}
    assert len(stems) == 1 and stems.pop().startswith("cpu-tiny-")
    (results,) = [kit_output / n for n in files if n.endswith(".jsonl")]
    probe = json.loads(next(kit_output.glob("*.probe.json")).read_text())
    assert "cpu" in probe and "gpus" in probe
    roof = json.loads(next(kit_output.glob("*.roofline.json")).read_text())["roofline"]
    assert roof["matmul"]["fp32"]["tflops"] > 0
    records = read_records([results])
    assert {(r.model, r.workload) for r in records} == {
        ("sam2.1-tiny", "image"), ("sam2.1-tiny", "prompt"), ("sam2.1-tiny", "video"),
        ("mask2former-swin-tiny", "image"), ("monai-unet", "volume")}
    assert all(r.status == "ok" for r in records), [(r.model, r.workload, r.error) for r in records]
    assert {r.batch_size for r in records if r.workload == "video"} == {1, 3}  # 1 and 3 objects
    # The measured peak is in every record, and the share of it each point reached.
    for r in records:
        assert r.environment["roofline"]["matmul"]["fp32"]["tflops"] > 0
        assert 0 < r.flops["fraction_of_peak"] < 2 and r.flops["peak_source"].startswith("measured here")
    assert results.stat().st_mode & 0o111 == 0  # a data file, not an executable


def test_the_kit_never_overwrites_a_results_file(kit_output):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(KIT), "--tiny", "--out-dir", str(kit_output)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "exists" in done.stderr and "never overwritten" in done.stderr


def test_the_kit_rejects_unknown_options():
    done = subprocess.run(["bash", str(KIT), "--fast"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "unknown option '--fast'" in done.stderr


def as_if_on(record: Record, hardware: str) -> Record:
    """The record as the same run on a CUDA GPU would have written it."""
    return dataclasses.replace(record, device="cuda:0", environment={**record.environment, "hardware": hardware})


def test_fold_turns_gpu_records_into_reference_points(kit_output, tmp_path, monkeypatch):
    records = read_records([next(kit_output.glob("*.jsonl"))])
    gpu_file = tmp_path / "h200-2026-12-02.jsonl"
    append_records(gpu_file, [as_if_on(r, "NVIDIA H200") for r in records])
    out = tmp_path / "reference_runs.yaml"
    out.write_text("runs: []\n")
    fold([str(gpu_file), str(next(kit_output.glob("*.jsonl")))], out, log=lambda *_: None)
    runs = yaml.safe_load(out.read_text())["runs"]
    assert len(runs) == len(records)  # the CPU file adds nothing: CPU runs are calibrated by `calibrate`
    assert {r["device"] for r in runs} == {"H200"}
    video = [r for r in runs if r["workload"] == "video"]
    assert {r["batch_size"] for r in video} == {1, 3} and all(r["seconds_per_item"] > 0 for r in video)
    # Folding again merges by record id: nothing is counted twice.
    fold([str(gpu_file)], out, log=lambda *_: None)
    assert len(yaml.safe_load(out.read_text())["runs"]) == len(runs)
    # And the fit reads them as measured reference points on that GPU.
    monkeypatch.setattr("segbench.profiles.profile_path", lambda name: out if name == references.RUNS_FILE
                        else Path(references.__file__).parents[2] / "profiles" / name)
    refs = references.run_references()
    assert len(refs) == len(runs) and all(r.spec.name == "H200" and r.quality == "measured" for r in refs)


def test_fold_skips_a_gpu_the_catalog_does_not_know(kit_output, tmp_path):
    records = read_records([next(kit_output.glob("*.jsonl"))])
    gpu_file = tmp_path / "mystery.jsonl"
    append_records(gpu_file, [as_if_on(records[0], "NVIDIA Mystery 9000")])
    out = tmp_path / "reference_runs.yaml"
    said = []
    fold([str(gpu_file)], out, log=said.append)
    assert yaml.safe_load(out.read_text())["runs"] == [] and "not in the catalog" in said[0]


def test_fold_refuses_a_file_that_is_not_a_runs_profile(tmp_path):
    out = tmp_path / "other.yaml"
    out.write_text("gpus: []\n")
    with pytest.raises(InputError, match="expected a 'runs:' list"):
        fold([], out)
