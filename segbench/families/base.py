"""What a model family is: one object that says which models it has, how to build and load them,
which workloads it serves, what those cost, and what the rest of segbench may say about it.

A family lives in one folder, `segbench/families/<name>/`, whose `__init__.py` defines `FAMILY`.
Its heavy parts (loading, workload classes, cost counting) are named as "module:attribute" strings
and imported only when used, so discovering the families imports neither torch nor the model
libraries and `segbench --help` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

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


@dataclass(frozen=True)
class LoadOptions:
    device: Any  # torch.device
    weights: str = "auto"  # auto | pretrained | random
    checkpoint: str | None = None  # a .pt file or a Hugging Face directory, as the family reads it
    resolution: tuple[int, ...] | None = None  # None: the spec's default
    purpose: str = "image"  # what the model is built for: "image", or "video" where the family builds another predictor
    classes: int | None = None  # output classes, for models that have them (None: the registered number)
    vos_optimized: bool = False  # SAM 2.1 video: the library's compiled video predictor


@dataclass
class LoadedModel:
    spec: ModelSpec
    module: Any  # torch.nn.Module
    weights: str  # what was actually used: "pretrained" | "random"
    checkpoint: str | None
    resolution: tuple[int, ...]
    notes: list[str] = field(default_factory=list)

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

    def workload_class(self, workload: str) -> type | None:
        target = self.workloads.get(workload)
        return None if target is None else load_attribute(target)

    def loader(self) -> Any:
        return importlib.import_module(self.loading)

    def cost_model(self) -> Any:
        return importlib.import_module(self.cost)


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
