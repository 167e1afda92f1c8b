"""What a model family is: one object that says which models it has, how to build and load them,
which workloads it serves, what those cost, and what the rest of segbench may say about it.

A family lives in one folder, `segbench/families/<name>/`, whose `__init__.py` defines `FAMILY`.
Its heavy parts (loading, workload classes, cost counting) are named as "module:attribute" strings
and imported only when used, so discovering the families imports neither torch nor the model
libraries and `segbench --help` stays fast.

This module is the whole contract (`families/ADDING.md` walks through it): `Family`, `ModelSpec`,
`FamilyOption`, `LoadOptions`, `LoadedModel`, and the hooks a family's loading and cost modules
provide (`LoadingHooks`, `CostHooks`), each optional one named with its default in `Loading` and
`CostModel`, which is how the rest of segbench calls them. A family folder imports only this module,
`families/_shared/` and itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, Protocol

from segbench.errors import InputError

WEIGHT_MODES = ("auto", "pretrained", "random")
# What a model answers, as `recommend --task` asks it.
TASKS = ("promptable", "semantic", "panoptic", "instance")


@dataclass(frozen=True)
class Quality:
    """A model's place among the models that answer the same task, across families (recommend takes the
    most capable that meets the target): `rank` orders them (higher is more capable), `basis` says which
    published figure the order rests on. Promptable: SAM 1 1-3, EdgeTAM 4, SAM 2.1 5-8, SAM 3 9."""

    rank: int
    basis: str


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: a name users type and how its family builds it (configs as data)."""

    name: str
    family: str
    workloads: tuple[str, ...]
    # (h, w) for 2D models, (w, h, d) roi for 3D models: the size the published model runs at.
    default_resolution: tuple[int, ...]
    description: str
    tasks: tuple[str, ...] = ()
    quality: Quality = Quality(0, "")
    # Family-specific build data: config file, checkpoint file name, Hugging Face id, architecture kwargs.
    config: dict[str, Any] = field(default_factory=dict)
    # Other names the same architecture is published under (e.g. SAM 2.0 checkpoints of SAM 2.1 sizes).
    aliases: tuple[str, ...] = ()
    # The model input `--quick` runs at when the published size takes minutes per step on 2 CPU cores.
    quick_resolution: tuple[int, ...] | None = None


OPTION_KINDS = ("flag", "text", "int", "float", "choice")


@dataclass(frozen=True)
class FamilyOption:
    """A setting only one family's models honour (SAM 3's text prompt, SAM 2.1's compiled video
    predictor). The CLI makes a flag of it (`--vos-optimized`), a plan carries its value in
    `family_options`, and the plan is refused where no model it runs declares the option."""

    name: str  # the keyword, e.g. "vos_optimized"; its flag is --vos-optimized
    kind: str  # one of OPTION_KINDS
    default: Any
    help: str
    workloads: tuple[str, ...]  # the workloads it applies to
    choices: tuple[str, ...] = ()  # kind "choice": the values allowed
    # Values `segbench tune` tries beside the default (e.g. (True,) for a flag worth a trial).
    tune: tuple[Any, ...] = ()
    # True where the option changes the arithmetic as torch.compile does: tune tries it only with its
    # compile trials, and never picks such a run without a fidelity figure against fp32 eager.
    compiles: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """`value` as this option holds it, or the one-line error."""
        types = {"flag": bool, "text": str, "int": int, "float": (int, float), "choice": str}
        if not isinstance(value, types[self.kind]) or (self.kind in ("int", "float") and isinstance(value, bool)):
            raise InputError(f"{self.flag} takes a {self.kind} value, got {value!r}")
        if self.kind == "float" and (value != value or value in (float("inf"), float("-inf"))):
            raise InputError(f"{self.flag} must be a finite number, got {value!r}")
        if self.kind == "choice" and value not in self.choices:
            raise InputError(f"{self.flag} must be one of {', '.join(self.choices)}, got {value!r}")
        return value


