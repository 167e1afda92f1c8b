"""A run plan: models x workloads x precisions x batch sizes, the inputs and the harness settings.

A `Plan` is plain data. It is saved and read as YAML or JSON (`segbench run --save-plan FILE`,
`--plan FILE`), sent to worker processes, and replays to the same points. The device and "auto"
precision stay as asked ("auto" is what the machine that measures picks), so one plan can run on
several machines; `points()` resolves them where it runs.

    plan = Plan(models=["sam2.1-tiny"], workloads=["image"], batch_sizes=[1, 2])
    plan.save("plan.yaml"); Plan.load("plan.yaml") == plan
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from segbench.errors import InputError
from segbench.measure.harness import MeasureSettings
from segbench.workloads.base import WorkloadOptions

PLAN_VERSION = 1
KINDS = ("run", "soak")
LAUNCHERS = ("inline", "process")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


@dataclass
class SoakSettings:
    minutes: float = 10.0  # how long to keep the load on
    window_s: float = 30.0  # throughput is measured per window; the first is warm-up
    max_temp_c: float | None = None  # stop early when any sensor reaches this


@dataclass(frozen=True)
class Point:
    """One measured configuration. `precision` is resolved for the device the plan runs on."""

    model: str
    workload: str
    precision: str
    batch_size: int
    execution: str = "eager"  # a segbench.backends execution label


@dataclass
class Plan:
    models: list[str]
    workloads: list[str] = field(default_factory=lambda: ["image"])
    precisions: list[str] = field(default_factory=lambda: ["auto"])
    batch_sizes: list[int] = field(default_factory=lambda: [1])
    # How the networks run: "eager", "compile", "compile:max-autotune", "onnxruntime", "openvino".
    executions: list[str] = field(default_factory=lambda: ["eager"])
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    weights: str = "auto"  # auto | pretrained | random
    checkpoint: str | None = None
    resolution: tuple[int, ...] | None = None  # model input size; None: each model's published size
    classes: int | None = None  # output classes of models that have them; None: each model's own
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    options: WorkloadOptions = field(default_factory=WorkloadOptions)
    max_ram_bytes: int | None = None  # host RAM ceiling: allocations beyond it become an OOM result
    telemetry_interval_s: float | None = 0.1  # None: no telemetry
    count_flops: bool = True
    kind: str = "run"  # run | soak
    soak: SoakSettings | None = None  # kind soak: how long and in which windows
    launcher: str = "process"  # inline | process (each model's points in a fresh process)
    # --quick: models registered with a smaller quick input size (ModelSpec.quick_resolution) run at it
    # when no resolution is given; their records say the size.
    quick: bool = False

    # -- points ---------------------------------------------------------------------------------
    def points(self, device: Any = None) -> list[Point]:
        """Every (model, workload, precision, batch) the plan measures on `device` (resolved here when None),
        in the order they run. Workloads a model does not serve are left out."""
        from segbench.families.registry import get_spec
        from segbench.measure.device import default_precision, resolve_device

        device = device if device is not None else resolve_device(self.device)
        precisions = [default_precision(device) if p == "auto" else p for p in self.precisions]
        out = []
        for model in self.models:
            spec = get_spec(model)
            for workload in self.workloads:
                if workload in spec.workloads:
                    out.extend(Point(spec.name, workload, p, b, e) for p in dict.fromkeys(precisions)
                               for e in eager_first(self.executions) for b in self.batch_sizes)
        return out

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"plan_version": PLAN_VERSION, **_plain(dataclasses.asdict(self))}

    @classmethod
    def from_dict(cls, data: Any, where: str = "plan") -> Plan:
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a mapping of plan fields, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("plan_version", PLAN_VERSION)
        if not isinstance(version, int) or version > PLAN_VERSION:
            raise InputError(f"{where}: plan_version {version!r} is newer than this segbench reads ({PLAN_VERSION})")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        _no_unknown(data, fields, where)
        if "models" not in data:
            raise InputError(f"{where}: field 'models' is missing")
        kw: dict[str, Any] = {}
        for name, value in data.items():
            if name == "settings":
                kw[name] = _sub(MeasureSettings, value, f"{where}: settings")
            elif name == "options":
                kw[name] = _sub(WorkloadOptions, value, f"{where}: options")
            elif name == "soak":
                kw[name] = None if value is None else _sub(SoakSettings, value, f"{where}: soak")
            elif name == "resolution":
                kw[name] = None if value is None else tuple(_ints(value, f"{where}: resolution"))
            else:
                kw[name] = value
        plan = cls(**kw)
        plan.check_shape(where)
        return plan

    def check_shape(self, where: str = "plan") -> None:
        """Field types and values that need no registry or device (a hand-edited file's mistakes)."""
        for name in ("models", "workloads", "precisions", "executions"):
            value = getattr(self, name)
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
                raise InputError(f"{where}: field '{name}' must be a non-empty list of names, got {value!r}")
        self.batch_sizes = _ints(self.batch_sizes, f"{where}: batch_sizes")
        if not self.batch_sizes or any(b < 1 for b in self.batch_sizes):
            raise InputError("batch sizes must be positive integers")
        from segbench.backends.execution import parse_execution

        for label in self.executions:
            parse_execution(label)
        for p in self.precisions:
            if p not in PRECISIONS:
                raise InputError(f"unknown precision '{p}': use {', '.join(PRECISIONS)}")
        if self.kind not in KINDS:
            raise InputError(f"{where}: field 'kind' must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.launcher not in LAUNCHERS:
            raise InputError(f"{where}: field 'launcher' must be one of {', '.join(LAUNCHERS)}, got {self.launcher!r}")
        if self.kind == "soak" and self.soak is None:
            self.soak = SoakSettings()

    def save(self, path: str | Path) -> Path:
        """Write the plan as YAML (or JSON when the name ends in .json), atomically."""
        from segbench.atomic import atomic_write_text

        path = Path(path)
        data = self.to_dict()
        text = json.dumps(data, indent=2) + "\n" if path.suffix == ".json" else yaml.safe_dump(data, sort_keys=False)
        atomic_write_text(path, text)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read plan {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise InputError(f"{path}: not a valid plan file ({str(exc).splitlines()[0]})") from None
        return cls.from_dict(data, str(path))


def eager_first(executions: list[str]) -> list[str]:
    """The order executions run in: eager first, since the others' break-even is counted against it."""
    return sorted(dict.fromkeys(executions), key=lambda label: label != "eager")


def validate(plan: Plan) -> Any:
    """Every name and number checked, and the user's inputs read once, before any model loads.
    Returns the device the plan runs on here."""
    from segbench.families.registry import check_inputs, check_workload_name, get_spec, with_classes
    from segbench.measure.device import check_precision, resolve_device

    plan.check_shape()
    for workload in plan.workloads:
        check_workload_name(workload)
    specs = [get_spec(name) for name in plan.models]
    for spec in specs:
        if not any(w in spec.workloads for w in plan.workloads):
            raise InputError(f"{spec.name} does not support the workload(s) {', '.join(plan.workloads)} "
                             f"(it supports: {', '.join(spec.workloads)})")
    for spec in specs:
        with_classes(spec, plan.classes)  # a model without output classes: one-line error
    if plan.options.vos_optimized and not any(w in ("video", "volume") for w in plan.workloads):
        raise InputError("--vos-optimized applies to SAM 2.1's video predictor: add -w video (or volume)")
    if plan.checkpoint and len(plan.models) > 1:
        raise InputError("--checkpoint names one model's weights; give exactly one --model with it")
    device = resolve_device(plan.device)
    for precision in plan.precisions:
        if precision != "auto":
            check_precision(device, precision)
    checked = set()
    for spec in specs:
        for workload in plan.workloads:
            if workload in spec.workloads and (workload, spec.family) not in checked:
                checked.add((workload, spec.family))
                check_inputs(workload, spec, plan.options)
    return device


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively: what YAML and JSON hold."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _no_unknown(data: dict, fields: dict, where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in fields)
    if unknown:
        raise InputError(f"{where}: unknown field '{unknown[0]}' (allowed: {', '.join(sorted(fields))})")


def _ints(value: Any, where: str) -> list[int]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise InputError(f"{where} must be a list of integers, got {value!r}")
    return list(value)


_TUPLE_FIELDS = {"inputs", "source_size", "video_size", "points", "boxes", "volume", "roi", "depths"}


def _sub(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a mapping, got {type(value).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _no_unknown(value, fields, where)
    kw = {}
    for name, item in value.items():
        if name in _TUPLE_FIELDS and isinstance(item, list):
            item = tuple(tuple(v) if isinstance(v, list) else v for v in item)
        kw[name] = item
    try:
        return cls(**kw)
    except TypeError as exc:
        raise InputError(f"{where}: {exc}") from None
