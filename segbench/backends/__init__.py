"""How a workload runs: eager PyTorch, torch.compile, an exported graph in ONNX Runtime or OpenVINO,
or the model library's own loop.

Each backend is one file here with a descriptor (`segbench.backends.base.Backend`: its precisions,
devices, what it replaces, the extra it needs, how it builds its runtime), listed by
`segbench.backends.catalog`. A network backend replaces the part of a workload's step that a
`NetworkSlot` names (SAM 2.1's image encoder, Mask2Former's network, a MONAI network) and keeps what
it costs once (compile, export) apart from the steady state. It knows neither workloads nor the
harness: `segbench.bench.point` installs it around one point and checks its outputs against the fp32
eager reference (`segbench.measure.fidelity`).
"""

from segbench.backends.execution import Execution, parse_execution
from segbench.backends.slot import NetworkSlot

__all__ = ["Execution", "NetworkSlot", "parse_execution"]
