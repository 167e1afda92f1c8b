"""Thresholds every layer of the advisor (and doctor) applies the same way."""

OOM_HEADROOM = 0.9  # a predicted peak at 90% of a device's memory or more is an `oom` risk
