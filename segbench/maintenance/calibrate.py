"""Measure the calibration points on this machine's CPU and write the calibration profile.

    python -m segbench.maintenance calibrate --out segbench/profiles/calibration.yaml [--rounds 2]

What it measures, with random weights at small sizes through the one harness (`segbench.bench`):
the points of the profile `calibration_points.yaml` (image encoders, prompt decoding, video
tracking, a semantic model, a 3D network over a small volume, small instance models and their
training step); beside them this core's fp32 matmul rate and copy bandwidth (the roofline of the
machine the points were taken on), the per-pixel cost of the default image model's host
pre-processing, and segbench's own image and volume decoders per pixel / voxel. The hand-entered
part of the file (`memory:`, `finetune:`, with comments and sources) is kept verbatim.

Shared machines make timings noisy upward, never downward. So every point runs on one thread (a
neighbour on the other core then slows it less), in a fresh process (one model's allocations and
caches neither slow nor hide the next one's, and RSS growth is per point), keeps its fastest
sample, and the whole set is measured `--rounds` times keeping each point's fastest round.

Automatic masks are not among the points: with random weights the masks are noise, and sam2's
run-length encoding of noisy masks costs far more host time than a trained model's masks do.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from segbench.profiles import profile_path
from segbench.profiles.reading import Entry, read_yaml, section_list, top_level

THREADS = 1
POINTS_FILE = "calibration_points.yaml"
_POINT_FIELDS = ("id", "model", "workload", "model_size", "frames", "source_size", "volume")


def points() -> list[tuple[str, str, str, int | None, dict[str, Any]]]:
    """(id, model, workload, model_size or None, workload options) of every calibration point."""
    path = profile_path(POINTS_FILE)
    data = top_level(read_yaml(path), path, ("points",))
    out = []
    for i, raw in enumerate(section_list(data, "points", path)):
        e = Entry(raw, path, f"points[{i}]", _POINT_FIELDS)
        options = {k: tuple(v) if isinstance(v, list) else v for k, v in e.data.items()
                   if k in ("frames", "source_size", "volume")}
        out.append((e.text("id"), e.text("model"), e.text("workload"), e.integer("model_size", required=False),
                    options))
    return out
# Everything from this line on is hand-entered (with comments and sources) and kept verbatim.
HAND_MARKER = "# ---- hand-entered below this line"


def _best(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _rates(repeats: int = 10) -> dict[str, float]:
    """This thread's fp32 matmul rate and copy bandwidth, best of `repeats`."""
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    x = torch.empty(64 * 2**20)
    y = torch.empty_like(x)
    return {
        "fp32_gflops": 2 * 2048**3 / _best(lambda: a @ b, repeats) / 1e9,
        "memory_bandwidth_gbs": 2 * x.numel() * 4 / _best(lambda: y.copy_(x), repeats) / 1e9,
    }


def _host_pixel_seconds(repeats: int = 10) -> float:
    """The default image model's host pre-processing (to tensor, resize, normalise) per source pixel."""
    import numpy as np

    from segbench.families.registry import default_model, family_of

    transform = family_of(default_model(["image"])).cost_model().host_transform()
    image = np.random.default_rng(0).integers(0, 255, (768, 1024, 3), dtype=np.uint8)
    return _best(lambda: transform(image), repeats) / (768 * 1024)


def _decode_seconds(repeats: int = 5) -> dict[str, float]:
    """segbench's own input decoders per pixel / voxel: a quality-90 JPEG of a 1024x768 photo
    (scikit-image's astronaut, resized) and a 128x128x64 phantom as gzipped NIfTI."""
    import numpy as np
    from PIL import Image as PILImage
    from skimage import data

    from segbench.inputs.images import decode_image
    from segbench.inputs.volume import phantom, read_volume
    from segbench.inputs.volume_write import write_nifti

    with tempfile.TemporaryDirectory(prefix="segbench-decode-") as tmp:
        photo = Path(tmp) / "photo.jpg"
        PILImage.fromarray(np.asarray(data.astronaut())).resize((1024, 768)).save(photo, quality=90)
        volume = write_nifti(phantom((128, 128, 64)), Path(tmp) / "volume.nii.gz")
        return {"decode_pixel_s": _best(lambda: decode_image(photo), repeats * 2) / (1024 * 768),
                "decode_voxel_s": _best(lambda: read_volume(volume), repeats) / (128 * 128 * 64)}


