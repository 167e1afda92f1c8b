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
from typing import Any, ClassVar

import yaml

from segbench import limits as L
from segbench.errors import InputError
from segbench.families.base import WEIGHT_MODES
from segbench.measure.harness import MeasureSettings
from segbench.workloads.base import WorkloadOptions

PLAN_VERSION = 2  # 2: family options apart from the workload options
KINDS = ("run", "soak")
LAUNCHERS = ("inline", "process")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


@dataclass
class SoakSettings:
    minutes: float = 10.0  # how long to keep the load on
    window_s: float = 30.0  # throughput is measured per window; the first is warm-up
    max_temp_c: float | None = None  # stop early when any sensor reaches this

    RULES: ClassVar[dict[str, L.Rule]] = {"minutes": L.Rule(L.SOAK_MINUTES), "window_s": L.Rule(L.SOAK_WINDOW_S),
                                          "max_temp_c": L.Rule(L.SOAK_MAX_TEMP_C)}

    def check(self, where: str = "soak", path: str = "") -> None:
        L.check_fields(self, self.RULES, where, path)


@dataclass(frozen=True)
class Point:
    """One measured configuration. `precision` is resolved for the device the plan runs on."""

    model: str
    workload: str
    precision: str
    batch_size: int
    execution: str = "eager"  # a segbench.backends execution label
    sweeps: tuple[tuple[str, str], ...] = ()  # the workload's swept values other than "none": (("offload", "video"),)

    def __post_init__(self) -> None:  # tuples again after a trip through JSON (a message between processes)
        object.__setattr__(self, "sweeps", tuple(tuple(v) for v in self.sweeps))

    @property
    def label(self) -> str:
        """How the point ran, as records show it: "eager", "eager+offload:video"."""
        from segbench.bench.sweeps import label

        return label(self.execution, self.sweeps)


