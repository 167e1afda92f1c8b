"""Maintainers' tools: regenerate the profiles segbench ships (counted footprints, calibration runs,
the performance model's fit) and the README's advisor tables.

Each writes only to the path it is given (`--out`), never into the installed package; run them from
a checkout with `--out segbench/profiles/<file>`. `python -m segbench.maintenance --help` lists them.
"""
