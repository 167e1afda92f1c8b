"""nnU-Net plans: reading a plans file and checking it describes a PlainConvUNet segbench can build.

Two layouts are read (both with `yaml.safe_load`; JSON is YAML): segbench's flat one (the bundled
`plans/*.yaml`: patch_size beside PlainConvUNet's keyword arguments), and nnU-Net v2's own
`nnUNetPlans.json` / `plans.json`, from which one configuration (3d_fullres by default) is taken.
Every malformed field is a one-line InputError naming the file and the field.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from segbench.errors import InputError

PLANS_ENV = "SEGBENCH_NNUNET_PLANS"  # a plans file used instead of a model's bundled one
NETWORK = "PlainConvUNet"
NORMS = ("InstanceNorm3d", "BatchNorm3d")
NONLINS = ("LeakyReLU", "ReLU")
PER_STAGE = ("features_per_stage", "kernel_sizes", "strides", "n_conv_per_stage")
REQUIRED = ("patch_size", "n_stages", *PER_STAGE, "n_conv_per_stage_decoder")


def plans_source(name: str) -> str:
    """Where a model's plans come from: $SEGBENCH_NNUNET_PLANS, else the bundled file `name`."""
    return os.environ.get(PLANS_ENV) or name


def read_plans(source: str, configuration: str = "3d_fullres") -> dict[str, Any]:
    """The checked plans of `source`: a path, or the name of a file bundled in `plans/`."""
    path = Path(source)
    if path.is_file():
        text, where = path.read_text(encoding="utf-8"), str(path)
    else:
        bundled = resources.files(__package__).joinpath("plans", source)
        if not bundled.is_file():
            raise InputError(f"nnU-Net plans file not found: {source} (${PLANS_ENV} or a bundled plans/*.yaml)")
        text, where = bundled.read_text(encoding="utf-8"), f"bundled plans/{source}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not YAML or JSON ({str(exc).splitlines()[0]})") from None
    return check_plans(flatten(data, configuration, where), where)


def flatten(data: Any, configuration: str, where: str) -> dict[str, Any]:
    """nnU-Net's own plans (configurations -> name -> patch_size, architecture.arch_kwargs) in the flat layout."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping of plans fields, got {type(data).__name__}")
    if "configurations" not in data:
        return data
    configs = data["configurations"]
    if not isinstance(configs, dict) or configuration not in configs:
        known = ", ".join(configs) if isinstance(configs, dict) else "none"
        raise InputError(f"{where}: configurations: no '{configuration}' (have: {known})")
    config = configs[configuration]
    architecture = config.get("architecture") if isinstance(config, dict) else None
    if not isinstance(architecture, dict) or not isinstance(architecture.get("arch_kwargs"), dict):
        raise InputError(f"{where}: configurations: {configuration}: architecture: arch_kwargs missing "
                         "(nnU-Net v2.4+ plans hold the network there)")
    return {"network_class_name": architecture.get("network_class_name", NETWORK),
            "patch_size": config.get("patch_size"), **architecture["arch_kwargs"]}


def _short(name: Any) -> str:
    """`torch.nn.modules.instancenorm.InstanceNorm3d` -> `InstanceNorm3d` (nnU-Net writes dotted paths)."""
    return str(name).rsplit(".", 1)[-1]


def _ints(value: Any, length: int, where: str, field: str) -> list[int]:
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise InputError(f"{where}: {field} must be a list of {length} entries, got {value!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise InputError(f"{where}: {field} must hold positive integers, got {value!r}")
    return [int(v) for v in value]


def check_plans(plans: dict[str, Any], where: str) -> dict[str, Any]:
    """The plans with types checked and lengths matched to n_stages, or the InputError naming the field."""
    missing = [key for key in REQUIRED if plans.get(key) is None]
    if missing:
        raise InputError(f"{where}: missing field {missing[0]} (a PlainConvUNet plans file needs {', '.join(REQUIRED)})")
    if _short(plans.get("network_class_name", NETWORK)) != NETWORK:
        raise InputError(f"{where}: network_class_name must be {NETWORK}, got {plans['network_class_name']}")
    n = plans["n_stages"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise InputError(f"{where}: n_stages must be an integer of at least 2, got {n!r}")
    out = dict(plans)
    out["patch_size"] = _ints(plans["patch_size"], 3, where, "patch_size")
    out["features_per_stage"] = _ints(plans["features_per_stage"], n, where, "features_per_stage")
    out["n_conv_per_stage"] = _ints(plans["n_conv_per_stage"], n, where, "n_conv_per_stage")
    out["n_conv_per_stage_decoder"] = _ints(plans["n_conv_per_stage_decoder"], n - 1, where, "n_conv_per_stage_decoder")
    for field in ("kernel_sizes", "strides"):
        stages = plans[field]
        if not isinstance(stages, (list, tuple)) or len(stages) != n:
            raise InputError(f"{where}: {field} must have n_stages ({n}) entries, got {stages!r}")
        out[field] = [_ints(stage, 3, where, f"{field}[{i}]") for i, stage in enumerate(stages)]
    norm, nonlin = _short(plans.get("norm_op", NORMS[0])), _short(plans.get("nonlin", NONLINS[0]))
    if norm not in NORMS:
        raise InputError(f"{where}: norm_op must be one of {', '.join(NORMS)}, got {plans.get('norm_op')}")
    if nonlin not in NONLINS:
        raise InputError(f"{where}: nonlin must be one of {', '.join(NONLINS)}, got {plans.get('nonlin')}")
    out["norm_op"], out["nonlin"] = norm, nonlin
    for field in ("norm_op_kwargs", "nonlin_kwargs"):
        if not isinstance(plans.get(field) or {}, dict):
            raise InputError(f"{where}: {field} must be a mapping, got {plans.get(field)!r}")
    if plans.get("dropout_op") not in (None, "None"):
        raise InputError(f"{where}: dropout_op must be null (nnU-Net's planners set none), got {plans['dropout_op']}")
    out["where"] = where
    return out


def divisor(plans: dict[str, Any]) -> list[int]:
    """Per axis (z, y, x), what every window side must be a multiple of: the product of the strides."""
    out = [1, 1, 1]
    for stride in plans["strides"]:
        out = [d * s for d, s in zip(out, stride)]
    return out
