"""Calibration data (profile `calibration.yaml`): runs measured on the calibration machine, that
machine's measured roofline, the host pre-processing rate, the memory model's references, and the
assumptions of the fine-tuning advice. Validated on load like every profile; read here only.

`machine`, `host` and `measurements` are written by `python -m segbench.maintenance calibrate`;
`memory` and `finetune` are hand-entered with sources and kept on rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from segbench.advisor.data.catalog import Catalog, CPUSpec, load_catalog
from segbench.errors import InputError
from segbench.profiles import profile_path
from segbench.profiles.reading import Entry, read_yaml, section_list, top_level

FILE = "calibration.yaml"
_MACHINE = ("name", "cpu_model", "basis", "cores", "threads", "fp32_gflops", "bf16_gflops", "memory_bandwidth_gbs",
            "measured", "method")
_MEASUREMENT = ("id", "model", "workload", "precision", "batch_size", "seconds_per_item", "median_seconds_per_item",
                "samples", "rss_growth_bytes", "model_size", "resolution", "frames", "volume", "roi", "kept_masks",
                "points_per_side", "scope", "classes")
_MEMORY_REF = ("id", "model", "size", "weights_bytes_per_param", "peak_mb", "source")
_FINETUNE_NUMBERS = ("labeled_images", "prompts_per_image", "human_seconds_per_image", "epochs", "train_batch_size")


@dataclass(frozen=True)
class Measurement:
    """One calibration point: a configuration and its fastest time per item here."""

    id: str
    model: str
    workload: str
    precision: str
    batch_size: int
    seconds_per_item: float
    rss_growth_bytes: int | None
    conditions: dict[str, Any]  # model_size, resolution, frames, volume, roi, kept_masks, ... as recorded


@dataclass(frozen=True)
class MemoryReference:
    id: str
    model: str
    size: int
    weights_bytes_per_param: float
    peak_mb: float
    source: str


@dataclass(frozen=True)
class Calibration:
    path: Path
    machine: dict[str, Any]
    host_pixel_s: float
    decode_pixel_s: float  # reading a JPEG on the host, per pixel (the pipeline scope)
    decode_voxel_s: float  # reading a .nii.gz volume, per voxel
    measurements: tuple[Measurement, ...]
    cuda_context_gib: float
    allocator_reserve: float
    cpu_runtime_gib: float
    memory_references: tuple[MemoryReference, ...]
    finetune: dict[str, Any] = field(default_factory=dict)

    def reference_machine(self, catalog: Catalog | None = None) -> CPUSpec:
        """The CPU the calibration runs were measured on, as a catalog-style spec."""
        m = self.machine
        basis = (catalog or load_catalog()).get(m["basis"])
        if not isinstance(basis, CPUSpec):
            raise InputError(f"{self.path}: machine: basis '{m['basis']}' is not a CPU in the catalog")
        return replace(basis, name=m["name"], cores=int(m["cores"]), threads=int(m["threads"]),
                       fp32_gflops=float(m["fp32_gflops"]), memory_bandwidth_gbs=float(m["memory_bandwidth_gbs"]),
                       bf16_gflops=float(m["bf16_gflops"]) if m.get("bf16_gflops") else basis.bf16_gflops)


def load_calibration(path: Path | str | None = None) -> Calibration:
    return _load(str(Path(path) if path is not None else profile_path(FILE)))


@lru_cache(maxsize=4)
def _load(path_text: str) -> Calibration:
    path = Path(path_text)
    data = top_level(read_yaml(path), path, ("machine", "host", "measurements", "memory"), ("finetune",))
    machine = Entry(data["machine"], path, "machine", _MACHINE)
    for name in ("name", "cpu_model", "basis"):
        machine.text(name)
    machine.integer("cores")
    machine.integer("threads")
    machine.number("fp32_gflops", positive=True)
    machine.number("bf16_gflops", required=False, positive=True)
    machine.number("memory_bandwidth_gbs", positive=True)
    host = Entry(data["host"], path, "host", ("seconds_per_source_pixel", "decode_seconds_per_pixel",
                                              "decode_seconds_per_voxel", "measured", "method"))
    measurements = []
    for i, raw in enumerate(section_list(data, "measurements", path)):
        e = Entry.listed(raw, path, "measurements", i, _MEASUREMENT, key="id")
        conditions = {k: v for k, v in e.data.items() if k in _MEASUREMENT[9:]}
        measurements.append(Measurement(
            id=e.text("id"), model=e.text("model"), workload=e.text("workload"), precision=e.text("precision"),
            batch_size=e.integer("batch_size"), seconds_per_item=e.number("seconds_per_item", positive=True),
            rss_growth_bytes=e.integer("rss_growth_bytes", required=False, minimum=0), conditions=conditions))
    memory = Entry(data["memory"], path, "memory", ("cuda_context_gib", "cuda_context_source", "allocator_reserve",
                                                     "cpu_runtime_gib", "references", "sources"))
    references = []
    for i, raw in enumerate(memory.data.get("references") or []):
        r = Entry(raw, path, f"memory: references[{i}]", _MEMORY_REF)
        references.append(MemoryReference(r.text("id"), r.text("model"), r.integer("size"),
                                          r.number("weights_bytes_per_param", positive=True),
                                          r.number("peak_mb", positive=True), r.text("source")))
    finetune = data.get("finetune") or {}
    if finetune:
        f = Entry(finetune, path, "finetune", (*_FINETUNE_NUMBERS, "small_model", "source", "sources"))
        from segbench.families.registry import canonical_model

        f.text("small_model")
        canonical_model(str(finetune["small_model"]))  # a registered model: its footprints price both paths
        for name in _FINETUNE_NUMBERS:
            f.number(name, positive=True)
    return Calibration(
        path=path,
        machine=dict(machine.data),
        host_pixel_s=host.number("seconds_per_source_pixel", positive=True),
        decode_pixel_s=host.number("decode_seconds_per_pixel", positive=True),
        decode_voxel_s=host.number("decode_seconds_per_voxel", positive=True),
        measurements=tuple(measurements),
        cuda_context_gib=memory.number("cuda_context_gib"),
        allocator_reserve=memory.number("allocator_reserve", positive=True),
        cpu_runtime_gib=memory.number("cpu_runtime_gib"),
        memory_references=tuple(references),
        finetune=dict(finetune),
    )
