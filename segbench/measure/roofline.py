"""This machine's measured roofline: dense matmul throughput per precision, memory bandwidth and, on a
GPU, host<->device copies. What a run's `fraction_of_peak` is measured against, on any device.

Each rate is timed with segbench's own harness (warm-up, device synchronised around the clock, a
minimum count and time) on a square matmul sized so one product takes tens of milliseconds (an
emulated precision gets a smaller one), and the median sample is the figure. Measurements are
cached per machine, device, thread count and torch version (`$SEGBENCH_CACHE`, default
~/.cache/segbench) for `MAX_AGE_S`: `segbench probe --measure` refreshes them, a run measures what
it lacks. A cached entry is used only when it is of this device and torch and every figure in it is
a finite positive number of the right type (`valid`); anything else is measured again. Where the
cache cannot be written, what was measured is kept in memory for the process and a warning says so.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
MAX_AGE_S = 6 * 3600  # a machine's load changes; a run older than this measures again
TARGET_S = 0.05  # one matmul should take about this long
MAX_SIDE = {"cpu": 4096, "cuda": 16384, "mps": 8192}
COPY_BYTES = 256 * 2**20
CACHE_ENV = "SEGBENCH_CACHE"


def cache_path() -> Path:
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "segbench").expanduser()
    return root / "roofline.json"


def machine_key(device: Any) -> str:
    import torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    return f"{socket.gethostname()}|{device}|{name}|threads={torch.get_num_threads()}|torch={torch.__version__}"


def _settings():
    from segbench.measure.harness import MeasureSettings

    return MeasureSettings(warmup=2, min_iters=5, min_time_s=0.3, max_iters=200)


def _dtype(precision: str):
    import torch

    return {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


@contextlib.contextmanager
def _tf32(device: Any, on: bool):
    """TF32 matmuls on an Ampere+ GPU for the "tf32" figure; plain fp32 for "fp32"."""
    import torch

    if device.type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = on
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def measure_matmul(device: Any, precision: str) -> dict[str, Any]:
    """Dense matmul throughput at `precision` on `device`, TFLOP/s (multiply-add = 2 FLOPs)."""
    import torch

    from segbench.measure.harness import Timer, measure

    dtype = _dtype(precision)
    timer = Timer(device)
    side = 512
    with _tf32(device, precision == "tf32"):
        probe_a = torch.randn(side, side, device=device).to(dtype)
        # The fastest of a few: the first call pays for thread pools and kernel selection.
        first = min(timer(lambda: probe_a @ probe_a) for _ in range(3))
        # Size the product so one takes about TARGET_S (a matmul scales with the cube of its side).
        scale = (TARGET_S / max(first, 1e-6)) ** (1 / 3)
        side = int(min(MAX_SIDE.get(device.type, 4096), max(256, side * scale)) // 128 * 128)
        a = torch.randn(side, side, device=device).to(dtype)
        b = torch.randn(side, side, device=device).to(dtype)
        result = measure(lambda: a @ b, timer, _settings())
    flops = 2.0 * side**3
    return {"tflops": flops / _median(result.samples_s) / 1e12, "best_tflops": flops / min(result.samples_s) / 1e12,
            "side": side, "samples": len(result.samples_s), "measured_at": _now()}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def measure_bandwidth(device: Any) -> dict[str, Any]:
    """Device memory copy bandwidth (read + write), and host<->device copies on a GPU, GB/s."""
    import torch

    from segbench.measure.harness import Timer, measure

    timer = Timer(device)
    n = COPY_BYTES // 4
    x = torch.empty(n, device=device)
    y = torch.empty_like(x)
    copy = measure(lambda: y.copy_(x), timer, _settings())
    out = {"copy_gbs": 2 * COPY_BYTES / _median(copy.samples_s) / 1e9}
    if device.type == "cuda":
        host = torch.empty(n, pin_memory=True)
        h2d = measure(lambda: x.copy_(host, non_blocking=True), timer, _settings())
        d2h = measure(lambda: host.copy_(x, non_blocking=True), timer, _settings())
        out.update(h2d_gbs=COPY_BYTES / _median(h2d.samples_s) / 1e9, d2h_gbs=COPY_BYTES / _median(d2h.samples_s) / 1e9)
    return out


def _median(samples: list[float]) -> float:
    return sorted(samples)[len(samples) // 2]


def applicable(device: Any) -> tuple[str, ...]:
    """The precisions worth measuring on `device` (TF32 exists on CUDA GPUs only)."""
    return PRECISIONS if device.type == "cuda" else tuple(p for p in PRECISIONS if p != "tf32")


def measure_roofline(device: Any, precisions: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Every applicable precision's matmul rate and the bandwidths, with how and when they were measured."""
    import torch

    start = time.perf_counter()
    chosen = tuple(p for p in (precisions or applicable(device)) if p in applicable(device))
    matmul = {p: measure_matmul(device, p) for p in chosen}
    out = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "matmul": matmul,
        **measure_bandwidth(device),
        "measured_at": _now(),
        "seconds": round(time.perf_counter() - start, 2),
        "method": "segbench harness: median of >= 5 timed square matmuls per precision (side sized for ~50 ms), "
                  f"{COPY_BYTES // 2**20} MiB tensor copies",
    }
    _store(device, out)
    return out


