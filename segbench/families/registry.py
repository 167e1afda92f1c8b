"""The model registry: families are discovered, never listed.

A family is found as a sub-package of `segbench.families` that defines `FAMILY`, as an installed
entry point in the `segbench.families` group (another package's plugin), or as a module named in
`$SEGBENCH_FAMILIES` (comma-separated "module" or "module:attribute"; subprocesses inherit it).
Tests and notebooks may also `register()` one for the life of the process.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import pkgutil
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from segbench.errors import InputError
from segbench.families.base import WEIGHT_MODES, Family, LoadedModel, LoadOptions, ModelSpec, load_attribute
from segbench.workloads.catalog import WORKLOAD_NAMES

FAMILIES_ENV = "SEGBENCH_FAMILIES"
ENTRY_POINT_GROUP = "segbench.families"

_registered: dict[str, Family] = {}


def _add(found: dict[str, Family], family: Any, where: str) -> None:
    if not isinstance(family, Family):
        raise InputError(f"{where} does not define a segbench Family (got {type(family).__name__})")
    if family.name in found:
        raise InputError(f"two families are named '{family.name}' ({where} and another)")
    found[family.name] = family


@functools.cache
def _discovered() -> dict[str, Family]:
    found: dict[str, Family] = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.ispkg and not info.name.startswith("_"):  # `_shared` is what families use, not one
            module = importlib.import_module(f"{__package__}.{info.name}")
            _add(found, getattr(module, "FAMILY", None), f"{__package__}.{info.name}")
    for point in entry_points(group=ENTRY_POINT_GROUP):
        _add(found, point.load(), f"entry point {point.name}")
    for name in filter(None, (n.strip() for n in os.environ.get(FAMILIES_ENV, "").split(","))):
        target = name if ":" in name else f"{name}:FAMILY"
        try:
            family = load_attribute(target)
        except (ImportError, AttributeError) as exc:
            raise InputError(f"${FAMILIES_ENV}: cannot load {target} ({exc})") from None
        _add(found, family, f"${FAMILIES_ENV} {target}")
    return found


def register(family: Family) -> Callable[[], None]:
    """Add a family for this process; returns the function that removes it again."""
    _registered[family.name] = family

    def undo() -> None:
        _registered.pop(family.name, None)

    return undo


def families() -> dict[str, Family]:
    return {**_discovered(), **_registered}


def models() -> dict[str, ModelSpec]:
    """Every registered model by name, family by family."""
    out: dict[str, ModelSpec] = {}
    for family in families().values():
        for spec in family.models:
            if spec.name in out:
                raise InputError(f"model '{spec.name}' is registered by two families")
            out[spec.name] = spec
    return out


def get_spec(name: str) -> ModelSpec:
    known = models()
    spec = known.get(name) or known.get(str(name).strip().lower())
    if spec is None:
        near = difflib.get_close_matches(str(name).lower(), list(known), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise InputError(f"unknown model '{name}'{hint} (known: {', '.join(known)})")
    return spec


def canonical_model(name: str) -> str:
    """A registry name for `name`, which may be an alias a model is published under."""
    known = models()
    if name in known:
        return name
    for spec in known.values():
        if name in spec.aliases:
            return spec.name
    return get_spec(name).name  # the registry's one-line error with suggestions


def published_names() -> tuple[str, ...]:
    """Every name a published timing may give: registry names and their aliases."""
    return tuple(n for spec in models().values() for n in (spec.name, *spec.aliases))


def family_of(model: str | ModelSpec) -> Family:
    spec = model if isinstance(model, ModelSpec) else get_spec(model)
    return families()[spec.family]


def model_names(workload: str | None = None, task: str | None = None) -> list[str]:
    return [n for n, s in models().items()
            if (workload is None or workload in s.workloads) and (task is None or task in s.tasks)]


def only_workload(model: str) -> str | None:
    """The workload of a model that serves just one (a 3D network's `volume`), else None."""
    spec = get_spec(model)
    return spec.workloads[0] if len(spec.workloads) == 1 else None


def tasks_for(workload: str) -> list[str]:
    """The tasks some registered model answers on `workload`, in the order of the first that does."""
    out: list[str] = []
    for spec in models().values():
        if workload in spec.workloads:
            out.extend(t for t in spec.tasks if t not in out)
    return out


def default_model(workloads: Iterable[str]) -> str:
    """What runs when no --model is given: the default of the first workload whose default model serves
    every workload asked for, else the first workload's default."""
    workloads = [check_workload_name(w) for w in workloads] or ["image"]
    defaults: list[ModelSpec] = []
    for workload in workloads:
        for family in families().values():
            if workload in family.default_for and family.models:
                defaults.append(family.models[0])
                break
    if not defaults:
        raise InputError(f"no family declares a default model for {', '.join(workloads)}; give --model")
    return next((s.name for s in defaults if all(w in s.workloads for w in workloads)), defaults[0].name)


def load_model(name: str, options: LoadOptions) -> LoadedModel:
    """Build a registered model (pretrained or random weights) on `options.device`."""
    spec = get_spec(name)
    if options.weights not in WEIGHT_MODES:
        raise InputError(f"--weights must be one of {', '.join(WEIGHT_MODES)}, got '{options.weights}'")
    spec = with_classes(spec, options.classes)
    return family_of(spec).loader().load(spec, options)


def with_classes(model: str | ModelSpec, classes: int | None) -> ModelSpec:
    """The model's spec, with `classes` output classes where asked; a one-line InputError for a model
    whose family has no such setting."""
    spec = model if isinstance(model, ModelSpec) else get_spec(model)
    if classes is None:
        return spec
    configure = getattr(family_of(spec).loader(), "with_classes", None)
    if configure is None:
        raise InputError(f"--classes applies to models with a set of output classes; {spec.name} has none")
    return configure(spec, int(classes))


def default_classes(model: str | ModelSpec) -> int | None:
    """The number of output classes a model is registered with (or a spec is configured with), where it
    has such a setting."""
    spec = model if isinstance(model, ModelSpec) else get_spec(model)
    classes = getattr(family_of(spec).loader(), "classes_of", None)
    return classes(spec) if classes is not None else None


def build_on_meta(model: str | ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
    """The architecture with parameters on the `meta` device: for counting FLOPs and bytes without compute."""
    spec = model if isinstance(model, ModelSpec) else get_spec(model)
    loader = family_of(spec).loader()
    on_meta = getattr(loader, "build_on_meta", None)  # a family that can skip building on the CPU first
    module = on_meta(spec, resolution, purpose) if on_meta else loader.build(spec, resolution, purpose)
    return module.to("meta").eval()


def workload_class(workload: str, model: str | ModelSpec) -> type | None:
    spec = model if isinstance(model, ModelSpec) else get_spec(model)
    if workload not in spec.workloads:
        return None
    return family_of(spec).workload_class(workload)


def check_workload_name(workload: str) -> str:
    if workload not in WORKLOAD_NAMES:
        raise InputError(f"unknown workload '{workload}' (known: {', '.join(WORKLOAD_NAMES)})")
    return workload


def check_serves(spec: ModelSpec, workload: str) -> None:
    check_workload_name(workload)
    if workload not in spec.workloads or family_of(spec).workload_class(workload) is None:
        raise InputError(
            f"{spec.name} does not support the '{workload}' workload (it supports: {', '.join(spec.workloads)})"
        )


def purpose_of(workload: str, model: str | ModelSpec) -> str:
    """What the model must be built for to serve this workload ("image" or "video")."""
    cls = workload_class(workload, model)
    return getattr(cls, "purpose", "image") if cls is not None else "image"


def check_inputs(workload: str, model: str | ModelSpec, options: Any) -> None:
    """Read the user's inputs for this workload once, before any model loads."""
    cls = workload_class(workload, model)
    if cls is not None:
        cls.check_inputs(options)


def build_workload(workload: str, model: LoadedModel, device: Any, options: Any) -> Any:
    check_serves(model.spec, workload)
    return family_of(model.spec).workload_class(workload)(model, device, options)


def quiet_warnings() -> None:
    """Silence the library chatter families declare (each is explained in the records instead)."""
    import builtins
    import warnings

    for family in families().values():
        for message, category in family.quiet_warnings:
            warnings.filterwarnings("ignore", message=message, category=getattr(builtins, category, Warning))


def distributions() -> tuple[str, ...]:
    """The libraries every registered family runs on (their versions go into each record)."""
    out: list[str] = []
    for family in families().values():
        out.extend(p for p in family.packages if p not in out)
    return tuple(out)
