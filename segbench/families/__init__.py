"""Model families, one folder each (`segbench/families/<name>/`), found by the registry.

Nothing outside this package (and the profiles) names a family: commands, the harness, the
advisor and doctor ask the registry what exists, what serves a workload or a task, and what a
model costs.
"""

from segbench.families.base import Family, LoadedModel, LoadOptions, ModelSpec, Quality
from segbench.families.registry import (
    build_on_meta,
    build_workload,
    default_model,
    families,
    family_of,
    get_spec,
    load_model,
    model_names,
    models,
    register,
)

__all__ = [
    "Family", "LoadedModel", "LoadOptions", "ModelSpec", "Quality", "build_on_meta", "build_workload",
    "default_model", "families", "family_of", "get_spec", "load_model", "model_names", "models", "register",
]
