"""Running a plan: checked first, measured by a launcher, every record into one sink."""

from __future__ import annotations

import uuid
from pathlib import Path

from segbench.bench.launchers import LAUNCHERS, Launcher
from segbench.bench.observer import Observer, Silent
from segbench.bench.plan import Plan, validate
from segbench.bench.sink import ResultsSink
from segbench.errors import InputError, Interrupted
from segbench.records.schema import Record


def execute(plan: Plan, output: str | Path, observer: Observer | None = None,
            launcher: str | Launcher | None = None) -> list[Record]:
    """Measure every point of `plan`, appending each record to `output` as it completes; the records.
    `launcher`: a name in LAUNCHERS (default: the plan's), or a launcher object (the Ray fleet's).

    Ctrl-C raises `Interrupted` after the interrupted point's record is kept with every one before it.
    """
    validate(plan)
    if launcher is None or isinstance(launcher, str):
        name = launcher or plan.launcher
        if name not in LAUNCHERS:
            raise InputError(f"unknown launcher '{name}' (known: {', '.join(LAUNCHERS)})")
        launcher = LAUNCHERS[name]
    observer = observer or Silent()
    with ResultsSink(output) as sink:
        try:
            launcher.launch(plan, sink, observer, uuid.uuid4().hex[:12])
        except Interrupted:
            raise Interrupted(interrupted_message(plan, sink)) from None
    return sink.records


def interrupted_message(plan: Plan, sink: ResultsSink) -> str:
    """What Ctrl-C kept, in one line."""
    if plan.kind == "soak":
        windows = sum(len(r.metrics.get("windows", [])) for r in sink.records)
        return f"interrupted: the soak's {windows} window(s) measured so far are saved in {sink.path}"
    finished = sum(r.status != "interrupted" for r in sink.records)
    cut = " and the interrupted one" if any(r.status == "interrupted" for r in sink.records) else ""
    return f"interrupted: {finished} finished record(s){cut} kept in {sink.path}"