@dataclass(frozen=True)
class LoadOptions:
    device: Any  # torch.device
    weights: str = "auto"  # auto | pretrained | random
    checkpoint: str | None = None  # a .pt file or a Hugging Face directory, as the family reads it
    resolution: tuple[int, ...] | None = None  # None: the spec's default
    purpose: str = "image"  # what the model is built for: "image", or "video" where the family builds another predictor
    classes: int | None = None  # output classes, for models that have them (None: the registered number)
    # The family's own options (`Family.options`) as the plan gives them; `option()` fills in defaults.
    family_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class LoadedModel:
    spec: ModelSpec
    module: Any  # torch.nn.Module
    weights: str  # what was actually used: "pretrained" | "random"
    checkpoint: str | None
    resolution: tuple[int, ...]
    notes: list[str] = field(default_factory=list)
    # Filled in by the registry from the family's hooks, so workloads never ask the registry:
    classes: int | None = None  # the output classes the model was built with (None: it has no such setting)
    # The family's check of a sliding window (`LoadingHooks.check_roi`): the window as it will run, or
    # a one-line error for one the architecture cannot take.
    check_roi: Callable[[tuple[int, ...]], Any] | None = None
    # The family's own options (`Family.options`) as the model runs, defaults filled in.
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.module.parameters())


@dataclass(frozen=True)
class Extension:
    """An optional compiled part of a family's library, which `segbench doctor` checks."""

    module: str  # what to import, e.g. "sam2._C"
    package: str  # the distribution it comes with, e.g. "sam2"
    used_by: tuple[str, ...]  # workloads that lose something without it
    lost: str  # what they lose, as a sentence fragment
    build: str  # the command that builds it; {version} is the installed package version
    gpu_only: bool = True  # a CUDA kernel: nothing is lost on a CPU run


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    models: tuple[ModelSpec, ...]
    # Distributions whose versions every record carries (the libraries the family runs on).
    packages: tuple[str, ...]
    # "module" with build(spec, resolution, purpose) -> nn.Module, load(spec, options) -> LoadedModel and
    # smallest_resolution(spec) (the smallest input the architecture runs, for the contract test);
    # optionally classes_of(spec) and with_classes(spec, n) for models with a set of output classes.
    loading: str
    # workload name -> "module:Class" (a segbench.workloads.base.Workload subclass).
    workloads: Mapping[str, str]
    # "module" with count_blocks(module, spec, size, half), counted_size(spec, query) and footprint(query, counts).
    cost: str
    # Workloads for which this family's first model (in `models` order) is what runs when no --model is given.
    default_for: tuple[str, ...] = ()
    extensions: tuple[Extension, ...] = ()
    # workload -> why its library keeps state in bf16 whatever the autocast (slow before Ampere).
    bf16_state: Mapping[str, str] = field(default_factory=dict)
    # (message regex, warning category name) the CLI silences: library chatter the records already explain.
    quiet_warnings: tuple[tuple[str, str], ...] = ()
    # Settings only this family honours; the CLI makes flags of them (see FamilyOption).
    options: tuple[FamilyOption, ...] = ()

    def workload_class(self, workload: str) -> type | None:
        target = self.workloads.get(workload)
        return None if target is None else load_attribute(target)

    def loader(self) -> Loading:
        return Loading(importlib.import_module(self.loading))

    def cost_model(self) -> CostModel:
        return CostModel(importlib.import_module(self.cost))

    def option(self, name: str) -> FamilyOption | None:
        return next((o for o in self.options if o.name == name), None)


# ------------------------------------------------------------------------------------ the hooks


class LoadingHooks(Protocol):
    """What a family's `loading` module defines. The three below are required; the optional hooks are
    `Loading`'s methods of the same names, whose bodies are the defaults used when a module lacks them."""

    def build(self, spec: ModelSpec, resolution: tuple[int, ...] | None, purpose: str) -> Any:
        """The architecture as a torch.nn.Module with random weights, built for `purpose` ("image" or "video")."""

    def load(self, spec: ModelSpec, options: LoadOptions) -> LoadedModel:
        """The model on `options.device`, pretrained (checkpoint, Hugging Face cache) or random."""

    def smallest_resolution(self, spec: ModelSpec) -> tuple[int, ...]:
        """The smallest input the architecture runs (the contract test's size)."""


class CostHooks(Protocol):
    """What a family's `cost` module defines (required; the optional hooks are `CostModel`'s)."""

    def count_blocks(self, module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Any]:
        """The model's building blocks at one size, batch 1, counted on `meta` (`segbench.cost.counting.count`)."""

    def counted_size(self, spec: ModelSpec, query: Any) -> tuple[int, ...]:
        """The model size whose counts a query needs."""

    def footprint(self, query: Any, counts: Any) -> Any:
        """The `segbench.cost.Footprint` of one step of the query, from the counted blocks."""


