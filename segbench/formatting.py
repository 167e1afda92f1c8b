"""Small, shared text helpers for tables, plot labels and file names."""

from __future__ import annotations

import math
import re
from typing import Any

_GIB = 1024**3
_MIB = 1024**2


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt_seconds(value: Any) -> str:
    """Seconds in the unit a person reads best (µs, ms, s; minutes, hours, days for a job's length);
    '—' when absent."""
    if not is_number(value):
        return "—"
    if value >= 2 * 86400:
        return f"{value / 86400:.1f} days"
    if value >= 2 * 3600:
        return f"{value / 3600:.1f} h"
    if value >= 120:
        return f"{value / 60:.0f} min"
    if value >= 1:
        return f"{value:.3g} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def fmt_bytes(value: Any) -> str:
    if not is_number(value):
        return "—"
    if value >= _GIB:
        return f"{value / _GIB:.2f} GiB"
    return f"{value / _MIB:.0f} MiB"


def fmt_number(value: Any, digits: int = 3) -> str:
    if not is_number(value):
        return "—"
    return f"{value:.{digits}g}"


def fmt_percent(value: Any, signed: bool = False) -> str:
    if not is_number(value):
        return "—"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def slug(text: str, max_len: int = 60) -> str:
    """A file-name-safe fragment of `text`: letters, digits, '-', '_' and '.' only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"
    return cleaned[:max_len]
