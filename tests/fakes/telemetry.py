"""Telemetry driven over fake time: a `TelemetrySampler` reading a `FakeNVML`, both on one `FakeClock`.

    sampler = sample_fake_gpus([presets.heating_gpu(after=20)], seconds=60, interval_s=0.5)
    sampler.samples, sampler.summary()

No thread and no sleeping: the clock moves by `interval_s` between samples, so a minute of soak
takes milliseconds. The GPUs' `phases` are in seconds of that clock since the start.
"""

from __future__ import annotations

from segbench.telemetry.sampler import TelemetrySampler
from tests.fakes.fake_pynvml import FakeClock, FakeGPU, FakeNVML


def sample_fake_gpus(gpus: list[FakeGPU], seconds: float, interval_s: float = 0.25, **fake_kwargs) -> TelemetrySampler:
    """A stopped sampler holding samples at t = 0, interval_s, ... up to `seconds`."""
    clock = FakeClock()
    nvml = FakeNVML(gpus, clock=clock, **fake_kwargs)
    sampler = TelemetrySampler(interval_s=interval_s, nvml=nvml, clock=clock).start(background=False)
    for _ in range(round(seconds / interval_s)):
        clock.advance(interval_s)
        sampler.sample_once()
    sampler.stop()
    assert nvml.refcount == 0, "the sampler did not release NVML"
    return sampler
