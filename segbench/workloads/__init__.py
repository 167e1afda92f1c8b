"""Workloads: the inputs and the step to time for each way people use a segmentation model.

`segbench.workload_catalog` names them and holds their defaults (ground-floor data every layer
reads); `base` is the interface a family's workload class implements; `images` and `volume` prepare inputs (and the sliding-window inference any 3D network
shares). Which class serves a workload for a model is the family's business (`segbench.families`).
"""

from segbench.workload_catalog import WORKLOAD_NAMES
from segbench.workloads.base import Workload, WorkloadOptions

__all__ = ["Workload", "WorkloadOptions", "WORKLOAD_NAMES"]
