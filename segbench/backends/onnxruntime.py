"""ONNX Runtime on the exported ONNX graph: the CPU or CUDA execution provider, as many intra-op threads
as torch uses. fp32 graphs only: an fp16 graph needs a converted export this backend does not make."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segbench.backends.base import Backend, BackendUnavailable


class OnnxRuntime:
    name = "ONNX Runtime"

    def __init__(self, precision: str, device: Any) -> None:
        import onnxruntime as ort

        wanted = "CUDAExecutionProvider" if device.type == "cuda" else "CPUExecutionProvider"
        if wanted not in ort.get_available_providers():
            raise BackendUnavailable(f"onnxruntime has no {wanted} here (installed: "
                                     f"{', '.join(ort.get_available_providers())})")
        self.provider = wanted

    def load(self, path: Path) -> Any:
        import onnxruntime as ort
        import torch

        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        return ort.InferenceSession(str(path), options, providers=[self.provider])

    def run(self, session: Any, arrays: list[Any]) -> list[Any]:
        names = [i.name for i in session.get_inputs()]
        return session.run(None, dict(zip(names, arrays)))


BACKEND = Backend(
    name="onnxruntime",
    help="the network exported to ONNX and run by ONNX Runtime (fp32 only)",
    precisions=("fp32",),
    precision_note="an fp16 graph needs a converted export this backend does not make",
    devices=("cpu", "cuda"),
    extra="backends",
    modules=("onnxruntime", "onnxscript"),  # onnxscript: torch's dynamo ONNX exporter
    runtime=OnnxRuntime,
)
