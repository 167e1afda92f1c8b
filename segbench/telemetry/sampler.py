"""A background thread that samples GPU (NVML) and CPU/process (psutil) signals beside a run.

Samples and summaries follow segbench/telemetry/FORMAT.md: a sample is a flat dict
`{"t": seconds since start, "gpu0.temperature_c": ..., "cpu.util_pct": ..., ...}`, a signal is
absent when its sensor is not there, and `summary()` gives min/median/max per numeric signal,
seconds under each throttle reason and whether the run throttled.

Use it as a context manager::

    with TelemetrySampler(interval_s=0.1) as sampler:
        run_the_workload()
    record.telemetry = sampler.summary()

GPU values come from `probe.nvml.NvmlSession.sample`, the same query `segbench probe` uses. Each
sample costs about 0.1-0.3 ms of CPU (psutil reads /sys; NVML calls are microseconds each), so
at 10 Hz the sampler uses well under 1 % of one core.
For tests, `nvml` takes a fake pynvml module and `clock` a fake clock; `start(background=False)`
then lets the test call `sample_once()` itself.
"""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import psutil

from segbench.probe.host import cpu_freq_mhz, cpu_temp_c
from segbench.probe.nvml import NvmlSession, NvmlUnavailable, nvml_index, throttling
from segbench.atomic import atomic_append_text

SIDECAR_SUFFIX = ".telemetry.jsonl"


def sidecar_path(results_path: str | Path) -> Path:
    """`results/run-x.jsonl` -> `results/run-x.telemetry.jsonl` (a sidecar path is kept as is)."""
    path = Path(results_path)
    if path.name.endswith(SIDECAR_SUFFIX):
        return path
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def throttle_signals(sample: dict[str, Any]) -> Iterable[tuple[str, list[str]]]:
    """(signal name, reasons) for each `gpuN.throttle` list in a sample."""
    for key, value in sample.items():
        if key.endswith(".throttle") and isinstance(value, list):
            yield key, value


def sample_spans(samples: Sequence[dict[str, Any]], interval_s: float) -> list[float]:
    """How long each sample stands for: until the next sample; the last one, one interval."""
    times = [float(s["t"]) for s in samples]
    return [max(0.0, b - a) for a, b in itertools.pairwise(times)] + ([interval_s] if times else [])


def summarize(samples: Sequence[dict[str, Any]], interval_s: float) -> dict[str, Any]:
    """The Record.telemetry summary of `samples` (without "sidecar")."""
    numeric: dict[str, list[float]] = {}
    throttle_s: dict[str, float] = {}
    throttle_count: dict[str, int] = {}
    for sample, span in zip(samples, sample_spans(samples, interval_s)):
        for key, value in sample.items():
            if key != "t" and isinstance(value, (int, float)) and not isinstance(value, bool):
                numeric.setdefault(key, []).append(float(value))
        # A reason on several GPUs at once is counted once: the machine was throttled for that time.
        reasons = {r for _, names in throttle_signals(sample) for r in throttling(names)}
        for reason in reasons:
            throttle_s[reason] = throttle_s.get(reason, 0.0) + span
            throttle_count[reason] = throttle_count.get(reason, 0) + 1
    duration = float(samples[-1]["t"]) - float(samples[0]["t"]) if samples else 0.0
    return {
        "interval_s": interval_s,
        "n_samples": len(samples),
        "duration_s": round(duration, 3),
        "signals": {
            key: {"min": min(values), "median": statistics.median(values), "max": max(values)}
            for key, values in sorted(numeric.items())
        },
        "throttle_s": {reason: round(seconds, 3) for reason, seconds in sorted(throttle_s.items())},
        # "For more than one sample interval": seen in two samples or more. Counting samples rather
        # than comparing seconds keeps one late sample (jitter) from turning a blip into throttling.
        "throttled": any(count >= 2 for count in throttle_count.values()),
    }


