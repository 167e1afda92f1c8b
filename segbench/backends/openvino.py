"""OpenVINO on the exported ONNX graph, on the CPU (the device a torch run here names), with the
point's precision as its inference hint: without the hint OpenVINO picks bf16 on CPUs that have it,
which would pass an fp32 point off as bf16."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segbench.backends.base import Backend

HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}  # segbench precision -> INFERENCE_PRECISION_HINT


class OpenVino:
    name = "OpenVINO"

    def __init__(self, precision: str, device: Any) -> None:
        self.precision = precision

    def load(self, path: Path) -> Any:
        import openvino as ov
        import torch

        core = ov.Core()
        return core.compile_model(core.read_model(str(path)), "CPU", {
            "INFERENCE_PRECISION_HINT": HINTS[self.precision],
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),
        })

    def run(self, session: Any, arrays: list[Any]) -> list[Any]:
        result = session(arrays)
        return [result[out] for out in session.outputs]


BACKEND = Backend(
    name="openvino",
    help="the network exported to ONNX and run by OpenVINO on the CPU",
    precisions=tuple(HINTS),
    devices=("cpu",),
    extra="backends",
    modules=("openvino", "onnxscript"),
    runtime=OpenVino,
)