def _hook(module: ModuleType, name: str) -> Callable[..., Any] | None:
    found = getattr(module, name, None)
    return found if callable(found) else None


class Loading:
    """A family's loading module seen through the contract: the required hooks, and each optional
    hook with its default."""

    REQUIRED = ("build", "load", "smallest_resolution")
    OPTIONAL = ("build_on_meta", "classes_of", "with_classes", "check_roi")

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def build(self, spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
        return self.module.build(spec, resolution, purpose)

    def load(self, spec: ModelSpec, options: LoadOptions) -> LoadedModel:
        return self.module.load(spec, options)

    def smallest_resolution(self, spec: ModelSpec) -> tuple[int, ...]:
        return tuple(self.module.smallest_resolution(spec))

    def build_on_meta(self, spec: ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
        """The architecture for counting on `meta` (default: `build`, then moved there by the caller); a family
        whose models take long to build on the CPU builds on `meta` directly."""
        hook = _hook(self.module, "build_on_meta")
        return hook(spec, resolution, purpose) if hook else self.build(spec, resolution, purpose)

    @property
    def has_classes(self) -> bool:
        return _hook(self.module, "with_classes") is not None

    def classes_of(self, spec: ModelSpec) -> int | None:
        """The output classes a spec is configured with (default: None, the model has no such setting)."""
        hook = _hook(self.module, "classes_of")
        return int(hook(spec)) if hook else None

    def with_classes(self, spec: ModelSpec, classes: int) -> ModelSpec | None:
        """The spec with `classes` output classes (default: None, the model has no such setting)."""
        hook = _hook(self.module, "with_classes")
        return hook(spec, int(classes)) if hook else None

    def check_roi(self, spec: ModelSpec, roi: tuple[int, ...]) -> Any:
        """A sliding window as the architecture takes it, or a one-line error (default: as given)."""
        from segbench.inputs.parsing import WHD

        hook = _hook(self.module, "check_roi")
        return hook(spec, roi) if hook else WHD(*roi)


class CostModel:
    """A family's cost module seen through the contract (see `CostHooks`)."""

    REQUIRED = ("count_blocks", "counted_size", "footprint")
    OPTIONAL = ("extra", "counted_extra", "extra_cached_sizes", "host_transform")

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def count_blocks(self, module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Any]:
        return self.module.count_blocks(module, spec, size, half)

    def counted_size(self, spec: ModelSpec, query: Any) -> tuple[int, ...]:
        return tuple(self.module.counted_size(spec, query))

    def footprint(self, query: Any, counts: Any) -> Any:
        return self.module.footprint(query, counts)

    def extra(self, spec: ModelSpec) -> dict[str, Any]:
        """Figures from the spec kept with the counts, e.g. a 3D net's out_channels (default: none)."""
        hook = _hook(self.module, "extra")
        return dict(hook(spec)) if hook else {}

    def counted_extra(self, module: Any, spec: ModelSpec) -> dict[str, Any]:
        """Figures read off the built module, e.g. the parameters a fine-tune trains (default: none)."""
        hook = _hook(self.module, "counted_extra")
        return dict(hook(module, spec)) if hook else {}

    def extra_cached_sizes(self, spec: ModelSpec) -> list[tuple[int, ...]]:
        """Model sizes the footprint cache holds beside the published one (default: none)."""
        hook = _hook(self.module, "extra_cached_sizes")
        return [tuple(s) for s in hook(spec)] if hook else []

    def host_transform(self) -> Any:
        """The host-side image transform the family's predictor runs (default: None, none measured)."""
        hook = _hook(self.module, "host_transform")
        return hook() if hook else None


def load_attribute(target: str) -> Any:
    """"package.module:Name" -> the object (imported now)."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


def configured_classes(spec: ModelSpec, classes: int, *, key: str = "classes", lowest: int = 1, highest: int = 1000,
                       why: str = "") -> ModelSpec:
    """A family loader's `with_classes`: the spec with `classes` output classes in `config[key]`, or the
    one-line error that `--classes` is out of the architecture's range."""
    if not lowest <= classes <= highest:
        raise InputError(f"--classes must be between {lowest} and {highest}{why}, got {classes}")
    return replace(spec, config={**spec.config, key: int(classes)})
