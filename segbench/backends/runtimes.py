"""The two external runtimes: ONNX Runtime and OpenVINO, each on the exported ONNX graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from segbench.backends.exported import BackendUnavailable, Exported, require


class OnnxRuntime(Exported):
    """CPU or CUDA execution provider, as many intra-op threads as torch uses; fp32 graphs only (an
    fp16 graph needs a converted export this backend does not make)."""

    runtime = "ONNX Runtime"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        require("onnxruntime", "backends")
        import onnxruntime as ort

        if self.precision != "fp32":
            raise BackendUnavailable(f"onnxruntime runs the fp32 export here, not {self.precision}: "
                                     "use --precision fp32 with --backend onnxruntime")
        wanted = "CUDAExecutionProvider" if self.device.type == "cuda" else "CPUExecutionProvider"
        if wanted not in ort.get_available_providers():
            raise BackendUnavailable(f"onnxruntime has no {wanted} here (installed: "
                                     f"{', '.join(ort.get_available_providers())})")
        self.provider = wanted

    def load(self, path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        return ort.InferenceSession(str(path), options, providers=[self.provider])

    def run(self, session: Any, arrays: list[Any]) -> list[Any]:
        names = [i.name for i in session.get_inputs()]
        return session.run(None, dict(zip(names, arrays)))


# segbench precision -> OpenVINO's inference precision hint. Without the hint OpenVINO picks bf16 on
# CPUs that have it, which would pass an fp32 point off as bf16.
_OV_PRECISION = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}


class OpenVino(Exported):
    """OpenVINO on the CPU (the device a torch run here names), with the precision as its hint."""

    runtime = "OpenVINO"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        require("openvino", "backends")
        if self.device.type != "cpu":
            raise BackendUnavailable(f"the openvino backend runs on the CPU here, not {self.device}")

    def load(self, path: Path) -> Any:
        import openvino as ov

        core = ov.Core()
        return core.compile_model(core.read_model(str(path)), "CPU", {
            "INFERENCE_PRECISION_HINT": _OV_PRECISION[self.precision],
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),
        })

    def run(self, session: Any, arrays: list[Any]) -> list[Any]:
        result = session(arrays)
        return [result[out] for out in session.outputs]