def _measure(point, output: Path) -> dict[str, Any]:

    from segbench.bench import Plan, execute
    from segbench.measure.harness import MeasureSettings
    from segbench.workloads.base import WorkloadOptions

    ident, model, workload, size, extra = point
    plan = Plan(models=[model], workloads=[workload], precisions=["fp32"], batch_sizes=[1], device="cpu",
                weights="random", resolution=(size, size) if size else None,
                settings=MeasureSettings(warmup=1, min_iters=4, min_time_s=0.0),
                options=WorkloadOptions(**extra), telemetry_interval_s=None, count_flops=False, launcher="inline")
    record = execute(plan, output)[-1]
    if record.status != "ok":
        raise RuntimeError(f"{record.status}: {record.error}")
    items = record.stats["items_per_step"]
    source = record.input.get("source_size") or (list(extra["source_size"]) if "source_size" in extra else None)
    entry: dict[str, Any] = {
        "id": ident, "model": model, "workload": workload, "scope": record.params.get("scope", "predictor"),
        "precision": "fp32", "batch_size": 1,
        "seconds_per_item": round(min(record.samples_s) / items, 5),
        "median_seconds_per_item": round(record.stats["latency_s"]["median"] / items, 5),
        "samples": len(record.samples_s),
        "rss_growth_bytes": int(record.memory.get("peak_rss_bytes", 0) - record.memory.get("rss_before_bytes", 0)),
    }
    if size:
        entry["model_size"] = [size, size]
    if source and workload != "volume":
        entry["resolution"] = [int(v) for v in source]
    if "frames" in extra:
        entry["frames"] = extra["frames"]
    if "volume" in extra:
        entry["volume"] = list(extra["volume"])
    return entry


def measure_point(ident: str) -> dict[str, Any]:
    """One point in this (fresh) process, on one thread, with the machine's rates around it."""
    import torch

    torch.set_num_threads(THREADS)
    point = next((p for p in points() if p[0] == ident), None)
    if point is None:
        raise SystemExit(f"unknown point {ident}; known: {', '.join(p[0] for p in points())}")
    rates = _rates(5)
    with tempfile.TemporaryDirectory(prefix="segbench-calibrate-") as tmp:
        entry = _measure(point, Path(tmp) / "calibration.jsonl")
    return {"entry": entry, "rates": rates, "host_pixel_s": _host_pixel_seconds(5), **_decode_seconds()}


def _run_point(ident: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "segbench.maintenance", "calibrate", "--point", ident],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cpu_model() -> str:
    from segbench.probe.host import cpu_info

    return str(cpu_info().get("model_name") or platform.processor() or "CPU")


def measure_all(rounds: int = 2, log=print) -> dict[str, Any]:
    _cpu_model()  # fail here, not after minutes of measuring
    best: dict[str, dict[str, Any]] = {}
    rates = {"fp32_gflops": 0.0, "memory_bandwidth_gbs": 0.0}
    pixel_s = float("inf")
    decode = {"decode_pixel_s": float("inf"), "decode_voxel_s": float("inf")}
    for round_ in range(1, rounds + 1):
        for point in points():
            try:
                got = _run_point(point[0])
            except RuntimeError as exc:
                log(f"round {round_}: {point[0]} failed ({exc}); skipped")
                continue
            entry = got["entry"]
            rates = {key: max(value, got["rates"][key]) for key, value in rates.items()}
            pixel_s = min(pixel_s, got["host_pixel_s"])
            decode = {key: min(value, got[key]) for key, value in decode.items()}
            log(f"round {round_}: {entry['id']}: {entry['seconds_per_item'] * 1e3:.0f} ms per item "
                f"(median {entry['median_seconds_per_item'] * 1e3:.0f} ms; matmul {got['rates']['fp32_gflops']:.0f} GFLOP/s)")
            if entry["id"] not in best or entry["seconds_per_item"] < best[entry["id"]]["seconds_per_item"]:
                best[entry["id"]] = entry
    if not best:
        raise RuntimeError("no calibration point could be measured")
    today = _dt.date.today().isoformat()
    model = _cpu_model()
    return {
        "machine": {
            "name": f"calibration machine ({model}, {THREADS} thread)",
            "cpu_model": model,
            "basis": "Generic 2-core cloud vCPU",
            "cores": THREADS,
            "threads": THREADS,
            "fp32_gflops": round(rates["fp32_gflops"], 1),
            "memory_bandwidth_gbs": round(rates["memory_bandwidth_gbs"], 1),
            "measured": today,
            "method": "best over all points and rounds, on the points' one thread: a 2048x2048 fp32 matmul "
                      "and a 256 MiB tensor copy (torch)",
        },
        "host": {
            "seconds_per_source_pixel": float(f"{pixel_s:.3g}"),
            "decode_seconds_per_pixel": float(f"{decode['decode_pixel_s']:.3g}"),
            "decode_seconds_per_voxel": float(f"{decode['decode_voxel_s']:.3g}"),
            "measured": today,
            "method": "best over all rounds, one thread: the default image model's host transforms on a 1024x768 "
                      "RGB image; decode: segbench's image decoder on a quality-90 JPEG of a 1024x768 photo and "
                      "its volume reader on a 128x128x64 phantom as gzipped NIfTI",
        },
        "measurements": [best[p[0]] for p in points() if p[0] in best],
    }


