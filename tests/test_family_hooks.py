"""The family contract of `segbench/families/base.py`, checked on every registered family: each
required hook is there, each optional hook it defines takes what its default takes, its options are
well formed, and its workload classes are workloads. A new family folder is held to it without a line
added here."""

from __future__ import annotations

import importlib
import inspect

import pytest

from segbench.families.base import (OPTION_KINDS, CostHooks, CostModel, FamilyOption, Loading, LoadingHooks)
from segbench.families.registry import declared_options, families
from segbench.workloads.base import Workload

FAMILIES = sorted(families())


def _positional(fn) -> int:
    return len([p for p in inspect.signature(fn).parameters.values()
                if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])


def test_the_protocols_name_the_required_hooks():
    protocol = {name for name in vars(LoadingHooks) if not name.startswith("_")}
    assert protocol == set(Loading.REQUIRED)
    assert {name for name in vars(CostHooks) if not name.startswith("_")} == set(CostModel.REQUIRED)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("seen_as, attribute", [(Loading, "loading"), (CostModel, "cost")])
def test_every_hook_of_every_family(name, seen_as, attribute):
    family = families()[name]
    module = importlib.import_module(getattr(family, attribute))
    for hook in seen_as.REQUIRED:
        assert callable(getattr(module, hook, None)), f"{module.__name__} lacks the required hook {hook}"
    for hook in seen_as.OPTIONAL:
        found = getattr(module, hook, None)
        if found is None:
            continue  # the default in segbench.families.base applies
        assert callable(found), f"{module.__name__}.{hook} is not callable"
        default = getattr(seen_as, hook)
        assert _positional(found) <= _positional(default) + 1, f"{module.__name__}.{hook} takes more than its hook"


@pytest.mark.parametrize("name", FAMILIES)
def test_options_and_workloads_are_well_formed(name):
    family = families()[name]
    served = {w for spec in family.models for w in spec.workloads}
    for option in family.options:
        assert isinstance(option, FamilyOption) and option.kind in OPTION_KINDS
        assert option.check(option.default) == option.default
        assert set(option.workloads) <= served, f"{name}: {option.name} names a workload the family does not serve"
        assert declared_options()[option.name].kind == option.kind
    for workload in family.workloads:
        assert issubclass(family.workload_class(workload), Workload)


def test_a_family_without_an_optional_hook_gets_its_default():
    import types

    bare = types.ModuleType("bare")
    loading = Loading(bare)
    assert loading.classes_of(object()) is None and loading.with_classes(object(), 3) is None
    assert tuple(loading.check_roi(object(), (96, 96, 64))) == (96, 96, 64)
    cost = CostModel(bare)
    assert cost.extra(object()) == {} and cost.counted_extra(None, object()) == {}
    assert cost.extra_cached_sizes(object()) == [] and cost.host_transform() is None


@pytest.mark.parametrize("name", FAMILIES)
def test_no_workload_hides_a_hook_of_the_interface_behind_an_attribute(name):
    """`self.network = model` once hid `Workload.network()`, so every point off fp32 failed: no workload
    class assigns to an instance attribute named like a method of the interface."""
    import ast
    import textwrap

    hooks = {n for n, v in vars(Workload).items() if callable(v) or isinstance(v, (classmethod, staticmethod))}
    family = families()[name]
    for workload in family.workloads:
        for cls in family.workload_class(workload).__mro__:
            if cls is Workload or not issubclass(cls, Workload):
                continue
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
            assigned = {t.attr for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))
                        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"}
            assert not assigned & hooks, f"{cls.__qualname__} assigns self.{sorted(assigned & hooks)[0]}"
