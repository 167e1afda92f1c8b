"""The environment a worker records with its results: the machine's fingerprint, with the versions of
every registered family's libraries (the records layer does not know the families; the runner does)."""

from __future__ import annotations

from typing import Any

from segbench.families.registry import distributions
from segbench.records.environment import fingerprint


def run_environment(device: Any, probe: dict[str, Any] | None = None) -> dict[str, Any]:
    return fingerprint(device, probe, packages=distributions())
