"""The advisor's units: memory in GiB (what nvidia-smi's MiB and a card's "GB" mean), and one
duration formatter, built on segbench.formatting.fmt_seconds, for times from milliseconds to days."""

from __future__ import annotations

from segbench.formatting import fmt_seconds

GIB = 2**30


def fmt_duration(seconds: float) -> str:
    """fmt_seconds below two minutes; minutes, hours and days above (a job's length, not a latency)."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return fmt_seconds(seconds)