@dataclass
class Plan:
    models: list[str]
    workloads: list[str] = field(default_factory=lambda: ["image"])
    precisions: list[str] = field(default_factory=lambda: ["auto"])
    batch_sizes: list[int] = field(default_factory=lambda: [1])
    # How the networks run: "eager", "compile", "compile:max-autotune", "onnxruntime", "openvino".
    executions: list[str] = field(default_factory=lambda: ["eager"])
    # What workloads sweep on their own (`Workload.sweeps`, segbench.bench.sweeps): {"offload": ["none", "video"]}.
    sweeps: dict[str, list[str]] = field(default_factory=dict)
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
    # A point (or a model's loading) that runs longer than this is stopped and recorded as an `error`
    # row (see segbench.bench.launchers); None: no limit. 1800 s: the slowest --quick point on 2 CPU
    # cores (a training step of Mask R-CNN, minutes) fits many times over, and a hung CI job still ends.
    point_timeout_s: float | None = 1800.0
    # Options only some families honour (`Family.options`: SAM 3's text, SAM 2.1's vos_optimized), as
    # given; validation refuses one that no model of the plan declares.
    family_options: dict[str, Any] = field(default_factory=dict)

    # The stated limits of each field (segbench.limits); a field's type comes from its annotation, and the
    # nested settings, options and soak check their own. A plan file and the command line's options both
    # pass them (`check_shape`).
    RULES: ClassVar[dict[str, L.Rule]] = {
        "models": L.Rule(items=L.MAX_NAMES, min_items=1), "workloads": L.Rule(items=L.MAX_NAMES, min_items=1),
        "precisions": L.Rule(items=L.MAX_NAMES, min_items=1), "executions": L.Rule(items=L.MAX_NAMES, min_items=1),
        "batch_sizes": L.Rule(L.BATCH_SIZE, items=L.MAX_BATCH_SIZES, min_items=1),
        "weights": L.Rule(choices=WEIGHT_MODES), "resolution": L.Rule(L.RESOLUTION_SIDE, items=3, min_items=2),
        "classes": L.Rule(L.CLASSES), "max_ram_bytes": L.Rule(L.MAX_RAM_BYTES),
        "telemetry_interval_s": L.Rule(L.TELEMETRY_INTERVAL_S), "kind": L.Rule(choices=KINDS),
        "launcher": L.Rule(choices=LAUNCHERS), "point_timeout_s": L.Rule(L.POINT_TIMEOUT_S),
    }

    # -- points ---------------------------------------------------------------------------------
    def points(self, device: Any = None) -> list[Point]:
        """Every (model, workload, precision, batch) the plan measures on `device` (resolved here when None),
        in the order they run. Workloads a model does not serve are left out."""
        from segbench.bench.sweeps import split
        from segbench.families.registry import get_spec
        from segbench.measure.device import default_precision, resolve_device

        device = device if device is not None else resolve_device(self.device)
        precisions = [default_precision(device) if p == "auto" else p for p in self.precisions]
        out = []
        for model in self.models:
            spec = get_spec(model)
            for workload in self.workloads:
                if workload in spec.workloads:
                    out.extend(Point(spec.name, workload, p, b, *split(e)) for p in dict.fromkeys(precisions)
                               for e in self.variants() for b in self.batch_sizes)
        return out

    def variants(self) -> list[str]:
        """The shown labels of executions x sweep values, in the order they run (plain eager first)."""
        from segbench.bench.sweeps import variants

        return variants(self.executions, self.sweeps)

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"plan_version": PLAN_VERSION, **_plain(dataclasses.asdict(self))}

    @classmethod
    def from_dict(cls, data: Any, where: str = "plan") -> Plan:
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a mapping of plan fields, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("plan_version", PLAN_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            raise InputError(f"{where}: plan_version must be an integer, got {L.shown(version)}")
        if version > PLAN_VERSION:
            raise InputError(f"{where}: plan_version {version} is newer than this segbench reads ({PLAN_VERSION})")
        data = _family_options_of_v1(data)
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
            else:
                kw[name] = value
        plan = cls(**kw)
        plan.check_shape(where)
        return plan

    def check_shape(self, where: str = "plan") -> None:
        """Field types, the stated limits (segbench.limits) and the values that need no registry or device:
        a hand-edited file's mistakes and impossible options alike, each one line naming the field."""
        L.check_fields(self, self.RULES, where)
        for name in ("models", "workloads", "precisions", "executions"):
            names = getattr(self, name)
            if not all(names):
                raise InputError(f"{where}: {name} must be a non-empty list of names, got {L.shown(names)}")
        if len(set(self.batch_sizes)) != len(self.batch_sizes):
            raise InputError(f"{where}: batch_sizes lists a batch size twice: {L.shown(self.batch_sizes)}")
        from segbench.backends.execution import parse_execution
        from segbench.bench.sweeps import check, migrate

        if not self.sweeps:  # written when offload was part of the execution labels ("eager+offload:video")
            self.executions, self.sweeps = migrate(self.executions)
        for label in self.executions:
            parse_execution(label)
        check(self.sweeps)
        for p in self.precisions:
            if p not in PRECISIONS:
                raise InputError(f"unknown precision '{p}': use {', '.join(PRECISIONS)}")
        if self.kind == "soak" and self.soak is None:
            self.soak = SoakSettings()

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the plan as YAML (or JSON when the name ends in .json), atomically. An existing file is
        replaced only when it is a plan and `force` is given: a results file or anything else is kept."""
        from segbench.atomic import atomic_write_text

        self.check_shape()  # never write a plan that would not load
        path = Path(path)
        if path.exists() or path.is_symlink():
            if not _is_plan_file(path):
                raise InputError(f"--save-plan: {path} exists and is not a segbench plan; it is left as it is "
                                 "(choose another file name)")
            if not force:
                raise InputError(f"--save-plan: plan {path} exists; add --force to replace it")
        data = self.to_dict()
        text = json.dumps(data, indent=2) + "\n" if path.suffix == ".json" else \
            yaml.dump(data, Dumper=_PlanDumper, sort_keys=False)
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            raise InputError(f"--save-plan: cannot write {path}: {exc.strerror or exc}") from None
        return path

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        path = Path(path)
        return cls.from_dict(_read_plan_data(path), str(path))


def validate(plan: Plan) -> Any:
    """Every name and number checked, and the user's inputs read once, before any model loads.
    Returns the device the plan runs on here."""
    from segbench.families.registry import (check_family_options, check_inputs, check_workload_name, get_spec,
                                            with_classes)
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
    check_family_options(specs, plan.workloads, plan.family_options)
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


class _PlanLoader(yaml.SafeLoader):
    """YAML without aliases: a plan has no use for them, and a few nested ones expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "plan files may not use YAML aliases (*name)",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


class _PlanDumper(yaml.SafeDumper):
    """Never writes an alias, so that every saved plan loads with `_PlanLoader`."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _read_plan_data(path: Path) -> Any:
    """The parsed file: a one-line InputError for anything that is not a small text file of YAML or JSON."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(L.MAX_PLAN_BYTES + 1)  # at most this much, whatever the file (/dev/zero)
    except OSError as exc:
        raise InputError(f"cannot read plan {path}: {exc.strerror or exc}") from None
    if len(raw) > L.MAX_PLAN_BYTES:
        raise InputError(f"{path}: larger than {L.MAX_PLAN_BYTES // 2**20} MiB, which no plan is")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a plan file (not UTF-8 text)") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_PlanLoader)  # noqa: S506
    except (ValueError, yaml.YAMLError) as exc:  # ValueError: JSON's errors, and a 5000-digit number
        raise InputError(f"{path}: not a valid plan file ({(str(exc).splitlines() or [''])[0][:200]})") from None
    except RecursionError:
        raise InputError(f"{path}: not a plan file (nested too deeply)") from None


def _is_plan_file(path: Path) -> bool:
    """Whether `path` holds a saved plan (what `--save-plan` may replace)."""
    if not path.is_file():
        return False
    try:
        data = _read_plan_data(path)
    except InputError:
        return False
    return isinstance(data, dict) and "plan_version" in data and "models" in data


# Options that were workload options before families declared their own (plan_version 1).
_V1_FAMILY_OPTIONS = {"text": "person", "vos_optimized": False}


def _family_options_of_v1(data: dict) -> dict:
    """A version-1 plan's `options.text` / `options.vos_optimized` as family options (defaults dropped)."""
    options = data.get("options")
    if not isinstance(options, dict) or not any(k in options for k in _V1_FAMILY_OPTIONS) \
            or not isinstance(data.get("family_options") or {}, dict):  # a wrong type: the schema says so
        return data
    given = dict(data.get("family_options") or {})
    for key, default in _V1_FAMILY_OPTIONS.items():
        if key in options and options[key] != default:
            given.setdefault(key, options[key])
    rest = {k: v for k, v in options.items() if k not in _V1_FAMILY_OPTIONS}
    return {**data, "options": rest, "family_options": given}


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
        raise InputError(f"{where}: unknown field '{unknown[0][:60]}' (allowed: {', '.join(sorted(fields))})")


def _sub(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a mapping, got {type(value).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _no_unknown(value, fields, where)
    try:
        return cls(**value)  # types and limits are checked by check_shape, lists becoming tuples there
    except TypeError as exc:
        raise InputError(f"{where}: {exc}") from None
