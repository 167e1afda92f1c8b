"""Time a step: warm-up excluded, device synchronised around every clock read, repeated until
both a minimum count and a minimum time are met (the optimum-benchmark / torch.utils.benchmark habit)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar

import torch

from segbench.limits import MAX_ITERS, MIN_ITERS, MIN_TIME_S, WARMUP, Rule, check_fields
from segbench.measure.device import synchronize


@dataclass
class MeasureSettings:
    warmup: int = 2  # iterations run and thrown away first (allocator, autotuning, caches)
    min_iters: int = 5  # never fewer timed iterations than this...
    min_time_s: float = 3.0  # ...and keep going until this much timed time has passed
    max_iters: int = 1000  # a safety stop for very fast steps

    RULES: ClassVar[dict[str, Rule]] = {"warmup": Rule(WARMUP), "min_iters": Rule(MIN_ITERS),
                                        "min_time_s": Rule(MIN_TIME_S), "max_iters": Rule(MAX_ITERS)}

    def check(self, where: str = "settings", path: str = "") -> None:
        """Types and the stated limits (segbench.limits): a one-line InputError naming the field."""
        check_fields(self, self.RULES, where, path)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Measurement:
    samples_s: list[float] = field(default_factory=list)
    warmup_s: list[float] = field(default_factory=list)
    interrupted: bool = False


class Timer:
    """Times one call. CUDA: events recorded on the stream, read after a sync. Else: a host clock."""

    def __init__(self, device: torch.device, clock: Callable[[], float] = time.perf_counter) -> None:
        self.device = device
        self.clock = clock

    def __call__(self, fn: Callable[[], Any]) -> float:
        if self.device.type == "cuda":
            # Events are recorded on the current stream of the *current* device: make it ours (cuda:1...).
            with torch.cuda.device(self.device):
                synchronize(self.device)
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                return start.elapsed_time(end) / 1000.0
        synchronize(self.device)
        t0 = self.clock()
        fn()
        synchronize(self.device)
        return self.clock() - t0


def measure(
    step: Callable[[], Any],
    timer: Timer,
    settings: MeasureSettings,
    on_sample: Callable[[int, float], None] | None = None,
) -> Measurement:
    """Run `step` settings.warmup times untimed-for-stats, then until min_iters and min_time_s are both met.

    Ctrl-C returns what was timed so far with `interrupted=True`; the caller decides what to keep.
    Other exceptions (OOM included) propagate: the sweep turns them into records.
    """
    result = Measurement()
    try:
        for _ in range(settings.warmup):
            result.warmup_s.append(timer(step))
        total = 0.0
        while True:
            n = len(result.samples_s)
            if n >= settings.max_iters:
                break
            if n >= settings.min_iters and total >= settings.min_time_s:
                break
            elapsed = timer(step)
            result.samples_s.append(elapsed)
            total += elapsed
            if on_sample is not None:
                on_sample(n + 1, elapsed)
    except KeyboardInterrupt:
        result.interrupted = True
    return result
