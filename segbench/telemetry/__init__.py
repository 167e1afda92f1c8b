"""Telemetry beside a run: the sampler thread (sampler.py) and soak analysis (soak.py).

Formats are fixed in segbench/telemetry/FORMAT.md.
"""

from segbench.telemetry.sampler import TelemetrySampler, sidecar_path, summarize

__all__ = ["TelemetrySampler", "sidecar_path", "summarize"]