def _load_cache() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


# -- what a cached entry must be before it is used --------------------------------------------------

def _positive(value: Any) -> bool:
    """A finite positive number (not a bool, a string or NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def valid_rate(rate: Any) -> bool:
    """One precision's matmul figure as `measure_matmul` writes it."""
    return (isinstance(rate, dict) and _positive(rate.get("tflops"))
            and all(isinstance(rate.get(k), int) and not isinstance(rate.get(k), bool) and rate[k] > 0
                    for k in ("side", "samples"))
            and isinstance(rate.get("measured_at"), str)
            and ("best_tflops" not in rate or _positive(rate["best_tflops"])))


def valid(entry: Any, device: Any) -> bool:
    """A roofline of `device` under this torch, each figure in its sanity range: what may be used."""
    import torch

    if not isinstance(entry, dict) or not isinstance(entry.get("matmul"), dict):
        return False
    if entry.get("device", str(device)) != str(device) or entry.get("torch", torch.__version__) != torch.__version__:
        return False
    if not all(p in PRECISIONS and valid_rate(rate) for p, rate in entry["matmul"].items()):
        return False
    return _positive(entry.get("copy_gbs")) and all(_positive(entry[k]) for k in ("h2d_gbs", "d2h_gbs") if k in entry)


# Measured where the cache could not be written: (cache path, machine key) -> the roofline, for this process.
_MEMORY: dict[tuple[str, str], dict[str, Any]] = {}
_WARNED: set[str] = set()


def _merge(old: Any, measurement: dict[str, Any], device: Any) -> dict[str, Any]:
    """What was measured now over what was there (a corrupt old entry contributes nothing)."""
    old = old if valid(old, device) else {}
    return {**old, **measurement, "matmul": {**(old.get("matmul") or {}), **measurement.get("matmul", {})}}


def _store(device: Any, measurement: dict[str, Any]) -> dict[str, Any]:
    """Merge into the cache and return the merged entry. A cache that cannot be written never fails a
    run: the entry is kept in memory for this process instead."""
    from segbench.atomic import atomic_write_text

    data = _load_cache()
    key = machine_key(device)
    memory_key = (str(cache_path()), key)
    merged = _merge(_MEMORY.get(memory_key) or data.get(key), measurement, device)
    data[key] = merged
    try:
        atomic_write_text(cache_path(), json.dumps(data, indent=1, sort_keys=True))
        _MEMORY.pop(memory_key, None)
    except OSError as exc:
        _MEMORY[memory_key] = merged
        _warn_once(f"the measured roofline was not cached ({cache_path()}: {exc.strerror or exc}); "
                   "it is used for this run and measured again by the next")
    return merged


def _warn_once(message: str) -> None:
    import warnings

    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _fresh(entry: dict[str, Any], when_key: str = "measured_at") -> bool:
    try:
        when = _dt.datetime.fromisoformat(entry[when_key])
    except (KeyError, TypeError, ValueError):
        return False
    if when.tzinfo is None:
        return False
    return (_dt.datetime.now(_dt.timezone.utc) - when).total_seconds() < MAX_AGE_S


def _entry(device: Any) -> dict[str, Any] | None:
    """This process's own measurement where the cache could not hold it, else the cached entry, if valid."""
    entry = _MEMORY.get((str(cache_path()), machine_key(device))) or _load_cache().get(machine_key(device))
    return entry if valid(entry, device) else None


def cached(device: Any) -> dict[str, Any] | None:
    """The fresh, valid cached roofline of `device` on this machine, or None (nothing is measured)."""
    entry = _entry(device)
    return entry if entry is not None and _fresh(entry) else None


def roofline_for(device: Any, precision: str) -> dict[str, Any]:
    """This machine's measured matmul rate at `precision` and its bandwidth: from the cache when fresh
    and valid, else measured now (that precision only) and cached, or kept in memory where the cache
    cannot be written."""
    entry = cached(device)
    if entry is not None and _fresh(entry["matmul"].get(precision) or {}):
        return entry
    measured = measure_roofline(device, (precision,))
    return _entry(device) or measured  # merged with what was cached (or kept in memory) before
