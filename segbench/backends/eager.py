"""Eager PyTorch: the workload's own network, nothing replaced. At fp32 and uncompiled it is the
reference every other configuration's fidelity is checked against."""

from __future__ import annotations

from segbench.backends.base import Backend

BACKEND = Backend(name="eager", help="PyTorch as the model library calls it (the reference)", replaces="nothing")
