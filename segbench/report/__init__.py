"""Turning result records into something people and CI can read.

- `load`: read result files (and telemetry sidecars) with warnings collected, not printed.
- `frame`: records -> one flat pandas table, tolerant of absent fields.
- `plots`, `telemetry_plot`: the PNG figures; `build`: the report folder (PNGs, index.html, summary.md).
- `compare_stats`, `compare`: the regression gate (bootstrap CI + Mann-Whitney + threshold).
- `pytest_benchmark`: export in pytest-benchmark's JSON format.
"""
