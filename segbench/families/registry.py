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
import shlex
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from segbench.errors import InputError
from segbench.families.base import WEIGHT_MODES, Family, FamilyOption, LoadedModel, LoadOptions, ModelSpec, load_attribute
from segbench.workload_catalog import WORKLOAD_NAMES

FAMILIES_ENV = "SEGBENCH_FAMILIES"
ENTRY_POINT_GROUP = "segbench.families"

_registered: dict[str, Family] = {}


def _add(found: dict[str, Family], sources: dict[str, str], family: Any, where: str) -> None:
    if not isinstance(family, Family):
        raise InputError(f"{where} does not define a segbench Family (got {type(family).__name__})")
    if family.name in found:
        raise InputError(f"{where} defines a family named '{family.name}', as {sources[family.name]} does: "
                         "a plugin's family needs a name of its own")
    found[family.name] = family
    sources[family.name] = where


def _plugin(load: Callable[[], Any], where: str) -> Any:
    """What a plugin's `load` returns, or one line naming the plugin for whatever it raises (a missing
    module, an exception at import, even sys.exit): a broken plugin is the user's to fix, not a bug."""
    try:
        return load()
    except InputError:
        raise
    except (Exception, SystemExit) as exc:
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InputError(f"plugin {where} failed to load: {type(exc).__name__}{': ' + detail if detail else ''}"
                         ) from None


@functools.cache
def _discovered() -> dict[str, Family]:
    """Every family found, built whole before it is returned: a failure raises and caches nothing, so
    a later call (after the plugin is fixed, or in a test) discovers afresh."""
    found: dict[str, Family] = {}
    sources: dict[str, str] = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.ispkg and not info.name.startswith("_"):  # `_shared` is what families use, not one
            module = importlib.import_module(f"{__package__}.{info.name}")
            _add(found, sources, getattr(module, "FAMILY", None), f"{__package__}.{info.name}")
    for point in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {point.name} ({point.value})"
        _add(found, sources, _plugin(point.load, where), where)
    for name in filter(None, (n.strip() for n in os.environ.get(FAMILIES_ENV, "").split(","))):
        target = name if ":" in name else f"{name}:FAMILY"
        where = f"${FAMILIES_ENV} {target}"
        _add(found, sources, _plugin(partial(load_attribute, target), where), where)
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


def declared_options() -> dict[str, FamilyOption]:
    """Every option some family declares, by name (the CLI makes a flag of each). Two families may
    declare the same name only as the same kind of setting."""
    out: dict[str, FamilyOption] = {}
    for family in families().values():
        for option in family.options:
            seen = out.setdefault(option.name, option)
            if (seen.kind, seen.default) != (option.kind, option.default):
                raise InputError(f"family {family.name} declares option '{option.name}' unlike another family does")
    return out


def option_words(given: dict[str, Any]) -> list[str]:
    """Family option values as the command-line words that give them (for a `segbench run` line)."""
    known = declared_options()
    return [known[k].flag if known[k].kind == "flag" else f"{known[k].flag} {shlex.quote(str(v))}"
            for k, v in given.items() if not (known[k].kind == "flag" and not v)]


def check_family_options(models: Iterable[str | ModelSpec], workloads: Iterable[str], given: dict[str, Any]) -> None:
    """A family option is given only where a model of the plan declares it, for a workload the plan runs."""
    specs = [m if isinstance(m, ModelSpec) else get_spec(m) for m in models]
    workloads = list(workloads)
    known = declared_options()
    for name, value in given.items():
        option = known.get(name)
        if option is None:
            raise InputError(f"unknown option '{name}' (the families declare: {', '.join(known) or 'none'})")
        option.check(value)
        owners = [s for s in specs if family_of(s).option(name) is not None]
        if not owners:
            declaring = [f.name for f in families().values() if f.option(name) is not None]
            names = [s.name for s in specs]
            raise InputError(f"{option.flag} is an option of the {', '.join(declaring)} model family; "
                             f"{', '.join(names)} {'does' if len(names) == 1 else 'do'} not take it")
        usable = [w for w in workloads if any(w in s.workloads for s in owners) and w in option.workloads]
        if not usable:
            raise InputError(f"{option.flag} applies to the {' and '.join(option.workloads)} workload(s) of "
                             f"{', '.join(s.name for s in owners)}: add -w {option.workloads[0]}")


def family_options_for(spec: ModelSpec, given: dict[str, Any]) -> dict[str, Any]:
    """The options of the model's family as it runs: the values given, else the family's defaults
    (options of other families are not its business)."""
    return {o.name: given.get(o.name, o.default) for o in family_of(spec).options}


def load_model(name: str, options: LoadOptions) -> LoadedModel:
    """Build a registered model (pretrained or random weights) on `options.device`."""
    spec = get_spec(name)
    if options.weights not in WEIGHT_MODES:
        raise InputError(f"--weights must be one of {', '.join(WEIGHT_MODES)}, got '{options.weights}'")
    spec = with_classes(spec, options.classes)
    loading = family_of(spec).loader()
    options = replace(options, family_options=family_options_for(spec, dict(options.family_options)))
    loaded = loading.load(spec, options)
    loaded.options = dict(options.family_options)
    # What workloads need to know of their model comes with it (they never ask the registry).
    loaded.classes = loading.classes_of(loaded.spec)
    loaded.check_roi = partial(loading.check_roi, loaded.spec)
    return loaded


def with_classes(model: str | ModelSpec, classes: int | None) -> ModelSpec:
    """The model's spec, with `classes` output classes where asked; a one-line InputError for a model
    whose family has no such setting."""
    spec = model if isinstance(model, ModelSpec) else get_spec(model)
    if classes is None:
        return spec
    configured = family_of(spec).loader().with_classes(spec, int(classes))
    if configured is None:
        raise InputError(f"--classes applies to models with a set of output classes; {spec.name} has none")
    return configured


def default_classes(model: str | ModelSpec) -> int | None:
    """The number of output classes a model is registered with (or a spec is configured with), where it
    has such a setting."""
    spec = model if isinstance(model, ModelSpec) else get_spec(model)
    return family_of(spec).loader().classes_of(spec)


def build_on_meta(model: str | ModelSpec, resolution: tuple[int, ...] | None = None, purpose: str = "image") -> Any:
    """The architecture with parameters on the `meta` device: for counting FLOPs and bytes without compute."""
    spec = model if isinstance(model, ModelSpec) else get_spec(model)
    return family_of(spec).loader().build_on_meta(spec, resolution, purpose).to("meta").eval()


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
    return cls.purpose if cls is not None else "image"


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