def write(path: Path, rounds: int = 2, log=print) -> Path:
    """Measure and write the calibration profile to `path`, keeping the hand-entered part of the file
    there (or, for a new file, of the profile segbench reads)."""
    import yaml

    from segbench.atomic import atomic_write_text

    path = Path(path)
    source = path if path.exists() else profile_path("calibration.yaml")
    old = source.read_text(encoding="utf-8") if source.exists() else ""
    hand = old[old.index(HAND_MARKER):] if HAND_MARKER in old else ""
    data = measure_all(rounds, log)
    header = (
        "# Calibration data for the advisor's performance and memory models.\n"
        "# machine / host / measurements: written by `python -m segbench.maintenance calibrate`\n"
        "# (random weights, fp32, batch 1, one thread; seconds_per_item is the fastest sample of the\n"
        "# fastest round because the machine is shared). memory / finetune: hand-entered with sources,\n"
        "# kept on rewrite.\n"
    )
    atomic_write_text(path, header + yaml.safe_dump(data, sort_keys=False, width=110) + "\n" + hand)
    read_yaml(path)  # the result must still parse
    return path


# ------------------------------------------------------------------------------ folding in reference runs

def fold(paths: list[str], out: Path, log=print) -> Path:
    """Fold results files (the GPU reference kit's, or any `segbench run` on a catalogued device) into the
    reference-runs profile at `out`: one entry per successful point, keyed by record id, merged with what
    the file held. The fit then uses them as measured reference points."""
    import yaml

    from segbench.advisor.data.catalog import load_catalog
    from segbench.errors import InputError
    from segbench.atomic import atomic_write_text
    from segbench.records.store import read_records

    old = read_yaml(out) if Path(out).exists() else {"runs": []}
    if not isinstance(old, dict) or not isinstance(old.get("runs"), list):
        raise InputError(f"{out}: expected a 'runs:' list")
    by_id = {r["id"]: r for r in old["runs"] if isinstance(r, dict) and "id" in r}
    catalog = load_catalog()
    added = 0
    for path, record in ((p, r) for p in paths for r in read_records([p])):
        if record.status != "ok" or record.kind != "run" or not record.samples_s:
            continue
        hardware = str(record.environment.get("hardware", ""))
        if record.device.startswith("cuda"):
            try:
                device = catalog.match(hardware).spec.name
            except InputError:
                log(f"skipped {record.id}: '{hardware}' is not in the catalog")
                continue
        else:
            continue  # CPU runs are calibrated on one thread by `calibrate`, not folded
        params, source = record.params or {}, record.input.get("source_size")
        entry = {
            "id": f"run-{record.id[:12]}", "device": device, "model": record.model, "workload": record.workload,
            "precision": record.precision, "batch_size": int(record.batch_size),
            "scope": params.get("scope", "predictor"),
            "seconds_per_item": float(f"{record.stats['per_item_latency_s']['median']:.6g}"),
            "samples": len(record.samples_s), "measured": record.created[:10],
            "source": Path(path).name,
        }
        if params.get("resolution"):
            entry["model_size"] = list(params["resolution"])
        if source and record.workload != "volume":
            entry["resolution"] = [int(v) for v in source]
        if record.metrics.get("frames"):
            entry["frames"] = int(record.metrics["frames"])
        if record.input.get("shape_whd"):
            entry["volume"] = list(record.input["shape_whd"])
        if record.memory.get("peak_allocated_bytes"):
            entry["peak_allocated_bytes"] = int(record.memory["peak_allocated_bytes"])
        by_id[entry["id"]] = entry
        added += 1
    header = ("# Runs measured on catalogued GPUs (scripts/gpu-reference.sh, or any segbench run), folded in by\n"
              "# `python -m segbench.maintenance calibrate --fold FILE... --out FILE`: reference points of the fit.\n")
    atomic_write_text(out, header + yaml.safe_dump({"runs": list(by_id.values())}, sort_keys=False, width=110))
    log(f"folded {added} point(s) into {out} ({len(by_id)} in all)")
    return Path(out)
