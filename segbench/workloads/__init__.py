"""Workloads: the inputs and the step to time for each way people use a segmentation model."""

from segbench.workloads.base import Workload, WorkloadOptions
from segbench.workloads.registry import WORKLOADS, build_workload

__all__ = ["Workload", "WorkloadOptions", "WORKLOADS", "build_workload"]
