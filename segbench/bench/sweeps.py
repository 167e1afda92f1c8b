"""Axes a workload declares it can sweep (`Workload.sweeps`; tracking: offload), as a plan holds them
and a record shows them.

A plan's `sweeps` maps an axis to its values (`{"offload": ["none", "video"]}`). Each point carries
the values it runs with other than "none" (`Point.sweeps`), and its shown label appends them to the
execution's, `+axis:value`: "eager+offload:video". "none" leaves the workload's own setting and is not
shown, so a plan without sweeps gives the points and labels it always did. Plans written before
sweeps were an axis of their own held them inside the execution labels; `migrate` reads those.
"""

from __future__ import annotations

import itertools
from typing import Any

from segbench.errors import InputError

NONE = "none"
TAG = "+"

Values = tuple[tuple[str, str], ...]  # ((axis, value), ...) of one point, "none" left out


def known() -> dict[str, tuple[str, ...]]:
    """Every sweep axis a workload declares, with its values (the first, "none", is the default)."""
    from segbench.workloads.tracking import Tracking

    return {axis: tuple(values) for axis, values in Tracking.sweeps.items()}


def check(sweeps: dict[str, list[str]]) -> None:
    axes = known()
    for axis, values in sweeps.items():
        if axis not in axes:
            raise InputError(f"unknown sweep '{axis}': use {', '.join(axes)}")
        for value in values:
            if value not in axes[axis]:
                raise InputError(f"unknown --{axis} '{value}': use {', '.join(axes[axis])}")


def label(execution: str, values: Values) -> str:
    return execution + "".join(f"{TAG}{axis}:{value}" for axis, value in values)


def split(shown: str) -> tuple[str, Values]:
    """(the execution label, the sweep values) of a shown label; one spelling each: "eager", never
    "eager+offload:none"."""
    execution, *tags = shown.split(TAG)
    axes = known()
    values = []
    for tag in tags:
        axis, _, value = tag.partition(":")
        allowed = [v for v in axes.get(axis, ()) if v != NONE]
        if value not in allowed:
            raise InputError(f"unknown {axis} '{value}' in '{shown}'"
                             + (f": use {', '.join(allowed)}" if allowed else f": sweeps are {', '.join(axes)}"))
        values.append((axis, value))
    return execution, tuple(values)


def variants(executions: list[str], sweeps: dict[str, list[str]]) -> list[str]:
    """The shown labels of a plan's executions x sweep values, in the order they run: for each
    combination of sweep values, every execution; plain eager first, since the others' break-even
    is counted against it."""
    combos = itertools.product(*([(axis, v) for v in values] for axis, values in sweeps.items()))
    shown = [label(e, tuple(c for c in combo if c[1] != NONE)) for combo in combos for e in executions]
    return sorted(dict.fromkeys(shown), key=lambda s: s != "eager")


def migrate(executions: Any) -> tuple[Any, dict[str, list[str]]]:
    """(executions, sweeps) from a plan whose execution labels carry "+offload:X" (anything else is
    returned as it is, for the plan's own checks to refuse)."""
    if (not isinstance(executions, list) or not all(isinstance(e, str) for e in executions)
            or not any(TAG in e for e in executions)):
        return executions, {}
    parsed = [split(e) for e in executions]
    axes = dict.fromkeys(axis for _, values in parsed for axis, _ in values)
    sweeps = {axis: list(dict.fromkeys(dict(values).get(axis, NONE) for _, values in parsed)) for axis in axes}
    return list(dict.fromkeys(e for e, _ in parsed)), sweeps


def execution_record(shown: str, axes: Any = ()) -> dict[str, str]:
    """What a record says of how it ran: the execution's fields, the shown label, and the value of each
    axis in `axes` (a plan's swept axes) or set by the label ("none" where the point left it)."""
    from segbench.backends.execution import parse_execution

    execution, values = split(shown)
    given = dict(values)
    return {**parse_execution(execution).to_dict(), "label": shown,
            **{axis: given.get(axis, NONE) for axis in dict.fromkeys([*axes, *given])}}
