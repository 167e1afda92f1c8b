"""Workloads: the inputs and the step to time for each way people use a segmentation model.

`catalog` names them and holds their defaults; `base` is the interface a family's workload class
implements; `images` and `volume` prepare inputs (and the sliding-window inference any 3D network
shares). Which class serves a workload for a model is the family's business (`segbench.families`).
"""

from segbench.workloads.base import Workload, WorkloadOptions
from segbench.workloads.catalog import WORKLOAD_NAMES

__all__ = ["Workload", "WorkloadOptions", "WORKLOAD_NAMES"]
