"""The advisor's units: memory in GiB (what nvidia-smi's MiB and a card's "GB" mean)."""

from __future__ import annotations

GIB = 2**30
