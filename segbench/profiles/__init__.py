"""The data segbench stands on, shipped inside the package: the GPU/CPU catalog, build tiers and
parts, published timings, calibration runs, counted footprints and the fitted performance model.

Files are found with `importlib.resources`, so an installed wheel works from any folder.
`$SEGBENCH_PROFILES` names a folder that replaces this one (a user's own catalog, or a maintainer's
working copy). Nothing in segbench writes here: the maintenance tools (`python -m segbench.maintenance`)
write to a path they are given.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PROFILES_ENV = "SEGBENCH_PROFILES"


def profiles_dir() -> Path:
    """`$SEGBENCH_PROFILES` if set, else this package's own folder."""
    env = os.environ.get(PROFILES_ENV)
    if env:
        return Path(env).expanduser()
    # Wheels install unpacked, so the package's resources are a plain folder on disk.
    return Path(str(resources.files(__name__)))


def profile_path(file_name: str) -> Path:
    """Where the profile `file_name` (e.g. "gpus.yaml") is read from."""
    return profiles_dir() / file_name
