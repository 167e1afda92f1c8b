"""An exported graph of the slot's network, run by an external runtime: exported to ONNX on the first
call per input shape (torch.onnx, the dynamo exporter) and cached on disk by a key of the model, the
slot, the input shapes, a digest of the weights and the torch version, so a second run pays only
the session's load time. Subclasses say how a runtime loads and runs the file."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
import warnings
import weakref
from pathlib import Path
from typing import Any

import torch

from segbench.errors import SegbenchError


class BackendUnavailable(SegbenchError):
    """A backend that cannot run this point here (not installed, wrong device or precision): the
    point becomes a failed row and the sweep goes on."""


def require(module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise BackendUnavailable(f"{module} is not installed: pip install 'segbench[{extra}]'")


def cache_dir() -> Path:
    """$SEGBENCH_CACHE/exports, else ~/.cache/segbench/exports."""
    root = os.environ.get("SEGBENCH_CACHE") or Path.home() / ".cache" / "segbench"
    return Path(root) / "exports"


_DIGESTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # ids are reused once a model is freed


def weights_digest(module: torch.nn.Module) -> str:
    """Of every parameter and buffer: random weights differ between builds, and a cached graph of other
    weights would fail the fidelity check for no fault of the backend."""
    key = module
    if key not in _DIGESTS:
        h = hashlib.blake2b(digest_size=12)
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            h.update(name.encode())
            h.update(t.detach().to("cpu", copy=False).contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def export_onnx(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], path: Path) -> float:
    """Export to `path` (atomically), returning the seconds it took."""
    from segbench.atomic import atomic_write_bytes

    t0 = time.perf_counter()
    tmp = path.with_suffix(".partial.onnx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, inputs, dynamo=True, verbose=False)
            program.save(str(tmp))
        atomic_write_bytes(path, tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return time.perf_counter() - t0


class Exported(torch.nn.Module):
    """Runs the slot through an exported graph; `flatten`/`unflatten` map the network's structured
    output to the graph's flat outputs and back."""

    runtime = ""

    def __init__(self, module: torch.nn.Module, model_name: str, slot: Any, precision: str,
                 device: torch.device) -> None:
        super().__init__()
        require("onnxscript", "backends")  # torch's dynamo ONNX exporter
        self.inner = module
        self.model_name, self.slot_name = model_name, slot.name
        self.flatten, self.unflatten = slot.flatten, slot.unflatten
        self.precision, self.device = precision, device
        self.sessions: dict[tuple, Any] = {}
        self.costs: list[dict[str, Any]] = []

    # -- what a runtime provides ----------------------------------------------------------------
    def load(self, path: Path) -> Any:
        raise NotImplementedError

    def run(self, session: Any, arrays: list[Any]) -> list[Any]:
        raise NotImplementedError

    # -------------------------------------------------------------------------------------------
    def forward(self, *args: torch.Tensor) -> Any:
        shapes = tuple((tuple(a.shape), str(a.dtype)) for a in args)
        if shapes not in self.sessions:
            self.sessions[shapes] = self._prepare(args, shapes)
        arrays = [a.detach().float().cpu().numpy() for a in args]
        outs = self.run(self.sessions[shapes], arrays)
        return self.unflatten(tuple(torch.from_numpy(o).to(self.device) for o in outs))

    def _prepare(self, args: tuple[torch.Tensor, ...], shapes: tuple) -> Any:
        key = hashlib.sha1(json.dumps([self.model_name, self.slot_name, [list(s) for s, _ in shapes],
                                       weights_digest(self.inner), torch.__version__]).encode()).hexdigest()[:16]
        path = cache_dir() / f"{self.model_name}-{self.slot_name}-{key}.onnx"
        meta_path = path.with_suffix(".json")
        cached = path.exists() and meta_path.exists()
        if cached:
            export_s = float(json.loads(meta_path.read_text())["export_s"])
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            flat = _Flat(self.inner, self.flatten)
            with torch.inference_mode(False), torch.no_grad(), torch.autocast(self.device.type, enabled=False):
                inputs = tuple(a.detach().clone().float() for a in args)
                export_s = export_onnx(flat, inputs, path)
            from segbench.atomic import atomic_write_text

            atomic_write_text(meta_path, json.dumps({"export_s": export_s, "model": self.model_name,
                                                     "slot": self.slot_name, "torch": torch.__version__}))
        t0 = time.perf_counter()
        session = self.load(path)
        self.costs.append({"export_s": export_s, "cached": cached, "load_s": time.perf_counter() - t0,
                           "file": str(path)})
        return session

    def one_off(self) -> dict[str, Any]:
        export = sum(c["export_s"] for c in self.costs)
        paid = sum(c["export_s"] for c in self.costs if not c["cached"])  # a cached export was not paid again
        load = sum(c["load_s"] for c in self.costs)
        return {"kind": "export", "seconds": paid + load, "export_s": export, "load_s": load,
                "cached": bool(self.costs) and all(c["cached"] for c in self.costs), "shapes": len(self.costs),
                "files": [c["file"] for c in self.costs],
                "detail": f"ONNX export (torch.onnx, dynamo) and {self.runtime} session load per input shape; "
                          "a cached export costs only the load, the export seconds are the first run's"}


class _Flat(torch.nn.Module):
    """The network with its output flattened to a tuple of tensors (what ONNX graphs return)."""

    def __init__(self, module: torch.nn.Module, flatten: Any) -> None:
        super().__init__()
        self.module, self.flatten = module, flatten

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.flatten(self.module(*args)))
