"""`segbench run --list-models`: the registered models, their workloads and which are defaults."""

from __future__ import annotations

from rich.table import Table

from segbench.cli.output import console, emit_json
from segbench.errors import InputError
from segbench.workload_catalog import WORKLOAD_NAMES


def list_models(as_json: bool) -> None:
    from segbench.families.registry import default_model, families

    defaults: dict[str, list[str]] = {}
    for workload in WORKLOAD_NAMES:
        try:
            defaults.setdefault(default_model([workload]), []).append(workload)
        except InputError:  # no family declares a default for it
            pass
    rows = []
    for family in families().values():
        for spec in family.models:
            # (h, w) for 2D models is shown as WxH; 3D rois are already (w, h, d).
            size = spec.default_resolution[::-1] if len(spec.default_resolution) == 2 else spec.default_resolution
            rows.append({"name": spec.name, "family": spec.family, "workloads": list(spec.workloads),
                         "tasks": list(spec.tasks), "published_size": "x".join(map(str, size)),
                         "default_for": defaults.get(spec.name, []), "description": spec.description})
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Registered models")
    for column in ("name", "family", "workloads", "tasks", "published size", "default for", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["family"], ", ".join(row["workloads"]), ", ".join(row["tasks"]),
                      row["published_size"], ", ".join(row["default_for"]) or "-", row["description"])
    console().print(table)
