"""The runner: a `Plan` (what to measure), a worker (measures one model's points and returns records
with the environment it ran in), a sink (appends them atomically) and launchers (inline, or one
fresh process per model) that connect them. `segbench run`, `soak` and the Python API use these.
"""

from segbench.bench.plan import Plan, Point, SoakSettings, validate
from segbench.bench.runner import execute

__all__ = ["Plan", "Point", "SoakSettings", "execute", "validate"]
