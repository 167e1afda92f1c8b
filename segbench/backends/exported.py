"""An exported graph of the slot's network, run by an external runtime: exported to ONNX on the first
call per input shape (torch.onnx, the dynamo exporter) and cached on disk by a key of the model, the
slot, the input shapes and dtypes, a digest of the weights and the torch version, so a second run pays
only the session's load time.

A cache entry is trusted only after it is verified: its sidecar .json holds the key it was exported
under and a digest of the .onnx file, and both must match before the file is loaded. An entry of
other weights (planted under the same name, or a sidecar edited), an unreadable sidecar or a missing
or corrupt .onnx is exported again, and the point's one-off record says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
import weakref
from pathlib import Path
from typing import Any, Protocol

import torch


class Runtime(Protocol):
    """What a backend file provides for an exported graph: its name, how it loads the file and runs it."""

    name: str

    def load(self, path: Path) -> Any: ...

    def run(self, session: Any, arrays: list[Any]) -> list[Any]: ...


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


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def cache_key(model_name: str, slot_name: str, shapes: tuple, weights: str) -> dict[str, Any]:
    """Everything an export depends on: a graph made under another key computes something else."""
    return {"model": model_name, "slot": slot_name, "inputs": [[list(s), d] for s, d in shapes],
            "weights": weights, "torch": torch.__version__}


def entry_path(key: dict[str, Any]) -> Path:
    name = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / f"{key['model']}-{key['slot']}-{name}.onnx"


def verified(path: Path, key: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(the sidecar, "") when the cached entry at `path` was exported under `key` and its .onnx is the
    file it wrote; else (None, why it is not used)."""
    meta_path = path.with_suffix(".json")
    if not meta_path.exists() and not path.exists():
        return None, ""  # not cached: nothing to say
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"its sidecar is unreadable ({type(exc).__name__})"
    if not isinstance(meta, dict) or meta.get("key") != key:
        return None, "its sidecar's key (weights, input shapes, torch version, model, slot) does not match"
    export_s = meta.get("export_s")
    if not isinstance(export_s, (int, float)) or isinstance(export_s, bool) or not 0 <= export_s < float("inf"):
        return None, "its sidecar's export time is not a number"
    try:
        digest = file_digest(path)
    except OSError:
        return None, "its .onnx file is missing"
    if digest != meta.get("onnx_digest"):
        return None, "its .onnx file is not the one exported (digest differs)"
    return meta, ""


class Exported(torch.nn.Module):
    """Runs the slot through an exported graph; `flatten`/`unflatten` map the network's structured
    output to the graph's flat outputs and back."""

    def __init__(self, module: torch.nn.Module, model_name: str, slot: Any, precision: str,
                 device: torch.device, runtime: Runtime) -> None:
        super().__init__()
        self.inner = module
        self.model_name, self.slot_name = model_name, slot.name
        self.flatten, self.unflatten = slot.flatten, slot.unflatten
        self.precision, self.device = precision, device
        self.runtime = runtime
        self.sessions: dict[tuple, Any] = {}
        self.costs: list[dict[str, Any]] = []

    def forward(self, *args: torch.Tensor) -> Any:
        shapes = tuple((tuple(a.shape), str(a.dtype)) for a in args)
        if shapes not in self.sessions:
            self.sessions[shapes] = self._prepare(args, shapes)
        arrays = [a.detach().float().cpu().numpy() for a in args]
        outs = self.runtime.run(self.sessions[shapes], arrays)
        return self.unflatten(tuple(torch.from_numpy(o).to(self.device) for o in outs))

    def _prepare(self, args: tuple[torch.Tensor, ...], shapes: tuple) -> Any:
        key = cache_key(self.model_name, self.slot_name, shapes, weights_digest(self.inner))
        path = entry_path(key)
        meta, why = verified(path, key)
        cost: dict[str, Any] = {"cached": meta is not None, "file": str(path)}
        if meta is not None:
            cost["export_s"] = float(meta["export_s"])
        else:
            cost["export_s"] = self._export(args, path, key)
            if why:
                cost["reexported"] = f"the cached export was not used: {why}"
        t0 = time.perf_counter()
        session = self.runtime.load(path)
        cost["load_s"] = time.perf_counter() - t0
        self.costs.append(cost)
        return session

    def _export(self, args: tuple[torch.Tensor, ...], path: Path, key: dict[str, Any]) -> float:
        from segbench.atomic import atomic_write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        flat = _Flat(self.inner, self.flatten)
        with torch.inference_mode(False), torch.no_grad(), torch.autocast(self.device.type, enabled=False):
            inputs = tuple(a.detach().clone().float() for a in args)
            export_s = export_onnx(flat, inputs, path)
        atomic_write_text(path.with_suffix(".json"), json.dumps(
            {"key": key, "onnx_digest": file_digest(path), "export_s": export_s}, indent=1))
        return export_s

    def one_off(self) -> dict[str, Any]:
        export = sum(c["export_s"] for c in self.costs)
        paid = sum(c["export_s"] for c in self.costs if not c["cached"])  # a cached export was not paid again
        load = sum(c["load_s"] for c in self.costs)
        out = {"kind": "export", "seconds": paid + load, "export_s": export, "load_s": load,
               "cached": bool(self.costs) and all(c["cached"] for c in self.costs), "shapes": len(self.costs),
               "files": [c["file"] for c in self.costs],
               "detail": f"ONNX export (torch.onnx, dynamo) and {self.runtime.name} session load per input shape; "
                         "a cached export costs only the load, the export seconds are the first run's"}
        reexported = [c["reexported"] for c in self.costs if "reexported" in c]
        if reexported:
            out["reexported"] = reexported
        return out


class _Flat(torch.nn.Module):
    """The network with its output flattened to a tuple of tensors (what ONNX graphs return)."""

    def __init__(self, module: torch.nn.Module, flatten: Any) -> None:
        super().__init__()
        self.module, self.flatten = module, flatten

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.flatten(self.module(*args)))
