"""`segbench doctor`: find what breaks first on this machine (or a GPU about to be bought).

    ctx = gather(DoctorRequest(workload="video"))                          # facts, once
    findings = run_checks(ctx)                                             # ok / warn / fail / skipped
    exit_code(findings)                                                    # 1 when something fails

Every outside boundary (the pynvml module, torch's CUDA state, host facts, the families' extensions,
the memory model, the GPU catalog) is a parameter of `gather`, so tests use fakes.
"""

from segbench.doctor.checks import CHECKS, run_checks
from segbench.doctor.context import (
    DoctorContext,
    DoctorRequest,
    ExtensionState,
    MemoryNeed,
    TargetGPU,
    gather,
)
from segbench.doctor.findings import SEVERITIES, Finding, counts, exit_code
from segbench.doctor.hostfacts import CpuFreqPolicy, HostFacts
from segbench.doctor.torchstate import TorchCudaState

__all__ = [
    "CHECKS",
    "SEVERITIES",
    "CpuFreqPolicy",
    "DoctorContext",
    "DoctorRequest",
    "Finding",
    "HostFacts",
    "MemoryNeed",
    "ExtensionState",
    "TargetGPU",
    "TorchCudaState",
    "counts",
    "exit_code",
    "gather",
    "run_checks",
]
