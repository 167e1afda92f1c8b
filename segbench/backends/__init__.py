"""How a network runs: eager PyTorch, torch.compile, or an exported graph in ONNX Runtime or OpenVINO.

A backend replaces the part of a workload's step that a `NetworkSlot` names (SAM 2.1's image encoder,
Mask2Former's network, a MONAI network) and keeps what it costs once (compile, export) apart from the
steady state. It knows neither workloads nor the harness: `segbench.bench.point` installs it around
one point and checks its outputs against the fp32 eager reference (`segbench.measure.fidelity`).
"""

from segbench.backends.execution import EXECUTIONS, Execution, parse_execution
from segbench.backends.slot import NetworkSlot

__all__ = ["EXECUTIONS", "Execution", "NetworkSlot", "parse_execution"]
