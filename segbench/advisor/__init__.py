"""The advisor: predicts speed, VRAM and cost on hardware the user does not own.

`catalog` loads the data in `profiles/` (GPU/CPU specs, build tiers, published timings);
the performance model and the `check` / `recommend` commands build on it.
"""