class TelemetrySampler:
    """Samples every `interval_s` seconds in a daemon thread between `start()` and `stop()`."""

    def __init__(
        self,
        interval_s: float = 0.1,
        *,
        nvml: Any = None,
        gpus: bool = True,
        cuda_index: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`nvml`: a pynvml-like module (default: import pynvml); `gpus=False` samples CPU only;
        `cuda_index`: sample only the GPU torch calls cuda:N (matched by UUID), not every card.
        `clock`: seconds, monotonic; sample times are `clock() - clock()` at start."""
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.interval_s = float(interval_s)
        self._nvml_module = nvml
        self._want_gpus = gpus
        self._cuda_index = cuda_index
        self._gpu_indices: list[int] = []
        self._clock = clock
        self._samples: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: NvmlSession | None = None
        self._process: psutil.Process | None = None
        self._cpu_temp = False
        self._t0: float | None = None
        self._sidecar: str | None = None
        self.gpu_note: str | None = None
        self.errors: list[str] = []  # unexpected failures inside the thread, kept rather than raised

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, background: bool = True) -> TelemetrySampler:
        if self._t0 is not None:
            raise RuntimeError("this TelemetrySampler has already been started")
        if self._want_gpus:
            try:
                self._session = NvmlSession.open(self._nvml_module)
            except NvmlUnavailable as exc:
                self.gpu_note = str(exc)
            else:
                self._gpu_indices = (
                    list(range(self._session.count))
                    if self._cuda_index is None
                    else [nvml_index(self._cuda_index, self._session.uuids())]
                )
        self._process = psutil.Process()
        # Most VMs and containers have no CPU sensor; not looking again saves half of each sample.
        self._cpu_temp = cpu_temp_c() is not None
        psutil.cpu_percent(interval=None)  # the first call only sets psutil's reference point
        self._t0 = self._clock()
        self.sample_once()
        if background:
            self._thread = threading.Thread(target=self._run, name="segbench-telemetry", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (joining it), take a last sample, and release NVML. Safe to call twice."""
        if self._t0 is None or self._stop_event.is_set():
            return
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 5 * self.interval_s))
        with self._lock:
            last_t = self._samples[-1]["t"] if self._samples else None
        # The last stretch since the previous sample (e.g. the end of a run) is worth a sample.
        if last_t is None or self.now() - last_t >= self.interval_s / 2:
            self._safe_sample()
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> TelemetrySampler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()  # also on exceptions and KeyboardInterrupt; never swallows them

    def _run(self) -> None:
        next_at = time.monotonic() + self.interval_s
        while not self._stop_event.wait(max(0.0, next_at - time.monotonic())):
            self._safe_sample()
            next_at += self.interval_s
            if next_at < time.monotonic():  # fell behind (suspended machine): do not burst
                next_at = time.monotonic() + self.interval_s

    def _safe_sample(self) -> None:
        try:
            self.sample_once()
        except Exception as exc:  # a sampler must never take the run down with it
            if len(self.errors) < 10:
                self.errors.append(f"{type(exc).__name__}: {exc}")

    # -- sampling -----------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since start on the sampler's clock (use it to stamp soak windows)."""
        if self._t0 is None:
            raise RuntimeError("the sampler has not been started")
        return self._clock() - self._t0

    def sample_once(self) -> dict[str, Any]:
        """Read every signal once, store the sample and return it."""
        sample: dict[str, Any] = {"t": round(self.now(), 4)}
        if self._session is not None:
            for index in self._gpu_indices:
                for key, value in self._session.sample(index).items():
                    if value is not None:
                        sample[f"gpu{index}.{key}"] = value
        freq, _ = cpu_freq_mhz()
        if freq is not None:
            sample["cpu.freq_mhz"] = freq
        sample["cpu.util_pct"] = psutil.cpu_percent(interval=None)
        temp = cpu_temp_c() if self._cpu_temp else None
        if temp is not None:
            sample["cpu.temp_c"] = temp
        if self._process is not None:
            try:
                sample["proc.rss_bytes"] = self._process.memory_info().rss
            except (psutil.Error, OSError):
                pass
        with self._lock:
            self._samples.append(sample)
        return sample

    @property
    def samples(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._samples)

    def latest(self) -> dict[str, Any] | None:
        """The most recent sample (no copy of the whole list; for checks inside a loop)."""
        with self._lock:
            return self._samples[-1] if self._samples else None

    def samples_between(self, t_start: float, t_end: float) -> list[dict[str, Any]]:
        """Samples with t_start <= t <= t_end (times as given by `now()`)."""
        return [s for s in self.samples if t_start <= s["t"] <= t_end]

    # -- results ------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The Record.telemetry summary; "sidecar" is the file `write_sidecar` wrote, else None."""
        out = summarize(self.samples, self.interval_s)
        out["sidecar"] = self._sidecar
        return out

    def write_sidecar(self, path: str | Path, record_id: str) -> Path:
        """Append every sample, tagged with `record_id`, to the sidecar of results file `path`."""
        target = write_sidecar(path, record_id, self.samples)
        self._sidecar = str(target)
        return target


def write_sidecar(path: str | Path, record_id: str, samples: Sequence[dict[str, Any]]) -> Path:
    """Append `samples`, tagged with `record_id`, to the sidecar of results file `path`."""
    target = sidecar_path(path)
    lines = "".join(json.dumps({"record_id": record_id, **s}, sort_keys=True) + "\n" for s in samples)
    atomic_append_text(target, lines)
    return target
